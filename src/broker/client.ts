import http from "node:http";
import { gunzip } from "node:zlib";
import { haPaths } from "../common/paths.js";
import {
  COLLECT_PATH,
  type Collected,
  decodeCollect,
  PUBLISH_PATH,
  type PublishBody,
} from "./agent-wire.js";
import type { MonitorView } from "./monitor-manager.js";
import type { BrokerStatus } from "./status.js";
import { serializeMethodCall } from "./xmlrpc/serialize.js";
import { XmlRpcFault, type XmlRpcStruct, type XmlRpcValue } from "./xmlrpc/types.js";

export { XmlRpcFault };

/** The broker cannot be reached (no socket, refused, timed out, connection dropped). */
export class BrokerUnreachableError extends Error {
  override name = "BrokerUnreachableError";
  constructor(
    readonly socketPath: string,
    readonly reason: string,
  ) {
    super(`cannot reach ovirt-ha-broker at ${socketPath}: ${reason}`);
  }
}

/** The broker answered, but not with what was asked (HTTP error, bad document). */
export class BrokerResponseError extends Error {
  override name = "BrokerResponseError";
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

export interface BrokerClientOptions {
  /** per-request time limit (default 30 s) */
  timeoutMs?: number;
  /** reuse connections between requests (default true; call close() when done) */
  keepAlive?: boolean;
}

/** Answer of PUT /v1/maintenance. */
export interface MaintenanceResult {
  global_maintenance: boolean;
  /** false when the global block could not be written within the broker's wait */
  written: boolean;
  error: string | null;
}

/**
 * Client of ovirt-ha-broker's unix socket: XML-RPC over HTTP (the same wire as the
 * original brokerlink) and the JSON API. Used by the agent and the CLI. Every failure
 * to connect is a BrokerUnreachableError; an XML-RPC fault is thrown as XmlRpcFault.
 */
export class BrokerClient {
  readonly socketPath: string;
  private readonly timeoutMs: number;
  private readonly agent: http.Agent;
  /** the broker answered 404 to the agent's combined routes: an older broker, asked the XML-RPC way */
  private legacyAgentRoutes = false;

  constructor(socketPath: string = haPaths().brokerSocket, opts: BrokerClientOptions = {}) {
    this.socketPath = socketPath;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.agent = new http.Agent({ keepAlive: opts.keepAlive ?? true, maxSockets: 16 });
  }

  /** Closes kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  /** Calls an XML-RPC method; resolves its value, rejects XmlRpcFault on a fault. */
  async call(method: string, params: readonly XmlRpcValue[] = []): Promise<XmlRpcValue> {
    const res = await this.request(
      "POST",
      "/RPC2",
      serializeMethodCall(method, params),
      "text/xml",
    );
    if (res.status !== 200) {
      throw new BrokerResponseError(
        res.status,
        `${method}: broker answered HTTP ${res.status}: ${res.body.toString("utf8").slice(0, 200)}`,
      );
    }
    // fast-xml-parser is loaded on the first XML-RPC answer, not at import: the CLI's
    // status path speaks JSON (GET /v1/status) and starts faster without it
    const { parseMethodResponse } = await import("./xmlrpc/parse.js");
    return parseMethodResponse(res.body, { maxBytes: 64 * 1024 * 1024, maxDepth: 48 });
  }

  /** start_monitor: the monitor's id. */
  async startMonitor(
    type: string,
    options: Record<string, string | number | boolean> = {},
  ): Promise<string> {
    return expectString("start_monitor", await this.call("start_monitor", [type, options]));
  }

  /** status_monitor: the last value as a string, "None" before the first. */
  async statusMonitor(id: string): Promise<string> {
    return expectString("status_monitor", await this.call("status_monitor", [id]));
  }

  async stopMonitor(id: string): Promise<void> {
    await this.call("stop_monitor", [id]);
  }

  /** get_stats: every non-empty whiteboard segment (0 = global block) by host id. */
  async getStats(): Promise<Map<number, Buffer>> {
    const v = await this.call("get_stats");
    if (
      v === null ||
      typeof v !== "object" ||
      Array.isArray(v) ||
      Buffer.isBuffer(v) ||
      v instanceof Date
    ) {
      throw new BrokerResponseError(200, "get_stats: expected a struct");
    }
    const out = new Map<number, Buffer>();
    for (const [k, data] of Object.entries(v as XmlRpcStruct)) {
      const id = Number(k);
      if (!Number.isInteger(id)) continue;
      if (Buffer.isBuffer(data)) out.set(id, data);
      else if (typeof data === "string") out.set(id, Buffer.from(data, "utf8"));
    }
    return new Map([...out.entries()].sort((a, b) => a[0] - b[0]));
  }

  /** put_stats: queues this host's block (or the global block for host 0). */
  async putStats(hostId: number, block: Buffer): Promise<void> {
    await this.call("put_stats", [hostId, block]);
  }

  async pushHostsState(ids: readonly number[]): Promise<void> {
    await this.call("push_hosts_state", [[...ids]]);
  }

  /** is_host_alive: the ids last pushed by the agent, [] when the push is stale. */
  async isHostAlive(): Promise<number[]> {
    const v = await this.call("is_host_alive");
    if (!Array.isArray(v)) throw new BrokerResponseError(200, "is_host_alive: expected an array");
    return v.map((x) => Number(x)).filter((x) => Number.isInteger(x));
  }

  async notify(
    eventType: string,
    detail: string,
    options: Record<string, string> = {},
  ): Promise<"sent" | "ignored"> {
    const v = expectString("notify", await this.call("notify", [eventType, detail, options]));
    if (v !== "sent" && v !== "ignored")
      throw new BrokerResponseError(200, `notify: unexpected answer "${v}"`);
    return v;
  }

  async lockHostId(hostId: number): Promise<void> {
    await this.call("lock_host_id", [hostId]);
  }

  async releaseHostId(): Promise<void> {
    await this.call("release_host_id");
  }

  /**
   * reset_lockspace: re-initialises lockspace hosted-engine. The broker refuses (a fault
   * naming why) outside global maintenance or while an agent runs; `force` skips those
   * checks but never a live host (src/broker/lockspace-guard.ts).
   */
  async resetLockspace(force = false): Promise<void> {
    await this.call("reset_lockspace", force ? [true] : []);
  }

  /** Sets or clears global maintenance (keeps other global keys) and waits for the write. */
  async setGlobalMaintenance(on: boolean): Promise<MaintenanceResult> {
    return this.putJson<MaintenanceResult>("/v1/maintenance", { global: on });
  }

  /**
   * The agent's input of one loop in one request (GET /v1/agent/collect): storage
   * health, the monitors' values and get_stats. A broker without the route (older) is
   * asked /v1/status and get_stats instead, from then on.
   */
  async collect(): Promise<Collected> {
    if (!this.legacyAgentRoutes) {
      const res = await this.request("GET", COLLECT_PATH);
      if (res.status !== 404) return decodeCollect(this.jsonOf("GET", COLLECT_PATH, res));
      this.legacyAgentRoutes = true;
    }
    const status = await this.status();
    return {
      storage: status.storage,
      monitors: status.local.monitors.map((m) => ({ id: m.id, value: m.value })),
      stats: await this.getStats(),
    };
  }

  /**
   * The agent's output of one loop in one request (POST /v1/agent/publish): put_stats
   * of its block, then push_hosts_state of the live hosts. A broker without the route
   * (older) gets the two XML-RPC calls instead, from then on.
   */
  async publish(hostId: number, block: Buffer, alive: readonly number[]): Promise<void> {
    if (!this.legacyAgentRoutes) {
      const body: PublishBody = {
        host_id: hostId,
        block: block.toString("base64"),
        alive: [...alive],
      };
      const res = await this.request(
        "POST",
        PUBLISH_PATH,
        JSON.stringify(body),
        "application/json",
      );
      if (res.status !== 404) {
        this.jsonOf("POST", PUBLISH_PATH, res);
        return;
      }
      this.legacyAgentRoutes = true;
    }
    await this.putStats(hostId, block);
    await this.pushHostsState(alive);
  }

  /** GET /v1/status. */
  async status(): Promise<BrokerStatus> {
    return this.getJson<BrokerStatus>("/v1/status");
  }

  /** GET /v1/monitors. */
  async monitors(): Promise<MonitorView[]> {
    return (await this.getJson<{ monitors: MonitorView[] }>("/v1/monitors")).monitors;
  }

  async getJson<T>(path: string): Promise<T> {
    return this.json<T>("GET", path);
  }

  async putJson<T>(path: string, body: unknown): Promise<T> {
    return this.json<T>("PUT", path, body);
  }

  /** GET /metrics as text. */
  async metricsText(): Promise<string> {
    const res = await this.request("GET", "/metrics");
    if (res.status !== 200)
      throw new BrokerResponseError(res.status, `GET /metrics: HTTP ${res.status}`);
    return res.body.toString("utf8");
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.request(
      method,
      path,
      body === undefined ? undefined : JSON.stringify(body),
      "application/json",
    );
    return this.jsonOf(method, path, res) as T;
  }

  /** An answer's JSON document; BrokerResponseError for an HTTP error or a body that is not JSON. */
  private jsonOf(method: string, path: string, res: { status: number; body: Buffer }): unknown {
    let parsed: unknown;
    try {
      parsed = JSON.parse(res.body.toString("utf8"));
    } catch {
      throw new BrokerResponseError(
        res.status,
        `${method} ${path}: answer is not JSON (HTTP ${res.status})`,
      );
    }
    if (res.status >= 400) {
      const msg = (parsed as { error?: string }).error ?? `HTTP ${res.status}`;
      throw new BrokerResponseError(res.status, `${method} ${path}: ${msg}`);
    }
    return parsed;
  }

  private request(
    method: string,
    path: string,
    body?: string,
    contentType?: string,
  ): Promise<{ status: number; body: Buffer }> {
    return new Promise((resolve, reject) => {
      // as Python's xmlrpc.client: the broker gzips answers over 1400 bytes (get_stats)
      const headers: Record<string, string | number> = { "accept-encoding": "gzip" };
      if (body !== undefined) {
        headers["content-type"] = contentType ?? "application/octet-stream";
        headers["content-length"] = Buffer.byteLength(body);
      }
      const req = http.request(
        {
          socketPath: this.socketPath,
          path,
          method,
          headers,
          agent: this.agent,
          timeout: this.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const status = res.statusCode ?? 0;
            const raw = Buffer.concat(chunks);
            if (res.headers["content-encoding"] !== "gzip") return resolve({ status, body: raw });
            gunzip(raw, (e, plain) =>
              e
                ? reject(
                    new BrokerResponseError(
                      status,
                      `${method} ${path}: bad gzip answer: ${e.message}`,
                    ),
                  )
                : resolve({ status, body: plain }),
            );
          });
          res.on("error", (e) => reject(new BrokerUnreachableError(this.socketPath, e.message)));
        },
      );
      req.on("timeout", () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on("error", (e: NodeJS.ErrnoException) =>
        reject(new BrokerUnreachableError(this.socketPath, describe(e))),
      );
      req.end(body);
    });
  }
}

function describe(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case "ENOENT":
      return "no socket (is ovirt-ha-broker running?)";
    case "ECONNREFUSED":
      return "connection refused (is ovirt-ha-broker running?)";
    case "EACCES":
      return "permission denied";
    default:
      return e.message;
  }
}

function expectString(method: string, v: XmlRpcValue): string {
  if (typeof v !== "string")
    throw new BrokerResponseError(200, `${method}: expected a string answer`);
  return v;
}
