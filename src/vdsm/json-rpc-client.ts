/**
 * A JSON-RPC 2.0 client for VDSM over STOMP 1.2 on TLS, as `vdsm.client.connect`
 * (yajsonrpc's SimpleClient) talks to it:
 *
 * 1. TLS to localhost:54321 with the host's VDSM key and certificate; VDSM's certificate
 *    must chain to VDSM's CA (the host name is not checked: VDSM's certificate names the
 *    host's FQDN, we connect to localhost, as the Python client does).
 * 2. `CONNECT` (`accept-version:1.2`, `heart-beat:0,24000`) → `CONNECTED`. VDSM then
 *    sends a heart-beat (an empty line) every 24 s; nothing at all from VDSM for 30 s
 *    (its `heart-beat` answer, see heartBeatTimeoutMs) drops the connection as the
 *    python client's reconnect does: pending calls fail at once, the next call connects
 *    again. The client sends no heart-beats (outgoing 0), as the python client.
 * 3. `SUBSCRIBE` to a private response destination (a fresh uuid, as SimpleClient does),
 *    `ack:auto`, subscription `id` another uuid.
 * 4. Each call: `SEND` to `jms.topic.vdsm_requests`, `content-type:application/json`,
 *    `reply-to:<response destination>`, body `{"jsonrpc":"2.0","method","params","id"}`;
 *    VDSM answers with a `MESSAGE` on the response destination carrying the same id.
 *
 * Reconnect: when the connection drops (VDSM restarted), every pending call fails with
 * VdsmUnavailableError and the next call connects again, no more often than a backoff
 * allows (1 s doubling to 30 s). After each (re)connect the client checks VDSM with
 * `Host.ping2` as the original's `connect_vdsm_json_rpc` does, waiting while VDSM
 * answers code 99 (still recovering its VMs).
 */
import { randomUUID } from "node:crypto";
import tls from "node:tls";
import type { Logger } from "../common/log.js";
import { Reconnect } from "../common/reconnect.js";
import { encodeFrame, type StompFrame, StompParser } from "./stomp-frame.js";
import {
  clientHeartBeat,
  Header,
  heartBeatTimeoutMs,
  INCOMING_HEART_BEAT_MS,
  REQUEST_DESTINATION,
  STOMP_VERSION,
  VDSM_PORT,
  VdsmCode,
} from "./wire.js";

export interface VdsmTlsFiles {
  /** PEM texts (not paths) */
  key: string | Buffer;
  cert: string | Buffer;
  ca: string | Buffer;
}

export interface VdsmClientOptions {
  host?: string;
  port?: number;
  /** the PEMs, or how to read them (at each connect: a renewed certificate is picked up) */
  tls: VdsmTlsFiles | (() => Promise<VdsmTlsFiles>);
  log: Logger;
  /** per call (default 60 s, vdsm.client's default) */
  timeoutMs?: number;
  /** to connect and get CONNECTED (default 10 s) */
  connectTimeoutMs?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** how long to wait for VDSM to finish recovering (code 99) after a connect (default 60 s) */
  recoveryWaitMs?: number;
  /** silence from VDSM that drops the connection (default 30 s, stomp.DEFAULT_INCOMING) */
  incomingHeartBeatMs?: number;
}

/** VDSM answered with an error (`code` is VDSM's, e.g. 1 = no such VM). */
export class VdsmError extends Error {
  override name = "VdsmError";
  constructor(
    readonly method: string,
    readonly code: number,
    readonly vdsmMessage: string,
  ) {
    super(`VDSM ${method} failed (code=${code}, message=${vdsmMessage})`);
  }
}

/** No usable connection to VDSM (not listening, TLS refused, dropped, timed out). */
export class VdsmUnavailableError extends Error {
  override name = "VdsmUnavailableError";
  constructor(
    readonly endpoint: string,
    reason: string,
  ) {
    super(`VDSM at ${endpoint} unavailable: ${reason}`);
  }
}

interface Pending {
  method: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

interface Connection {
  socket: tls.TLSSocket;
  responseDestination: string;
  /** fires after the heart-beat timeout without a byte from VDSM; refreshed on each */
  silence?: NodeJS.Timeout;
}

export class VdsmClient {
  readonly endpoint: string;
  private readonly o: Required<Omit<VdsmClientOptions, "host" | "port" | "tls" | "log">> & {
    host: string;
    port: number;
  };
  private conn: Connection | null = null;
  private readonly reconnect: Reconnect<Connection>;
  private readonly pending = new Map<string, Pending>();
  private closed = false;
  /** how many connections were made (1 + reconnects) */
  connects = 0;

  constructor(private readonly opts: VdsmClientOptions) {
    this.o = {
      host: opts.host ?? "localhost",
      port: opts.port ?? VDSM_PORT,
      timeoutMs: opts.timeoutMs ?? 60_000,
      connectTimeoutMs: opts.connectTimeoutMs ?? 10_000,
      minBackoffMs: opts.minBackoffMs ?? 1000,
      maxBackoffMs: opts.maxBackoffMs ?? 30_000,
      recoveryWaitMs: opts.recoveryWaitMs ?? 60_000,
      incomingHeartBeatMs: opts.incomingHeartBeatMs ?? INCOMING_HEART_BEAT_MS,
    };
    this.endpoint = `${this.o.host}:${this.o.port}`;
    const { endpoint } = this;
    this.reconnect = new Reconnect<Connection>({
      minBackoffMs: this.o.minBackoffMs,
      maxBackoffMs: this.o.maxBackoffMs,
      unavailable: (reason) => new VdsmUnavailableError(endpoint, reason),
      onFailure: (err, retryMs) =>
        opts.log.warn({ endpoint, retry_ms: retryMs, err }, "cannot connect to VDSM"),
      onRecovered: () => opts.log.info({ endpoint }, "reconnected to VDSM"),
    });
  }

  get connected(): boolean {
    return this.conn !== null;
  }

  /** Calls `method` (e.g. "VM.getStats") with named params; resolves to its `result`. */
  async call<T = unknown>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const conn = await this.ensure();
    return (await this.send(conn, method, params)) as T;
  }

  /** Closes the connection; later calls throw VdsmUnavailableError. */
  close(): void {
    this.closed = true;
    this.drop("client closed");
  }

  private send(
    conn: Connection,
    method: string,
    params: Record<string, unknown>,
  ): Promise<unknown> {
    const id = randomUUID();
    const body = JSON.stringify({ jsonrpc: "2.0", method, params, id });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new VdsmUnavailableError(
            this.endpoint,
            `no answer to ${method} within ${this.o.timeoutMs} ms`,
          ),
        );
      }, this.o.timeoutMs);
      this.pending.set(id, { method, resolve, reject, timer });
      conn.socket.write(
        encodeFrame(
          "SEND",
          {
            [Header.destination]: REQUEST_DESTINATION,
            [Header.contentType]: "application/json",
            [Header.replyTo]: conn.responseDestination,
          },
          body,
        ),
      );
    });
  }

  private async ensure(): Promise<Connection> {
    if (this.closed) throw new VdsmUnavailableError(this.endpoint, "client closed");
    if (this.conn) return this.conn;
    return this.reconnect.open(() => this.open());
  }

  private async open(): Promise<Connection> {
    let conn: Connection;
    try {
      const t = this.opts.tls;
      conn = await this.handshake(typeof t === "function" ? await t() : t);
    } catch (err) {
      throw err instanceof VdsmUnavailableError
        ? err
        : new VdsmUnavailableError(this.endpoint, err instanceof Error ? err.message : String(err));
    }
    this.conn = conn;
    this.connects++;
    try {
      await this.waitReady(conn);
    } catch (err) {
      this.drop(err instanceof Error ? err.message : String(err));
      throw err;
    }
    return conn;
  }

  /** Host.ping2 until it answers, waiting while VDSM recovers (code 99), as util.py does. */
  private async waitReady(conn: Connection): Promise<void> {
    const deadline = Date.now() + this.o.recoveryWaitMs;
    for (;;) {
      try {
        await this.send(conn, "Host.ping2", {});
        return;
      } catch (err) {
        if (!(err instanceof VdsmError) || err.code !== VdsmCode.recovering) throw err;
        if (Date.now() > deadline)
          throw new VdsmUnavailableError(this.endpoint, "VDSM still recovering (code 99)");
        this.opts.log.info({ endpoint: this.endpoint }, "VDSM is recovering; waiting");
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  /** TLS, CONNECT → CONNECTED, SUBSCRIBE to a private response destination. */
  private handshake(files: VdsmTlsFiles): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const parser = new StompParser();
      const responseDestination = randomUUID();
      let conn: Connection | undefined;
      let settled = false;
      const fail = (reason: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        reject(new VdsmUnavailableError(this.endpoint, reason));
      };
      const timer = setTimeout(
        () => fail(`no CONNECTED within ${this.o.connectTimeoutMs} ms`),
        this.o.connectTimeoutMs,
      );
      const socket = tls.connect({
        host: this.o.host,
        port: this.o.port,
        key: files.key,
        cert: files.cert,
        ca: files.ca,
        // VDSM's certificate names the host's FQDN; we reach it as localhost
        checkServerIdentity: () => undefined,
      });
      socket.once("secureConnect", () => {
        socket.write(
          encodeFrame("CONNECT", {
            [Header.acceptVersion]: STOMP_VERSION,
            [Header.heartBeat]: clientHeartBeat(this.o.incomingHeartBeatMs),
          }),
        );
      });
      socket.on("error", (err) => {
        if (!settled) fail(err.message);
      });
      socket.on("close", () => {
        clearTimeout(conn?.silence);
        if (!settled) fail("connection closed during the STOMP handshake");
        else if (this.conn?.socket === socket) this.drop("VDSM closed the connection");
      });
      socket.on("data", (chunk: Buffer) => {
        conn?.silence?.refresh();
        let frames: StompFrame[];
        try {
          frames = parser.push(chunk);
        } catch (err) {
          this.opts.log.warn({ endpoint: this.endpoint, err }, "malformed STOMP frame from VDSM");
          if (!settled) fail((err as Error).message);
          else socket.destroy();
          return;
        }
        for (const f of frames) {
          if (!settled) {
            if (f.command === "CONNECTED") {
              settled = true;
              clearTimeout(timer);
              socket.write(
                encodeFrame("SUBSCRIBE", {
                  [Header.destination]: responseDestination,
                  [Header.ack]: "auto",
                  [Header.id]: randomUUID(),
                }),
              );
              conn = { socket, responseDestination };
              this.watchHeartBeat(conn, f.headers[Header.heartBeat]);
              resolve(conn);
            } else if (f.command === "ERROR") {
              fail(`STOMP ERROR: ${f.body.toString("utf8") || f.headers.message || "?"}`);
            }
            continue;
          }
          this.onFrame(f);
        }
      });
    });
  }

  /** Drops `conn` after the heart-beat timeout VDSM's CONNECTED header gives, without a byte. */
  private watchHeartBeat(conn: Connection, serverHeader: string | undefined): void {
    const ms = heartBeatTimeoutMs(serverHeader, this.o.incomingHeartBeatMs);
    if (ms === null) return;
    conn.silence = setTimeout(() => {
      if (this.conn === conn)
        this.drop(`no frame or heart-beat from VDSM within ${ms} ms (heart-beat ${serverHeader})`);
      else conn.socket.destroy();
    }, ms);
    conn.silence.unref();
  }

  private onFrame(f: StompFrame): void {
    if (f.command === "ERROR") {
      this.opts.log.warn(
        { endpoint: this.endpoint, message: f.body.toString("utf8") },
        "STOMP ERROR frame from VDSM",
      );
      return;
    }
    if (f.command !== "MESSAGE") return;
    let doc: unknown;
    try {
      doc = JSON.parse(f.body.toString("utf8"));
    } catch (err) {
      this.opts.log.warn({ endpoint: this.endpoint, err }, "VDSM sent a message that is not JSON");
      return;
    }
    for (const r of Array.isArray(doc) ? doc : [doc]) this.onResponse(r);
  }

  private onResponse(r: unknown): void {
    if (typeof r !== "object" || r === null) return;
    const { id, result, error } = r as { id?: unknown; result?: unknown; error?: unknown };
    if (typeof id !== "string") return; // an event (no id): not ours to answer
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (error !== undefined && error !== null) {
      const e = error as { code?: unknown; message?: unknown };
      p.reject(
        new VdsmError(
          p.method,
          typeof e.code === "number" ? e.code : -1,
          typeof e.message === "string" ? e.message : JSON.stringify(error),
        ),
      );
    } else {
      p.resolve(result);
    }
  }

  /** Drops the connection; pending calls fail with VdsmUnavailableError. */
  private drop(reason: string): void {
    const conn = this.conn;
    this.conn = null;
    if (conn) {
      clearTimeout(conn.silence);
      if (!this.closed) this.opts.log.warn({ endpoint: this.endpoint, reason }, "lost VDSM");
      conn.socket.destroy();
    }
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      clearTimeout(p.timer);
      p.reject(new VdsmUnavailableError(this.endpoint, reason));
    }
  }
}
