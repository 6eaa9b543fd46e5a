/**
 * The host's hypervisor through libvirt (@unraid/libvirt, calls run off the event loop).
 *
 * The connection opens lazily on first use. When libvirtd goes away, the call that
 * notices it drops the connection and throws HypervisorUnavailableError; the next calls
 * reconnect, no more often than an exponential backoff allows (1 s doubling to 30 s by
 * default), throwing HypervisorUnavailableError meanwhile. `connected` tells which.
 */
import * as libvirt from "@unraid/libvirt";
import { XMLParser } from "fast-xml-parser";
import type { Logger } from "../common/log.js";

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

export class HypervisorConnection {
  readonly uri: string;
  private readonly log: Logger;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;
  private hv: libvirt.Hypervisor | null = null;
  private opening: Promise<libvirt.Hypervisor> | null = null;
  private backoffMs = 0;
  private nextAttemptAt = 0;
  private lastError = "";
  private closed = false;

  constructor(uri: string, log: Logger, opts: HypervisorOptions = {}) {
    this.uri = uri;
    this.log = log;
    this.minBackoffMs = opts.minBackoffMs ?? 1000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 30_000;
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
      let info: libvirt.DomainInfo;
      try {
        info = await dom.getInfo();
      } catch (err) {
        // the domain went away between the lookup and the query
        if (NOT_FOUND.test(messageOf(err))) return null;
        throw err;
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
    const { uuid, name } = domainIdentity(xml);
    return this.withConnection("start", uuid ?? name ?? "domain", async (hv) => {
      const lookups = [
        () => (uuid ? lookup(hv, uuid) : Promise.resolve(null)),
        () => (name ? lookupByName(hv, name) : Promise.resolve(null)),
      ];
      for (const find of lookups) {
        const dom = await find();
        if (!dom) continue;
        const state = STATE_NAMES[(await dom.getInfo()).state];
        if (state === "running" || state === "paused" || state === "blocked") {
          return "already-running";
        }
        if (state !== "shutoff" && state !== "crashed" && state !== "nostate") {
          // a stale definition being cleared: undefine below reports what matters
          await dom.destroy().catch(() => undefined);
        }
        await dom.undefine().catch((err: unknown) => {
          if (!NOT_FOUND.test(messageOf(err))) throw err;
        });
        this.log.info({ uuid, name, state }, "removed a stale domain definition before start");
      }
      await hv.domainCreateXML(xml);
      this.log.info({ uuid, name }, "domain started");
      return "started";
    });
  }

  /** Asks the guest to shut down; false when the domain is not defined. */
  async shutdownDomain(uuid: string): Promise<boolean> {
    return this.withConnection("shutdown", uuid, async (hv) => {
      const dom = await lookup(hv, uuid);
      if (!dom) return false;
      await dom.shutdown();
      this.log.info({ uuid }, "domain shutdown requested");
      return true;
    });
  }

  /** Powers the domain off at once; false when the domain is not defined. */
  async destroyDomain(uuid: string): Promise<boolean> {
    return this.withConnection("destroy", uuid, async (hv) => {
      const dom = await lookup(hv, uuid);
      if (!dom) return false;
      await dom.destroy();
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

  private async ensure(): Promise<libvirt.Hypervisor> {
    if (this.closed) throw new HypervisorUnavailableError(this.uri, "connection closed");
    if (this.hv) return this.hv;
    if (this.opening) return this.opening;
    if (Date.now() < this.nextAttemptAt) {
      throw new HypervisorUnavailableError(
        this.uri,
        `${this.lastError}; next reconnect in ${this.nextAttemptAt - Date.now()} ms`,
      );
    }
    this.opening = this.open();
    try {
      return await this.opening;
    } finally {
      this.opening = null;
    }
  }

  private async open(): Promise<libvirt.Hypervisor> {
    const hv = new libvirt.Hypervisor({ uri: this.uri });
    try {
      await hv.connectOpen();
    } catch (err) {
      this.backoffMs = Math.min(
        this.maxBackoffMs,
        this.backoffMs === 0 ? this.minBackoffMs : this.backoffMs * 2,
      );
      this.nextAttemptAt = Date.now() + this.backoffMs;
      this.lastError = messageOf(err);
      this.log.warn(
        { uri: this.uri, retry_ms: this.backoffMs, err: this.lastError },
        "cannot connect to the hypervisor",
      );
      throw new HypervisorUnavailableError(this.uri, this.lastError);
    }
    if (this.backoffMs > 0) this.log.info({ uri: this.uri }, "reconnected to the hypervisor");
    this.backoffMs = 0;
    this.nextAttemptAt = 0;
    this.hv = hv;
    return hv;
  }

  /**
   * Runs `fn` on the open connection. When it fails, a cheap probe (connectGetHostname;
   * this binding's connectListDomains hides errors) tells whether the
   * connection itself is gone (drop it: HypervisorUnavailableError) or the operation
   * failed (HypervisorOperationError).
   */
  private async withConnection<T>(
    op: string,
    target: string,
    fn: (hv: libvirt.Hypervisor) => Promise<T>,
  ): Promise<T> {
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
        this.lastError = reason;
        this.log.warn({ uri: this.uri, err: reason }, "lost the hypervisor connection");
        // the connection is already lost (logged above): closing is best effort
        await hv.connectClose().catch(() => undefined);
      }
      throw new HypervisorUnavailableError(this.uri, reason);
    }
  }
}

async function lookup(hv: libvirt.Hypervisor, uuid: string): Promise<libvirt.Domain | null> {
  try {
    return await hv.domainLookupByUUIDString(uuid);
  } catch (err) {
    if (NOT_FOUND.test(messageOf(err))) return null;
    throw err;
  }
}

async function lookupByName(hv: libvirt.Hypervisor, name: string): Promise<libvirt.Domain | null> {
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

/** uuid and name of a domain XML document (either may be absent) */
function domainIdentity(xml: string): { uuid: string | null; name: string | null } {
  const doc = new XMLParser({ ignoreAttributes: true, parseTagValue: false }).parse(xml) as {
    domain?: { uuid?: unknown; name?: unknown };
  };
  const text = (v: unknown) => (typeof v === "string" && v.trim() !== "" ? v.trim() : null);
  return { uuid: text(doc.domain?.uuid), name: text(doc.domain?.name) };
}
