import { describeRv } from "./native.js";

/** A sanlock call failed; `rv` is the negative return code. */
export class SanlockError extends Error {
  constructor(
    readonly op: string,
    readonly rv: number,
    detail: string,
  ) {
    super(`sanlock ${op} failed: ${describeRv(rv)}${detail ? ` (${detail})` : ""}`);
    this.name = "SanlockError";
  }
}

/**
 * Fatal: this host's sanlock daemon already holds the lockspace with another host id
 * (add_lockspace returned EINVAL). Two hosts configured with one id, or a changed
 * host_id without restarting sanlock.
 */
export class LockspaceIdConflictError extends Error {
  constructor(
    readonly lockspace: string,
    readonly hostId: number,
    readonly path: string,
  ) {
    super(
      `sanlock already holds lockspace '${lockspace}' (${path}) on this host with a host id other than ${hostId}: ` +
        "another host_id is configured or was used before; fix host_id in hosted-engine.conf or " +
        `leave the lockspace (sanlock client rem_lockspace -s ${lockspace}:<old id>:${path}:0)`,
    );
    this.name = "LockspaceIdConflictError";
  }
}

/** Joining the lockspace failed after every retry. */
export class LockspaceJoinError extends Error {
  constructor(
    readonly lockspace: string,
    readonly hostId: number,
    readonly attempts: number,
    readonly lastRv: number,
  ) {
    super(
      `cannot join sanlock lockspace '${lockspace}' with host id ${hostId} after ${attempts} attempts: ` +
        describeRv(lastRv),
    );
    this.name = "LockspaceJoinError";
  }
}

/** The engine VM lease is held by another host (or this host cannot prove it is free). */
export class LeaseHeldError extends Error {
  constructor(
    readonly resource: string,
    readonly rv: number,
    readonly ownerHostId: number | null,
  ) {
    super(
      `VM lease '${resource}' is held by ${ownerHostId !== null ? `host ${ownerHostId}` : "another host"}: ` +
        describeRv(rv),
    );
    this.name = "LeaseHeldError";
  }
}
