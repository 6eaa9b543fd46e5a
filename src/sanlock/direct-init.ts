/**
 * `sanlock direct init`: writes a lockspace or a resource lease area on storage without
 * a daemon (what VDSM does with `sanlock.write_lockspace` / `write_resource` when it
 * creates a domain or a volume). Runs the sanlock program as a child process, so it
 * never blocks the event loop.
 */
import { execFile } from "node:child_process";
import type { SectorGeometry } from "../common/sector-geometry.js";
import { lockspaceString, resourceString } from "./names.js";
import { directInitGeometryArgs } from "./sector-flags.js";

/** `sanlock direct init` failed: names the command and what sanlock printed. */
export class SanlockInitError extends Error {
  override name = "SanlockInitError";
}

export interface DirectInitOptions {
  /** the sanlock program (default `sanlock` on PATH) */
  sanlock?: string;
  /** the domain's sector size and alignment (`-Z`, `-A`); default: sanlock's 512/1M */
  geometry?: SectorGeometry;
}

function runInit(bin: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { timeout: 120_000 }, (err, stdout, stderr) => {
      if (err || !/init done 0/.test(stdout)) {
        const why = (stderr || stdout || err?.message || "no output").trim();
        reject(new SanlockInitError(`${bin} ${args.join(" ")} failed: ${why}`, { cause: err }));
        return;
      }
      resolve();
    });
  });
}

/** Initialises lockspace `name` at `offset` of `path` (host id 0), with `ioTimeout` seconds. */
export function directInitLockspace(
  name: string,
  path: string,
  offset: number,
  ioTimeout: number,
  opts: DirectInitOptions = {},
): Promise<void> {
  return runInit(opts.sanlock ?? "sanlock", [
    "direct",
    "init",
    "-o",
    String(ioTimeout),
    ...directInitGeometryArgs(opts.geometry),
    "-s",
    lockspaceString(name, 0, path, offset),
  ]);
}

/** Initialises (free) resource `resource` of lockspace `lockspace` at `offset` of `path`. */
export function directInitResource(
  lockspace: string,
  resource: string,
  path: string,
  offset: number,
  opts: DirectInitOptions = {},
): Promise<void> {
  return runInit(opts.sanlock ?? "sanlock", [
    "direct",
    "init",
    ...directInitGeometryArgs(opts.geometry),
    "-r",
    resourceString(lockspace, resource, path, offset),
  ]);
}
