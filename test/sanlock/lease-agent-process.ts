import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { scriptArgs } from "../../lab/children.js";

const script = fileURLToPath(new URL("./fixtures/lease-agent.ts", import.meta.url));

export interface StepResult {
  step: string;
  result?: unknown;
  error?: string;
  message?: string;
}

/** A host's "agent" process working the lease (see fixtures/lease-agent.ts). */
export class LeaseAgentProcess {
  readonly results: StepResult[] = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;
  private waiters: (() => void)[] = [];

  constructor(
    runDir: string,
    volume: string,
    hostId: number,
    vmId: string,
    steps: string[],
    extraEnv: NodeJS.ProcessEnv = {},
  ) {
    this.child = spawn(
      process.execPath,
      scriptArgs(script, volume, String(hostId), vmId, ...steps),
      {
        env: { ...process.env, ...extraEnv, SANLOCK_RUN_DIR: runDir },
        stdio: ["pipe", "pipe", "inherit"],
      },
    );
    let buf = "";
    this.child.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      let nl = buf.indexOf("\n");
      while (nl >= 0) {
        this.results.push(JSON.parse(buf.slice(0, nl)) as StepResult);
        buf = buf.slice(nl + 1);
        nl = buf.indexOf("\n");
        for (const w of this.waiters.splice(0)) w();
      }
    });
    this.exited = new Promise((resolve) => this.child.once("exit", (code) => resolve(code)));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** waits until `n` step results have been printed */
  async waitResults(n: number): Promise<StepResult[]> {
    while (this.results.length < n) {
      if (this.child.exitCode !== null)
        throw new Error(`agent exited: ${JSON.stringify(this.results)}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
    return this.results;
  }

  /** ends a `hold` step and waits for the process to exit */
  async finish(): Promise<StepResult[]> {
    this.child.stdin!.end();
    await this.exited;
    return this.results;
  }

  kill9(): Promise<number | null> {
    this.child.kill("SIGKILL");
    return this.exited;
  }
}

/** runs the steps to completion */
export async function runLeaseAgent(
  runDir: string,
  volume: string,
  hostId: number,
  vmId: string,
  steps: string[],
): Promise<StepResult[]> {
  const p = new LeaseAgentProcess(runDir, volume, hostId, vmId, steps);
  p.finish();
  await p.exited;
  return p.results;
}
