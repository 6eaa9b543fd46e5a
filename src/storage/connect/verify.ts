import path from "node:path";
import { runBounded } from "../../broker/monitors/bounded-command.js";
import { DOMAIN_METADATA, metadataSdUuid } from "../domain-metadata.js";
import type { StorageCheck } from "./connector.js";

/** How long a look at the domain may take before it counts as unreachable. */
export const CHECK_TIMEOUT_MS = 10_000;

const ENOTCONN = /Transport endpoint is not connected/;

/**
 * Reads `<domainDir>/dom_md/metadata` in a child process (a hung mount never holds a
 * libuv thread) and checks it names `sdUUID`. `requireMetadata` false: a directory
 * without the file passes with a note (a `domain_path` set by hand on a domain made
 * before he-ha wrote dom_md/metadata).
 */
export async function verifyDomain(
  domainDir: string,
  sdUUID: string,
  requireMetadata = true,
  timeoutMs = CHECK_TIMEOUT_MS,
): Promise<StorageCheck> {
  const file = path.join(domainDir, DOMAIN_METADATA);
  const r = await runBounded("cat", ["--", file], timeoutMs, new AbortController().signal, true);
  if (r.code === null)
    return { state: "unreachable", why: `${file}: no answer within ${timeoutMs / 1000} s` };
  if (r.code !== 0) {
    const err = r.stderr.trim().replace(/^cat: /, "");
    if (ENOTCONN.test(err))
      return { state: "unreachable", why: `${file}: ${err.split(": ").pop()}` };
    if (/No such file or directory/.test(err)) {
      if (!requireMetadata) return dirOnly(domainDir, timeoutMs);
      return { state: "missing", why: `${file}: no such file` };
    }
    return { state: "unreachable", why: err || `${file}: cannot read` };
  }
  const found = metadataSdUuid(r.stdout);
  if (found === null)
    return { state: "wrong-domain", why: `${file} has no SDUUID= line: not a storage domain` };
  if (sdUUID && found !== sdUUID)
    return {
      state: "wrong-domain",
      why: `${file} names storage domain ${found}, hosted-engine.conf sdUUID=${sdUUID}`,
    };
  return { state: "ok", domainDir };
}

async function dirOnly(domainDir: string, timeoutMs: number): Promise<StorageCheck> {
  const r = await runBounded(
    "ls",
    ["-d", "--", domainDir],
    timeoutMs,
    new AbortController().signal,
  );
  if (r.code === 0)
    return { state: "ok", domainDir, note: `no ${DOMAIN_METADATA}: sdUUID not verified` };
  if (r.code === null) return { state: "unreachable", why: `${domainDir}: no answer` };
  const err = r.stderr.trim();
  if (ENOTCONN.test(err)) return { state: "unreachable", why: `${domainDir}: ${err}` };
  return { state: "missing", why: `${domainDir}: ${err || "absent"}` };
}

/**
 * A block domain has no directory to look at: reads one byte of each of `volumes` (the
 * prepared HA volumes and the `ids` LV) in a child process, bounded like verifyDomain.
 * `ok` names `domainDir` (the VG's device folder).
 */
export async function verifyBlockVolumes(
  domainDir: string,
  volumes: string[],
  timeoutMs = CHECK_TIMEOUT_MS,
): Promise<StorageCheck> {
  for (const file of volumes) {
    const r = await runBounded(
      "head",
      ["-c", "1", "--", file],
      timeoutMs,
      new AbortController().signal,
    );
    if (r.code === null)
      return { state: "unreachable", why: `${file}: no answer within ${timeoutMs / 1000} s` };
    if (r.code !== 0) {
      const err = r.stderr.trim().replace(/^head: /, "");
      if (/No such file or directory/.test(err))
        return { state: "missing", why: `${file}: no such file or device` };
      return { state: "unreachable", why: err || `${file}: cannot read` };
    }
  }
  return { state: "ok", domainDir };
}
