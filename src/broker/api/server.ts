import { link, rm, unlink } from "node:fs/promises";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from "fastify";
import type { Logger } from "../../common/log.js";
import type { BrokerMetrics } from "../metrics.js";
import type { BrokerService } from "../service.js";
import { serializeFault } from "../xmlrpc/serialize.js";
import { FAULT } from "../xmlrpc/types.js";
import { acceptsGzip, GZIP_THRESHOLD, gzipReply } from "./gzip-reply.js";
import { prepareSocketPath, SocketInUseError, secureSocket } from "./unix-socket.js";
import { handleXmlRpc } from "./xmlrpc-route.js";

export interface BrokerApiOptions {
  service: BrokerService;
  metrics: BrokerMetrics;
  log: Logger;
  /** largest request body in bytes (default 1 MiB) */
  bodyLimit?: number;
  /** whole-request time limit in ms (default 30 s) */
  requestTimeoutMs?: number;
  /** idle keep-alive connections close after this many ms (default 60 s) */
  keepAliveTimeoutMs?: number;
  /** most simultaneous connections (default 256) */
  maxConnections?: number;
  /** how long PUT /v1/maintenance waits for the write (default 15 s) */
  maintenanceWaitMs?: number;
}

const XMLRPC_PATHS = new Set(["/", "/RPC2"]);
const XML_TYPE = "text/xml; charset=utf-8";

function baseApp(opts: BrokerApiOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: opts.log.child({ component: "api" }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    requestTimeout: opts.requestTimeoutMs ?? 30_000,
    connectionTimeout: opts.requestTimeoutMs ?? 30_000,
    keepAliveTimeout: opts.keepAliveTimeoutMs ?? 60_000,
    forceCloseConnections: true,
    return503OnClosing: true,
  });
  app.server.maxConnections = opts.maxConnections ?? 256;
  return app;
}

async function metricsRoute(opts: BrokerApiOptions, reply: FastifyReply): Promise<string> {
  const text = await opts.metrics.render(opts.service.status(), opts.service.notifier.stats);
  reply.type(opts.metrics.contentType);
  return text;
}

function health(svc: BrokerService) {
  const st = svc.status().storage;
  const degraded = !st.has_read || st.consecutive_read_failures > 0 || st.stale;
  return {
    status: degraded ? "degraded" : "ok",
    host_id: svc.hostId,
    has_read: st.has_read,
    stale: st.stale,
    consecutive_read_failures: st.consecutive_read_failures,
    last_read_error: st.last_read_error,
    in_flight_seconds: st.in_flight_seconds,
  };
}

/**
 * The broker's API on the unix socket: XML-RPC on `POST /RPC2` and `POST /`, and the
 * JSON API (`/v1/status`, `/v1/monitors`, `PUT /v1/maintenance`, `/healthz`,
 * `/metrics`). Oversized, malformed or unknown requests answer errors (faults on the
 * XML-RPC paths) and never disturb the broker.
 */
export function createBrokerApp(opts: BrokerApiOptions): FastifyInstance {
  const app = baseApp(opts);
  const svc = opts.service;
  const log = opts.log.child({ component: "xmlrpc" });

  app.removeContentTypeParser(["text/plain"]);
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));

  app.setErrorHandler(
    (
      err: Error & { statusCode?: number; code?: string },
      req: FastifyRequest,
      reply: FastifyReply,
    ) => {
      const status = err.statusCode ?? 500;
      opts.log.warn({ url: req.url, method: req.method, code: err.code, err }, "request refused");
      if (req.method === "POST" && XMLRPC_PATHS.has(req.url)) {
        const code =
          status === 413
            ? FAULT.limitExceeded
            : status < 500
              ? FAULT.parseError
              : FAULT.serverError;
        void reply
          .code(200)
          .type(XML_TYPE)
          .send(serializeFault({ faultCode: code, faultString: err.message }));
        return;
      }
      void reply.code(status).send({ error: err.message, code: err.code ?? null });
    },
  );
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ error: `no route ${req.method} ${req.url}` });
  });

  const rpc = async (req: FastifyRequest, reply: FastifyReply) => {
    const body =
      Buffer.isBuffer(req.body) || typeof req.body === "string" ? req.body : Buffer.alloc(0);
    const xml = await handleXmlRpc(body, svc, log);
    void reply.type(XML_TYPE).header("vary", "Accept-Encoding");
    if (Buffer.byteLength(xml) > GZIP_THRESHOLD && acceptsGzip(req.headers["accept-encoding"])) {
      const gz = await gzipReply(xml);
      void reply.header("content-encoding", "gzip");
      return gz;
    }
    return xml;
  };
  app.post("/RPC2", rpc);
  app.post("/", rpc);

  app.get("/v1/status", async () => svc.status());
  app.get("/v1/monitors", async () => ({ monitors: svc.monitors.list() }));
  app.put("/v1/maintenance", async (req, reply) => {
    const body = parseJsonBody(req.body);
    if (!body || typeof body.global !== "boolean") {
      return reply.code(400).send({ error: 'expected a JSON body {"global": true|false}' });
    }
    svc.setGlobalMaintenance(body.global);
    const written = await waitForWrite(svc, opts.maintenanceWaitMs ?? 15_000);
    const h = svc.cycle.health();
    return reply.code(written ? 200 : 202).send({
      global_maintenance: body.global,
      written,
      error: written
        ? null
        : `not on storage yet (${h.lastWriteError ?? "write still pending"}); it stays queued and is written when storage answers`,
    });
  });
  app.get("/healthz", async () => health(svc));
  app.get("/metrics", async (_req, reply) => metricsRoute(opts, reply));
  return app;
}

/** `/metrics` and `/healthz` only, for the TCP listener of `metrics_listen`. */
export function createMetricsApp(opts: BrokerApiOptions): FastifyInstance {
  const app = baseApp(opts);
  app.get("/metrics", async (_req, reply) => metricsRoute(opts, reply));
  app.get("/healthz", async () => health(opts.service));
  return app;
}

function parseJsonBody(body: unknown): Record<string, unknown> | undefined {
  let v = body;
  if (Buffer.isBuffer(v)) {
    try {
      v = JSON.parse(v.toString("utf8"));
    } catch {
      return undefined;
    }
  }
  return v !== null && typeof v === "object" && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

/** Waits for the global block to leave the queue; false on timeout or write error. */
async function waitForWrite(svc: BrokerService, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (svc.cycle.health().pending.includes(0)) {
    const left = deadline - Date.now();
    if (left <= 0) return false;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      svc.cycle.nextCycle(),
      new Promise<void>((r) => {
        timer = setTimeout(r, left);
      }),
    ]);
    clearTimeout(timer);
    if (svc.cycle.health().pending.includes(0) && svc.cycle.health().lastWriteError !== undefined)
      return false;
  }
  return true;
}

export interface UnixListenOptions {
  /** group to give the socket (default none: keep the process's group) */
  group?: string;
  log: Logger;
}

/**
 * Listens on the unix socket: stale file removed first; the socket is bound under a
 * private name beside it, given mode 0660 and the group, and only then linked to its
 * public path, so no client ever finds it there with the wrong permissions. link()
 * does not replace: a broker that got there meanwhile makes this one fail.
 */
export async function listenUnix(
  app: FastifyInstance,
  socketPath: string,
  opts: UnixListenOptions,
): Promise<void> {
  await prepareSocketPath(socketPath, opts.log);
  const staging = `${socketPath}.${process.pid}.new`;
  await rm(staging, { force: true });
  await app.listen({ path: staging });
  try {
    await secureSocket(staging, opts.group, opts.log);
    await link(staging, socketPath);
  } catch (e) {
    await app.close();
    if ((e as NodeJS.ErrnoException).code === "EEXIST")
      throw new SocketInUseError(`${socketPath}: another ovirt-ha-broker started meanwhile`);
    throw e;
  } finally {
    await rm(staging, { force: true });
  }
  opts.log.info({ socket: socketPath, group: opts.group }, "broker API listening");
}

/** Closes the server and removes its socket file. */
export async function closeUnix(app: FastifyInstance, socketPath: string): Promise<void> {
  await app.close();
  try {
    await unlink(socketPath);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
}

export class ListenAddressError extends Error {
  override name = "ListenAddressError";
}

/** Parses `host:port` (`[v6]:port` too) of metrics_listen. */
export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535)
    throw new ListenAddressError(`metrics_listen="${value}" is not host:port`);
  return { host: (m[1] ?? m[2])!, port };
}
