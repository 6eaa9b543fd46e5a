import { link, rm, unlink } from "node:fs/promises";
import type { Socket } from "node:net";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from "fastify";
import type { Logger } from "../../common/log.js";
import { throttledLogger } from "../../common/log-throttle.js";
import type { BrokerMetrics } from "../metrics.js";
import type { BrokerReports } from "../reports.js";
import type { BrokerService } from "../service.js";
import { serializeFault } from "../xmlrpc/serialize.js";
import { FAULT } from "../xmlrpc/types.js";
import { mayWrite, refusal } from "./access.js";
import { addAgentRoutes } from "./agent-routes.js";
import { ConnectionGate, type GateLimits } from "./connection-gate.js";
import { acceptsGzip, GZIP_THRESHOLD, gzipReply } from "./gzip-reply.js";
import { type PeerCred, peerCred } from "./peer-cred.js";
import { prepareSocketPath, SocketInUseError, secureSocket } from "./unix-socket.js";
import { handleXmlRpc, throttled } from "./xmlrpc-route.js";

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
  /** most simultaneous connections in all (default 1024) */
  maxConnections?: number;
  /** a request's headers must arrive within this many ms (default 10 s) */
  headersTimeoutMs?: number;
  /** per-caller connection limits of the unix socket (default DEFAULT_GATE_LIMITS) */
  gateLimits?: GateLimits;
  /** how long PUT /v1/maintenance waits for the write (default 15 s) */
  maintenanceWaitMs?: number;
  /**
   * the broker's own uid, which with root may call state-changing methods (default
   * process.getuid()); the credentials of a connection (SO_PEERCRED) are checked against it
   */
  ownUid?: number;
  /** a connection's credentials (default: SO_PEERCRED of the unix socket) */
  credentials?: (req: FastifyRequest) => PeerCred | undefined;
  /**
   * `he-ha explain`'s document and `he-ha doctor`'s findings (GET /v1/explain, GET
   * /v1/doctor and their series on /metrics), made above the broker (reports.ts); absent:
   * not served
   */
  reports?: BrokerReports;
}

const XMLRPC_PATHS = new Set(["/", "/RPC2"]);
const XML_TYPE = "text/xml; charset=utf-8";

/** What the TCP metrics listener adds: TLS and a check of every request (basic auth). */
export interface MetricsAccess {
  https?: { cert: Buffer; key: Buffer };
  onRequest?: (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
}

function baseApp(opts: BrokerApiOptions, https?: MetricsAccess["https"]): FastifyInstance {
  const app = Fastify({
    ...(https ? { https } : {}),
    loggerInstance: opts.log.child({ component: "api" }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    requestTimeout: opts.requestTimeoutMs ?? 30_000,
    connectionTimeout: opts.requestTimeoutMs ?? 30_000,
    keepAliveTimeout: opts.keepAliveTimeoutMs ?? 60_000,
    forceCloseConnections: true,
    return503OnClosing: true,
    // header and request timeouts are enforced by a sweep every second (Node's default
    // is 30 s, which lets a slow client hold its connection 40 s or more)
    http: {
      connectionsCheckingInterval: 1000,
      headersTimeout: opts.headersTimeoutMs ?? 10_000,
    },
  }) as unknown as FastifyInstance;
  app.server.maxConnections = opts.maxConnections ?? 1024;
  return app;
}

async function metricsRoute(opts: BrokerApiOptions, reply: FastifyReply): Promise<string> {
  if (opts.reports) await opts.reports.updateMetrics();
  const text = await opts.metrics.render(opts.service.status(), opts.service.notifier.stats);
  reply.type(opts.metrics.contentType);
  return text;
}

function health(svc: BrokerService) {
  const st = svc.status().storage;
  const degraded =
    !st.has_read ||
    st.consecutive_read_failures > 0 ||
    st.stale ||
    st.volume_short !== null ||
    st.writes_failing;
  return {
    status: degraded ? "degraded" : "ok",
    host_id: svc.hostId,
    has_read: st.has_read,
    stale: st.stale,
    consecutive_read_failures: st.consecutive_read_failures,
    last_read_error: st.last_read_error,
    volume_short: st.volume_short,
    writes_failing: st.writes_failing,
    last_write_error: st.writes_failing ? st.last_write_error : null,
    pending_host_ids: st.pending_host_ids,
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
      throttled(opts.log).warn(
        `refused:${err.code ?? status}`,
        { url: req.url, method: req.method, code: err.code, err },
        "request refused",
      );
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

  const ownUid = opts.ownUid ?? process.getuid?.() ?? 0;
  const credentials = opts.credentials ?? ((req: FastifyRequest) => peerCred(req.raw.socket));
  const writeRefusal = (req: FastifyRequest, what: string): string | undefined => {
    const cred = credentials(req);
    return mayWrite(cred, ownUid) ? undefined : refusal(what, cred, ownUid);
  };

  limitConnections(app, opts, ownUid);

  const rpc = async (req: FastifyRequest, reply: FastifyReply) => {
    const body =
      Buffer.isBuffer(req.body) || typeof req.body === "string" ? req.body : Buffer.alloc(0);
    const xml = await handleXmlRpc(body, svc, log, (method) => writeRefusal(req, method));
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

  addAgentRoutes(app, svc, writeRefusal);
  app.get("/v1/status", async () => svc.status());
  app.get("/v1/monitors", async () => ({ monitors: svc.monitors.list() }));
  app.get("/v1/explain", async (_req, reply) =>
    opts.reports
      ? opts.reports.explain()
      : reply.code(404).send({ error: "explain is not served here" }),
  );
  app.get("/v1/doctor", async (req, reply) => {
    if (!opts.reports) return reply.code(404).send({ error: "doctor is not served here" });
    const raw = (req.query as Record<string, string | undefined>).stale_after;
    const staleAfter = raw === undefined ? undefined : Number(raw);
    if (staleAfter !== undefined && !(Number.isFinite(staleAfter) && staleAfter >= 0)) {
      return reply.code(400).send({ error: `stale_after="${raw}" is not a number of seconds` });
    }
    return opts.reports.doctor(staleAfter);
  });
  app.put("/v1/maintenance", async (req, reply) => {
    const refused = writeRefusal(req, "PUT /v1/maintenance");
    if (refused !== undefined) return reply.code(403).send({ error: refused });
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

/**
 * Every connection to the unix socket passes the ConnectionGate by its SO_PEERCRED: a
 * caller over its share is closed at once (logged at most once a minute, with the count
 * held back), so slow or idle connections of one process or one read-only user never
 * lock out the agent, VDSM or root.
 */
function limitConnections(app: FastifyInstance, opts: BrokerApiOptions, ownUid: number): void {
  const gate = new ConnectionGate(ownUid, opts.gateLimits);
  const log = throttledLogger(opts.log.child({ component: "api" }), { intervalMs: 60_000 });
  app.server.on("connection", (socket: Socket) => {
    const admission = gate.admit(peerCred(socket));
    if (!admission.ok) {
      log.warn(
        "connection-refused",
        { reason: admission.reason },
        "connection refused: caller over its share",
      );
      socket.destroy();
      return;
    }
    socket.once("close", admission.release);
  });
}

/** `/metrics` and `/healthz` only, for the TCP listener of `metrics_listen` (metrics-listener.ts). */
export function createMetricsApp(
  opts: BrokerApiOptions,
  access: MetricsAccess = {},
): FastifyInstance {
  const app = baseApp(opts, access.https);
  if (access.onRequest) app.addHook("onRequest", access.onRequest);
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
  // a deep accept queue: a unix socket whose queue is full refuses connect() at once
  // (EAGAIN), so a burst of reconnecting flood connections must not fill it
  await app.listen({ path: staging, backlog: 4096 });
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
