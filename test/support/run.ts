import { execFile } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** This checkout. */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a program to completion, stdout and stderr kept apart; a non-zero exit is a
 * result, not an error. A missing program throws, naming `hint` (how to install it).
 * The one "run a command" of the tests (a node child: `process.execPath` with the
 * arguments of lab/children.ts).
 */
export function runTool(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; hint?: string; stdin?: string } = {},
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { cwd: opts.cwd ?? REPO, env: opts.env ?? process.env, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { code?: number | string }) | null;
        if (e?.code === "ENOENT") {
          reject(new Error(`${cmd} is missing${opts.hint ? `: ${opts.hint}` : ""}`));
          return;
        }
        resolve({ code: e ? (typeof e.code === "number" ? e.code : 1) : 0, stdout, stderr });
      },
    );
    child.stdin?.on("error", () => {
      // a program that exits without reading its input: its exit status tells
    });
    child.stdin?.end(opts.stdin ?? "");
  });
}
