import { constants } from "node:fs";
import { open } from "node:fs/promises";

/**
 * File I/O on storage that may hang (a dead NFS or FUSE server) done in this process,
 * on libuv's thread pool, instead of in a child process (`dd`, `cat`: a spawn per look
 * cost the daemons more CPU than everything else they do at rest). What a child gave
 * for free is kept by two rules: the caller stops waiting at its deadline, and at most
 * one operation per key (a path) is ever outstanding, so while a hung read has not come
 * back the path reports "busy" without parking a second thread on it. Files are opened
 * with O_NONBLOCK: a FIFO or a device waiting for a peer never parks a thread either.
 */
export type BoundedResult<T> =
  | { ok: true; value: T }
  | { ok: false; why: "timeout" | "busy" | "aborted" }
  | { ok: false; why: "error"; err: NodeJS.ErrnoException };

const outstanding = new Set<string>();

/** Runs `op` unless one for `key` is still outstanding; waits for it at most `timeoutMs`. */
export async function bounded<T>(
  key: string,
  timeoutMs: number,
  signal: AbortSignal,
  op: () => Promise<T>,
): Promise<BoundedResult<T>> {
  if (signal.aborted) return { ok: false, why: "aborted" };
  if (outstanding.has(key)) return { ok: false, why: "busy" };
  outstanding.add(key);
  const run = op().then(
    (value) => ({ ok: true as const, value }),
    (err: NodeJS.ErrnoException) => ({ ok: false as const, why: "error" as const, err }),
  );
  void run.finally(() => outstanding.delete(key));
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<BoundedResult<T>>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, why: "timeout" }), timeoutMs);
    onAbort = () => resolve({ ok: false, why: "aborted" });
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([run, stop]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal.removeEventListener("abort", onAbort);
  }
}

/** Reads at most `maxBytes` of `path` (buffered, O_NONBLOCK). */
export async function readSmallFile(path: string, maxBytes: number): Promise<Buffer> {
  const h = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const buf = Buffer.alloc(maxBytes);
    let got = 0;
    while (got < maxBytes) {
      const { bytesRead } = await h.read(buf, got, maxBytes - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return buf.subarray(0, got);
  } finally {
    await h.close();
  }
}
