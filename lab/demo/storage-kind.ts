/**
 * Where the demo's storage domain lives (`--storage`), one home for the words:
 * - gluster: a GlusterFS volume of this machine's glusterd, mounted by every host's agent;
 * - local: a plain directory every host names with `domain_path`;
 * - block: an iSCSI domain reached through a VDSM protocol server on every host, its
 *   LVs loop devices (512-byte or 4K sectors; no device-mapper here).
 */
export const DEMO_STORAGE_KINDS = ["gluster", "local", "block"] as const;
export type DemoStorageKind = (typeof DEMO_STORAGE_KINDS)[number];

export function isDemoStorageKind(s: string): s is DemoStorageKind {
  return (DEMO_STORAGE_KINDS as readonly string[]).includes(s);
}
