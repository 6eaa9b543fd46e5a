import { spawn } from "node:child_process";

export interface CommandOutcome {
  /** exit code; null when killed (deadline, abort) or the command could not start */
  code: number | null;
  /** the first 4 KiB of stderr */
  stderr: string;
  /** the first 64 KiB of stdout, when asked for (`captureStdout`); else "" */
  stdout: string;
}

/**
 * Runs a command off the event loop with stdout discarded (or kept: `captureStdout`), killed (SIGKILL) at the
 * deadline or when `signal` aborts. Never rejects. A child stuck in uninterruptible I/O
 * (dead NFS) is abandoned, not waited for: the outcome is settled at the deadline.
 */
export function runBounded(
  cmd: string,
  args: string[],
  deadlineMs: number,
  signal: AbortSignal,
  captureStdout = false,
): Promise<CommandOutcome> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve({ code: null, stderr: "aborted", stdout: "" });
    let stderr = "";
    let stdout = "";
    let done = false;
    const finish = (code: number | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      resolve({ code, stderr, stdout });
    };
    const child = spawn(cmd, args, {
      stdio: ["ignore", captureStdout ? "pipe" : "ignore", "pipe"],
    });
    child.stdout?.on("data", (chunk: Buffer) => {
      if (stdout.length < 65536) stdout += chunk.toString("utf8");
    });
    child.stderr?.on("data", (chunk: Buffer) => {
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
