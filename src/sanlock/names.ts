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

/** Splits sanlock's colon-separated string form, honouring `\:` escapes in paths. */
export function splitSanlockString(s: string): string[] {
  const out: string[] = [];
  let cur = "";
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === "\\" && s[i + 1] === ":") {
      cur += ":";
      i++;
    } else if (ch === ":") {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

export interface StatusLockspace {
  name: string;
  hostId: number;
  path: string;
  offset: number;
}

export interface StatusResource {
  lockspace: string;
  resource: string;
  path: string;
  offset: number;
  /** the holder's pid, or "orphan" (held by this host with no process) */
  holder: number | "orphan";
}

/** The `s` and `r` lines of `sanlock client status`: this host's lockspaces and held leases. */
export function parseClientStatus(text: string): {
  lockspaces: StatusLockspace[];
  resources: StatusResource[];
} {
  const lockspaces: StatusLockspace[] = [];
  const resources: StatusResource[] = [];
  for (const line of text.split("\n")) {
    const m = /^([sr]) (\S+)(?: (.*))?$/.exec(line.trim());
    if (!m) continue;
    const parts = splitSanlockString(m[2]!);
    if (m[1] === "s" && parts.length >= 4) {
      lockspaces.push({
        name: parts[0]!,
        hostId: Number(parts[1]),
        path: parts[2]!,
        offset: Number(parts[3]),
      });
    } else if (m[1] === "r" && parts.length >= 4) {
      const rest = m[3] ?? "";
      const pid = /^p (\d+)/.exec(rest);
      resources.push({
        lockspace: parts[0]!,
        resource: parts[1]!,
        path: parts[2]!,
        offset: Number(parts[3]),
        holder: pid ? Number(pid[1]) : "orphan",
      });
    }
  }
  return { lockspaces, resources };
}
