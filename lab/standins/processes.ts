/**
 * Child processes of the lab hosts: spawned asynchronously, tracked by pid, and
 * ended by pid only. Every tracked pid that is still alive when this process exits
 * (normally or through an uncaught error) gets SIGKILL, so a failed test or demo never
 * leaves a sanlock daemon or libvirtd behind.
 */
import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";
import { open } from "node:fs/promises";
import { createConnection } from "node:net";

const tracked = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const pid of tracked) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export interface TrackedChild {
  child: ChildProcess;
  pid: number;
  /** resolves with the exit code (or signal name) when the process has ended */
  exited: Promise<number | string>;
}

/**
 * Spawns a long-running child whose stdout and stderr go to `logFile` (appended), and
 * tracks it for the exit hook. Rejects when the program cannot be started.
 */
export async function spawnTracked(
  command: string,
  args: string[],
  opts: { logFile: string; env?: NodeJS.ProcessEnv; stdin?: "ignore" | "pipe" },
): Promise<TrackedChild> {
  installExitHook();
  const log = await open(opts.logFile, "a");
  try {
    const spawnOpts: SpawnOptions = {
      stdio: [opts.stdin ?? "ignore", log.fd, log.fd],
      env: opts.env ?? process.env,
    };
    const child = spawn(command, args, spawnOpts);
    const pid = await new Promise<number>((resolve, reject) => {
      child.once("spawn", () => resolve(child.pid!));
      child.once("error", reject);
    });
    tracked.add(pid);
    const exited = new Promise<number | string>((resolve) => {
      child.once("exit", (code, signal) => {
        tracked.delete(pid);
        resolve(code ?? signal ?? "unknown");
      });
    });
    return { child, pid, exited };
  } finally {
    await log.close();
  }
}

/** Runs a short command to completion; resolves with its exit code and output. */
export function runCommand(
  command: string,
  args: string[],
  env?: NodeJS.ProcessEnv,
  timeoutMs = 30_000,
): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: env ?? process.env, timeout: timeoutMs });
    let output = "";
    child.stdout.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.once("error", reject);
    child.once("close", (code) => resolve({ code: code ?? -1, output }));
  });
}

/** Waits until the child has exited, up to `ms`; true when it did. */
export async function waitExit(c: TrackedChild, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const done = await Promise.race([c.exited.then(() => true as const), timeout]);
  clearTimeout(timer);
  return done;
}

/** Sends `signal` to the child's pid (no error when it is gone already). */
export function signalChild(c: TrackedChild, signal: NodeJS.Signals): void {
  try {
    process.kill(c.pid, signal);
  } catch {
    // already gone
  }
}

/** SIGTERM, then SIGKILL after `graceMs` when it is still running. */
export async function terminate(c: TrackedChild, graceMs: number): Promise<void> {
  signalChild(c, "SIGTERM");
  if (await waitExit(c, graceMs)) return;
  signalChild(c, "SIGKILL");
  await waitExit(c, 5000);
}

/**
 * Polls `fn` every `intervalMs` until it returns a value (not undefined) and resolves with
 * it; throws, naming `what`, after `timeoutMs`.
 */
export async function pollFor<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 15_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Polls `check` every `intervalMs` until it returns true; throws after `timeoutMs`. */
export async function pollUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 50,
): Promise<void> {
  await pollFor(what, async () => ((await check()) ? true : undefined), timeoutMs, intervalMs);
}

/** true when something accepts connections on the unix socket at `path` */
export function unixSocketAccepts(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection(path);
    sock.once("connect", () => {
      sock.destroy();
      resolve(true);
    });
    sock.once("error", () => resolve(false));
  });
}

/** true while the child has not exited */
export function isRunning(c: TrackedChild): boolean {
  return c.child.exitCode === null && c.child.signalCode === null;
}

/**
 * Waits until `ready()` is true for a child that is starting; fails at once, naming its
 * log, when the child exits first, and after `timeoutMs` otherwise.
 */
export function waitUntilReady(
  c: TrackedChild,
  what: string,
  logFile: string,
  ready: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  return pollUntil(
    what,
    async () => {
      if (!isRunning(c)) throw new Error(`${what}: the process exited at start; see ${logFile}`);
      return ready();
    },
    timeoutMs,
  );
}
