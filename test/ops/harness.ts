import { type ChildProcess, spawn } from "node:child_process";
import { Writable } from "node:stream";
import { createLogger, type Logger } from "../../src/common/log.js";
import { type Ran, runTool } from "../support/run.js";

/** Runs an ES module snippet in a fresh node (`-e`), with `args` after it and only `env`. */
export function runNode(
  script: string,
  opts: { args?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<Ran> {
  return runTool(
    process.execPath,
    ["--input-type=module", "-e", script, "--", ...(opts.args ?? [])],
    {
      env: { PATH: process.env.PATH, ...opts.env },
    },
  );
}

/** A JSON pino logger whose lines land, parsed, in `lines`. */
export function capturedLogger(level = "debug"): {
  lines: Array<Record<string, unknown>>;
  logger: Logger;
} {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split("\n")) if (l.trim()) lines.push(JSON.parse(l));
      done();
    },
  });
  return { lines, logger: createLogger({ name: "test", level, pretty: false, destination: sink }) };
}

/**
 * systemd's side of sd_notify: a unix datagram socket. Node cannot bind one, so a small
 * python3 receiver prints every datagram as one JSON string per line.
 */
const RECEIVER = `
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print(json.dumps("BOUND"), flush=True)
while True:
    print(json.dumps(s.recv(4096).decode()), flush=True)
`;

export class NotifyReceiver {
  readonly messages: string[] = [];
  private waiters: Array<() => void> = [];
  private constructor(private readonly child: ChildProcess) {}

  static async start(socketPath: string): Promise<NotifyReceiver> {
    const child = spawn("python3", ["-c", RECEIVER, socketPath], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const r = new NotifyReceiver(child);
    let buf = "";
    child.stdout?.on("data", (d) => {
      buf += String(d);
      let nl = buf.indexOf("\n");
      while (nl >= 0) {
        r.messages.push(JSON.parse(buf.slice(0, nl)) as string);
        buf = buf.slice(nl + 1);
        nl = buf.indexOf("\n");
      }
      for (const w of r.waiters.splice(0)) w();
    });
    await r.waitFor((m) => m === "BOUND");
    r.messages.shift();
    return r;
  }

  /** Resolves once a message satisfies `pred` (the test's timeout bounds the wait). */
  waitFor(pred: (m: string) => boolean, count = 1): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.messages.filter(pred).length >= count) resolve();
        else if (this.child.exitCode !== null) reject(new Error("receiver exited"));
        else this.waiters.push(check);
      };
      check();
    });
  }

  stop(): void {
    this.child.kill("SIGKILL");
  }
}
