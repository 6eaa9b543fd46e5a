import type { PeerCred } from "./peer-cred.js";

/** How many connections the broker socket keeps open per caller. */
export interface GateLimits {
  /** per connecting process (SO_PEERCRED pid), privileged or not */
  perProcess: number;
  /** per uid that is neither root nor the broker's own (they may only read) */
  perReadOnlyUser: number;
  /** all such read-only callers together */
  readOnlyTotal: number;
}

/**
 * Far above what the agent (one keep-alive connection), VDSM (one per stats poll) and a
 * few `he-ha` runs use at once; far below what a flood needs to starve them.
 */
export const DEFAULT_GATE_LIMITS: Readonly<GateLimits> = Object.freeze({
  perProcess: 16,
  perReadOnlyUser: 32,
  readOnlyTotal: 64,
});

export type Admission = { ok: true; release: () => void } | { ok: false; reason: string };

/**
 * Per-caller connection limits of the broker socket, by the kernel's word on who
 * connected. A flood from one process, or from any number of processes of read-only
 * users, fills only its own share: root and the broker's user (the agent, VDSM, the
 * CLI as root) always find room up to the server's overall maximum.
 */
export class ConnectionGate {
  private readonly byPid = new Map<number, number>();
  private readonly byUid = new Map<number, number>();
  private readOnly = 0;
  refused = 0;

  constructor(
    private readonly ownUid: number,
    private readonly limits: GateLimits = DEFAULT_GATE_LIMITS,
  ) {}

  admit(cred: PeerCred | undefined): Admission {
    // unknown credentials count as one read-only caller
    const pid = cred?.pid ?? -1;
    const uid = cred?.uid ?? -1;
    const privileged = cred !== undefined && (uid === 0 || uid === this.ownUid);
    if ((this.byPid.get(pid) ?? 0) >= this.limits.perProcess) {
      return this.refuse(`process ${pid} already has ${this.limits.perProcess} connections`);
    }
    if (!privileged) {
      if ((this.byUid.get(uid) ?? 0) >= this.limits.perReadOnlyUser)
        return this.refuse(`uid ${uid} already has ${this.limits.perReadOnlyUser} connections`);
      if (this.readOnly >= this.limits.readOnlyTotal)
        return this.refuse(
          `read-only callers already have ${this.limits.readOnlyTotal} connections`,
        );
    }
    bump(this.byPid, pid, 1);
    if (!privileged) {
      bump(this.byUid, uid, 1);
      this.readOnly += 1;
    }
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        bump(this.byPid, pid, -1);
        if (!privileged) {
          bump(this.byUid, uid, -1);
          this.readOnly -= 1;
        }
      },
    };
  }

  private refuse(reason: string): Admission {
    this.refused += 1;
    return { ok: false, reason };
  }
}

function bump(m: Map<number, number>, k: number, d: number): void {
  const n = (m.get(k) ?? 0) + d;
  if (n <= 0) m.delete(k);
  else m.set(k, n);
}
