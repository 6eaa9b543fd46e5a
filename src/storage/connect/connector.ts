/**
 * The seam between the agent (and `he-ha storage connect|disconnect`) and whatever
 * connects the hosted-engine storage domain on this host: the mount connector here
 * (hosts without VDSM), a VDSM client later (connectStorageServer), or a fixed
 * `domain_path` managed outside.
 */

/** What a look at the domain found. */
export type StorageCheck =
  /** mounted (or present) and `dom_md/metadata` names our sdUUID */
  | { state: "ok"; domainDir: string; note?: string }
  /** nothing mounted at the mount point, or the domain directory is absent */
  | { state: "missing"; why: string }
  /** mounted but not answering: ENOTCONN (FUSE client lost its server), EIO, no answer in time */
  | { state: "unreachable"; why: string }
  /** something answers there, but it is another storage domain (or not one) */
  | { state: "wrong-domain"; why: string };

export type ConnectOutcome =
  /** it was there already (mounted by VDSM, an admin, an earlier he-ha): reused as is */
  | "already-connected"
  /** we mounted it now */
  | "mounted"
  /** a mount of ours that had stopped answering was detached and mounted again */
  | "remounted";

export type DisconnectOutcome =
  | "unmounted"
  /** nothing mounted there */
  | "not-connected"
  /** mounted, but not by he-ha: left alone */
  | "not-ours";

export interface StorageConnector {
  /** what is being connected, for logs: `glusterfs localhost:/vol at /rhev/...` */
  readonly description: string;
  /** the storage domain directory once connected */
  readonly domainDir: string;
  /** Connects when needed (idempotent); throws StorageConnectError naming what failed. */
  connect(opts?: { remountUnreachable?: boolean }): Promise<ConnectOutcome>;
  /** Unmounts what he-ha mounted; anything else is left alone. */
  disconnect(): Promise<DisconnectOutcome>;
  /** A bounded look: mounted, answering, and the right domain? Never throws. */
  check(): Promise<StorageCheck>;
}
