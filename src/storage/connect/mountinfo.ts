/** One line of /proc/self/mountinfo (proc(5)), the fields VDSM's mount.py reads. */
export interface MountRecord {
  /** mount point (fs_file) */
  mountPoint: string;
  /** filesystem type (fuse.glusterfs, nfs4, ext4, ...) */
  fsType: string;
  /** mount source (fs_spec) */
  source: string;
}

/** The kernel writes space, tab, newline and backslash as \040 \011 \012 \134. */
function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/**
 * Parses /proc/self/mountinfo text; malformed lines are skipped. A gluster source's
 * `.rdma` suffix is dropped, as VDSM's _normalize_gluster_mountpoint does.
 */
export function parseMountinfo(text: string): MountRecord[] {
  const out: MountRecord[] = [];
  for (const line of text.split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(" ");
    const right = line.slice(sep + 3).split(" ");
    if (left.length < 5 || right.length < 2) continue;
    const fsType = right[0]!;
    let source = unescapeOctal(right[1]!);
    if (fsType === "fuse.glusterfs" && source.endsWith(".rdma")) source = source.slice(0, -5);
    out.push({ mountPoint: unescapeOctal(left[4]!), fsType, source });
  }
  return out;
}

/** The last mount on `mountPoint` (the one a path lookup reaches), if any. */
export function mountAt(
  records: readonly MountRecord[],
  mountPoint: string,
): MountRecord | undefined {
  let found: MountRecord | undefined;
  for (const r of records) if (r.mountPoint === mountPoint) found = r;
  return found;
}
