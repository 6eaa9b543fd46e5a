import { spawn } from "node:child_process";

export interface CommandOutcome {
  /** exit code; null when killed (deadline, abort) or the command could not start */
  code: number | null;
  /** the first 4 KiB of stderr */
  stderr: string;
}

/**
 * Runs a command off the event loop with stdout discarded, killed (SIGKILL) at the
 * deadline or when `signal` aborts. Never rejects. A child stuck in uninterruptible I/O
 * (dead NFS) is abandoned, not waited for: the outcome is settled at the deadline.
 */
export function runBounded(
  cmd: string,
  args: string[],
  deadlineMs: number,
  signal: AbortSignal,
): Promise<CommandOutcome> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve({ code: null, stderr: "aborted" });
    let stderr = "";
    let done = false;
    const finish = (code: number | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      resolve({ code, stderr });
    };
    const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
    child.stderr.on("data", (chunk: Buffer) => {
      if (stderr.length < 4096) stderr += chunk.toString("utf8");
    });
    const onAbort = () => {
      child.kill("SIGKILL");
      finish(null);
    };
    const timer = setTimeout(onAbort, deadlineMs);
    timer.unref();
    signal.addEventListener("abort", onAbort, { once: true });
    child.once("error", (err) => {
      stderr += err.message;
      finish(null);
    });
    child.once("close", (code) => finish(code));
  });
}
