/**
 * The host's hypervisor through libvirt (native-client.ts: koffi on libvirt.so.0, opened
 * with virConnectOpenAuth so an `authfile` in the URI answers libvirtd's SASL; calls
 * run off the event loop).
 *
 * The connection opens lazily on first use. When libvirtd goes away, the call that
 * notices it drops the connection and throws HypervisorUnavailableError; the next calls
 * reconnect, no more often than an exponential backoff allows (1 s doubling to 30 s by
 * default), throwing HypervisorUnavailableError meanwhile. `connected` tells which.
 */
import type { Logger } from "../common/log.js";
import { Reconnect } from "../common/reconnect.js";
import { NativeLibvirt as Hv, type NativeDomain } from "./native-client.js";

export type DomainStateName =
  | "nostate"
  | "running"
  | "blocked"
  | "paused"
  | "shutdown"
  | "shutoff"
  | "crashed"
  | "pmsuspended";

export interface DomainStateInfo {
  state: DomainStateName;
  /** CPU time used by the domain, nanoseconds */
  cpuTimeNs: number;
  /** current memory, KiB */
  memoryKiB: number;
}

/** libvirt's virDomainState numbering */
const STATE_NAMES: readonly DomainStateName[] = [
  "nostate",
  "running",
  "blocked",
  "paused",
  "shutdown",
  "shutoff",
  "crashed",
  "pmsuspended",
];

/** No connection to the hypervisor right now (libvirtd down, or reconnect backoff). */
export class HypervisorUnavailableError extends Error {
  constructor(
    readonly uri: string,
    reason: string,
  ) {
    super(`hypervisor ${uri} unavailable: ${reason}`);
    this.name = "HypervisorUnavailableError";
  }
}

/** The hypervisor answered but refused or failed the operation. */
export class HypervisorOperationError extends Error {
  constructor(
    readonly op: string,
    readonly target: string,
    reason: string,
  ) {
    super(`libvirt ${op} ${target} failed: ${reason}`);
    this.name = "HypervisorOperationError";
  }
}

export interface HypervisorOptions {
  /** first reconnect delay (default 1000 ms) */
  minBackoffMs?: number;
  /** longest reconnect delay (default 30000 ms) */
  maxBackoffMs?: number;
}

export type StartResult = "started" | "already-running";

const NOT_FOUND = /domain not found|no domain with matching/i;

/** a call older than this has hung: libvirt answers in milliseconds when it answers */
const STALLED_CALL_MS = 5000;

export class HypervisorConnection {
  readonly uri: string;
  private readonly log: Logger;
  private hv: Hv | null = null;
  private readonly reconnect: Reconnect<Hv>;
  private closed = false;
  /** start times (ms) of the calls that have not returned yet */
  private readonly inFlight: number[] = [];

  constructor(uri: string, log: Logger, opts: HypervisorOptions = {}) {
    this.uri = uri;
    this.log = log;
    this.reconnect = new Reconnect<Hv>({
      minBackoffMs: opts.minBackoffMs ?? 1000,
      maxBackoffMs: opts.maxBackoffMs ?? 30_000,
      unavailable: (reason) => new HypervisorUnavailableError(uri, reason),
      onFailure: (err, retryMs) =>
        log.warn(
          { uri, retry_ms: retryMs, err: messageOf(err) },
          "cannot connect to the hypervisor",
        ),
      onRecovered: () => log.info({ uri }, "reconnected to the hypervisor"),
    });
  }

  get connected(): boolean {
    return this.hv !== null;
  }

  /** Opens the connection now (otherwise the first call does); throws when unavailable. */
  async connect(): Promise<void> {
    await this.ensure();
  }

  /** State of the domain with this uuid, or null when the hypervisor does not know it. */
  async domainState(uuid: string): Promise<DomainStateInfo | null> {
    return this.withConnection("state", uuid, async (hv) => {
      const dom = await lookup(hv, uuid);
      if (!dom) return null;
      let info: { state: number; memory: number; cpuTime: number };
      try {
        info = await dom.getInfo();
      } catch (err) {
        // the domain went away between the lookup and the query
        if (NOT_FOUND.test(messageOf(err))) return null;
        throw err;
      } finally {
        dom.free();
      }
      return {
        state: STATE_NAMES[info.state] ?? "nostate",
        cpuTimeNs: Number(info.cpuTime),
        memoryKiB: Number(info.memory),
      };
    });
  }

  /**
   * Starts a transient domain from `xml`. A definition of the same uuid or name that is
   * not running (left over from an earlier run) is removed first; a running one is left
   * alone and reported as "already-running".
   */
  async startDomain(xml: string): Promise<StartResult> {
    const { uuid, name } = await domainIdentity(xml);
    return this.withConnection("start", uuid ?? name ?? "domain", async (hv) => {
      const lookups = [
        () => (uuid ? lookup(hv, uuid) : Promise.resolve(null)),
        () => (name ? lookupByName(hv, name) : Promise.resolve(null)),
      ];
      for (const find of lookups) {
        const dom = await find();
        if (!dom) continue;
        try {
          const state = STATE_NAMES[(await dom.getInfo()).state];
          if (state === "running" || state === "paused" || state === "blocked") {
            return "already-running";
          }
          if (state !== "shutoff" && state !== "crashed" && state !== "nostate") {
            await dom.destroy().catch(() => undefined);
          }
          await dom.undefine().catch((err: unknown) => {
            if (!NOT_FOUND.test(messageOf(err))) throw err;
          });
          this.log.info({ uuid, name, state }, "removed a stale domain definition before start");
        } finally {
          dom.free();
        }
      }
      (await hv.domainCreateXML(xml)).free();
      this.log.info({ uuid, name }, "domain started");
      return "started";
    });
  }

  /** Asks the guest to shut down; false when the domain is not defined. */
  async shutdownDomain(uuid: string): Promise<boolean> {
    return this.withConnection("shutdown", uuid, async (hv) => {
      const dom = await lookup(hv, uuid);
      if (!dom) return false;
      await dom.shutdown().finally(() => dom.free());
      this.log.info({ uuid }, "domain shutdown requested");
      return true;
    });
  }

  /** Powers the domain off at once; false when the domain is not defined. */
  async destroyDomain(uuid: string): Promise<boolean> {
    return this.withConnection("destroy", uuid, async (hv) => {
      const dom = await lookup(hv, uuid);
      if (!dom) return false;
      await dom.destroy().finally(() => dom.free());
      this.log.info({ uuid }, "domain destroyed");
      return true;
    });
  }

  /** Closes the connection; later calls throw HypervisorUnavailableError. */
  async close(): Promise<void> {
    this.closed = true;
    const hv = this.hv;
    this.hv = null;
    // closing is best effort: the connection is dropped either way
    if (hv) await hv.connectClose().catch(() => undefined);
  }

  private async ensure(): Promise<Hv> {
    if (this.closed) throw new HypervisorUnavailableError(this.uri, "connection closed");
    if (this.hv) return this.hv;
    return this.reconnect.open(() => this.open());
  }

  private async open(): Promise<Hv> {
    const hv = new Hv(this.uri);
    try {
      await hv.connectOpen();
    } catch (err) {
      throw new HypervisorUnavailableError(this.uri, messageOf(err));
    }
    this.hv = hv;
    return hv;
  }

  /**
   * Runs `fn` on the open connection. When it fails, a cheap probe (connectGetHostname)
   * tells whether the
   * connection itself is gone (drop it: HypervisorUnavailableError) or the operation
   * failed (HypervisorOperationError).
   */
  private async withConnection<T>(
    op: string,
    target: string,
    fn: (hv: Hv) => Promise<T>,
  ): Promise<T> {
    // A libvirt call that does not return (libvirtd stopped or hung) keeps one of the
    // process's few worker threads; callers give up after their own timeout, but the
    // thread stays blocked. Asking again each loop would use up the pool and freeze all
    // file I/O of the daemon, so no new call starts while an older one hangs.
    const oldest = Math.min(...this.inFlight);
    if (Date.now() - oldest > STALLED_CALL_MS)
      throw new HypervisorUnavailableError(
        this.uri,
        `a call has not returned for ${Math.round((Date.now() - oldest) / 1000)} s: libvirtd is hung; not asking again until it answers`,
      );
    const started = Date.now();
    this.inFlight.push(started);
    try {
      return await this.call(op, target, fn);
    } finally {
      this.inFlight.splice(this.inFlight.indexOf(started), 1);
    }
  }

  private async call<T>(op: string, target: string, fn: (hv: Hv) => Promise<T>): Promise<T> {
    const hv = await this.ensure();
    try {
      return await fn(hv);
    } catch (err) {
      if (err instanceof HypervisorUnavailableError) throw err;
      const reason = messageOf(err);
      const alive = await hv.connectGetHostname().then(
        () => true,
        () => false,
      );
      if (alive) throw new HypervisorOperationError(op, target, reason);
      if (this.hv === hv) {
        this.hv = null;
        this.log.warn({ uri: this.uri, err: reason }, "lost the hypervisor connection");
        // the connection is already lost (logged above): closing is best effort
        await hv.connectClose().catch(() => undefined);
      }
      throw new HypervisorUnavailableError(this.uri, reason);
    }
  }
}

async function lookup(hv: Hv, uuid: string): Promise<NativeDomain | null> {
  try {
    return await hv.domainLookupByUUIDString(uuid);
  } catch (err) {
    if (NOT_FOUND.test(messageOf(err))) return null;
    throw err;
  }
}

async function lookupByName(hv: Hv, name: string): Promise<NativeDomain | null> {
  try {
    return await hv.domainLookupByName(name);
  } catch (err) {
    if (NOT_FOUND.test(messageOf(err))) return null;
    throw err;
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * uuid and name of a domain XML document (either may be absent). The XML library is
 * loaded here, on a VM start, not when a daemon that only asks domain states starts.
 */
async function domainIdentity(xml: string): Promise<{ uuid: string | null; name: string | null }> {
  const { XMLParser } = await import("fast-xml-parser");
  const doc = new XMLParser({ ignoreAttributes: true, parseTagValue: false }).parse(xml) as {
    domain?: { uuid?: unknown; name?: unknown };
  };
  const text = (v: unknown) => (typeof v === "string" && v.trim() !== "" ? v.trim() : null);
  return { uuid: text(doc.domain?.uuid), name: text(doc.domain?.name) };
}
