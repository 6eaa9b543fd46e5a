/**
 * sanlock names and string forms: the one home for the lockspace names hosted-engine
 * uses and for sanlock's `name:id:path:offset` strings (CLI `-s`/`-r` arguments and what
 * `sanlock client status` prints).
 *
 * Two lockspaces guard a hosted-engine cluster:
 * - `hosted-engine` on the HA lockspace volume: the hosts' liveness for the whiteboard
 *   (a host writes its whiteboard segment only while it holds its id there);
 * - the storage domain's own lockspace, named by its UUID, on `<domain>/dom_md/ids`:
 *   the lockspace of every oVirt lease on that domain, among them the engine VM's
 *   (the engine disk's volume lease, see src/storage/engine-lease.ts).
 */

/** the HA services' lockspace (behaviour.md §12) */
export const HE_LOCKSPACE = "hosted-engine";

/** sanlock's limit on lockspace and resource names (SANLK_NAME_LEN) */
export const SANLOCK_NAME_MAX = 48;

/**
 * A path inside sanlock's colon-separated strings: `:` is escaped as `\:` (VDSM's mount
 * point names hold `server:_export`), otherwise sanlock cuts the path there.
 */
export function escapeSanlockPath(path: string): string {
  return path.replaceAll(":", "\\:");
}

/** `<name>:<hostId>:<path>:<offset>` (a lockspace; host id 0 for `direct init`) */
export function lockspaceString(
  name: string,
  hostId: number,
  path: string,
  offset: number,
): string {
  return `${name}:${hostId}:${escapeSanlockPath(path)}:${offset}`;
}

/** `<lockspace>:<resource>:<path>:<offset>` (a resource lease) */
export function resourceString(
  lockspace: string,
  resource: string,
  path: string,
  offset: number,
): string {
  return `${lockspace}:${resource}:${escapeSanlockPath(path)}:${offset}`;
}
