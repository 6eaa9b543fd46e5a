import { stat } from "node:fs/promises";
import path from "node:path";
import { runBounded } from "../../broker/monitors/bounded-command.js";
import { bounded, readSmallFile } from "../bounded-io.js";
import { DOMAIN_METADATA, metadataSdUuid } from "../domain-metadata.js";
import type { StorageCheck } from "./connector.js";

/** How long a look at the domain may take before it counts as unreachable. */
export const CHECK_TIMEOUT_MS = 10_000;

/** dom_md/metadata is a few hundred bytes; more than this is not a domain's metadata. */
const METADATA_MAX_BYTES = 64 * 1024;

/**
 * Reads `<domainDir>/dom_md/metadata` (bounded in time, at most one read outstanding:
 * storage/bounded-io.ts) and checks it names `sdUUID`. `requireMetadata` false: a
 * directory without the file passes with a note (a `domain_path` set by hand on a domain
 * made before he-ha wrote dom_md/metadata).
 */
export async function verifyDomain(
  domainDir: string,
  sdUUID: string,
  requireMetadata = true,
  timeoutMs = CHECK_TIMEOUT_MS,
): Promise<StorageCheck> {
  const file = path.join(domainDir, DOMAIN_METADATA);
  const r = await bounded(file, timeoutMs, new AbortController().signal, () =>
    readSmallFile(file, METADATA_MAX_BYTES),
  );
  if (!r.ok && r.why !== "error")
    return { state: "unreachable", why: `${file}: no answer within ${timeoutMs / 1000} s` };
  if (!r.ok) {
    const code = r.err.code;
    if (code === "ENOTCONN")
      return { state: "unreachable", why: `${file}: Transport endpoint is not connected` };
    if (code === "ENOENT") {
      if (!requireMetadata) return dirOnly(domainDir, timeoutMs);
      return { state: "missing", why: `${file}: no such file` };
    }
    return { state: "unreachable", why: `${file}: ${r.err.message}` };
  }
  const found = metadataSdUuid(r.value.toString("utf8"));
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
  const r = await bounded(domainDir, timeoutMs, new AbortController().signal, () =>
    stat(domainDir),
  );
  if (r.ok) return { state: "ok", domainDir, note: `no ${DOMAIN_METADATA}: sdUUID not verified` };
  if (r.why !== "error") return { state: "unreachable", why: `${domainDir}: no answer` };
  if (r.err.code === "ENOTCONN")
    return { state: "unreachable", why: `${domainDir}: Transport endpoint is not connected` };
  return { state: "missing", why: `${domainDir}: ${r.err.code ?? r.err.message}` };
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
