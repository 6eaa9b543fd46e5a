import type { PeerCred } from "./peer-cred.js";

/**
 * The broker socket's access model. The socket is 0660 and group `kvm` so VDSM (user
 * vdsm) and the CLI read the cluster state; only root and the broker's own user (the
 * agent runs as the same user, vdsm) may change anything. The original's socket is
 * writable by its owner only; ours keeps reads open to the group and checks the
 * caller's SO_PEERCRED uid on every call that changes state: the methods whose access is
 * "write" in the method table (rpc-methods.ts RPC_METHODS), and PUT /v1/maintenance.
 */

/** true when a caller with these credentials may change state on a broker running as `ownUid` */
export function mayWrite(cred: PeerCred | undefined, ownUid: number): boolean {
  return cred !== undefined && (cred.uid === 0 || cred.uid === ownUid);
}

/** The refusal text for a caller that may only read. */
export function refusal(what: string, cred: PeerCred | undefined, ownUid: number): string {
  const who =
    cred === undefined
      ? "a caller whose credentials are unknown"
      : `uid ${cred.uid} (pid ${cred.pid})`;
  return `${what} changes state: only root and the broker's user (uid ${ownUid}) may call it, not ${who}`;
}
