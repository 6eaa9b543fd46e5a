/**
 * Takeover after a hard kill in a mixed cluster, with real sanlock daemons: host A holds
 * the engine VM's lease and "loses power" (kill -9 of its sanlock daemon AND of the lease
 * holder process); host B retries the acquire every second; the figure is the time from
 * the kill to B's successful acquire, beside sanlock's host-dead bound 8 × io_timeout + 60.
 * Both directions: A = a python3-sanlock client (lab/standins/python_host.py, as VDSM +
 * libvirt hold it on a Python host) and B = our VmLease, and the other way round (A = our
 * Lockspace + VmLease in a child process, test/sanlock/fixtures/lease-agent.ts).
 *
 * TAKEOVER_IO_TIMEOUT (default 2) is the io_timeout both sides join with and the
 * lockspace is written with; TAKEOVER_RUNS (default 3) the runs per direction;
 * TAKEOVER_CONTROL=1 runs only the control python→python (python3-sanlock both sides). The two
 * directions run side by side (separate volumes and daemons). Writes takeover.json.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os, { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { scriptArgs } from "../lab/children.js";
import { initLeaseVolume, initResourceLease } from "../lab/standins/lease-volume.js";
import { PythonHost } from "../lab/standins/python-host.js";
import { SanlockDaemon } from "../lab/standins/sanlock-daemon.js";
import { silentLogger } from "../src/common/log.js";
import { packageRoot } from "../src/common/package-root.js";
import { Lockspace } from "../src/sanlock/lockspace.js";
import { HE_LOCKSPACE } from "../src/sanlock/names.js";
import { hostDeadSeconds } from "../src/sanlock/timeouts.js";
import { VmLease } from "../src/sanlock/vm-lease.js";
import { type BenchResult, summarize } from "./types.js";

const VM_ID = "5b1c7d2e-9f3a-4e6b-8c0d-2a4f6e8b0c1d";
const RES_OFFSET = 1_048_576;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** our Lockspace + VmLease holding the lease in a child process (kill -9 able) */
function ourHolder(runDir: string, volume: string, io: number) {
  const child = spawn(
    process.execPath,
    scriptArgs(
      join(packageRoot(), "test/sanlock/fixtures/lease-agent.ts"),
      volume,
      "1",
      VM_ID,
      "join",
      "acquire",
      "hold",
    ),
    {
      cwd: packageRoot(), // tsx resolves from the package
      env: { ...process.env, SANLOCK_RUN_DIR: runDir, LEASE_IO_TIMEOUT: String(io) },
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  const held = new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on("line", (l) => {
      const r = JSON.parse(l) as { step: string; error?: string; message?: string };
      if (r.error) reject(new Error(`our holder ${r.step}: ${r.error} ${r.message}`));
      if (r.step === "hold") resolve();
    });
  });
  return { child, held };
}

/** python→python: the control (TAKEOVER_CONTROL=1), sanlock's own floor for that acquire */
type Direction = "python→ours" | "ours→python" | "python→python";
const DIR_TAG: Record<Direction, string> = {
  "python→ours": "p2o",
  "ours→python": "o2p",
  "python→python": "p2p",
};

interface Run {
  direction: Direction;
  seconds: number;
  attempts: number;
}

async function oneRun(
  direction: Direction,
  io: number,
  i: number,
  oursRunDir: string,
): Promise<Run> {
  const dir = await mkdtemp(join(tmpdir(), `he-ha-bench-takeover-${DIR_TAG[direction]}-${i}-`));
  const volume = join(dir, "ids");
  await initLeaseVolume(volume, { ioTimeout: io });
  await initResourceLease(volume, HE_LOCKSPACE, VM_ID, RES_OFFSET);
  const lease = { lockspace: HE_LOCKSPACE, resource: VM_ID, path: volume, offset: RES_OFFSET };
  const cleanup: Array<() => Promise<unknown>> = [];
  const cap = 3 * hostDeadSeconds(io) * 1000;
  try {
    if (direction === "python→ours") {
      // A: python3-sanlock as VDSM + libvirt on a Python host, joined with io
      const pyA = await PythonHost.start(join(dir, "a"), "hostA");
      cleanup.push(
        () => pyA.sanlock.kill9(),
        async () => process.kill(pyA.pid, "SIGKILL"),
      );
      // B: our Lockspace + VmLease in this process, on daemon b (SANLOCK_RUN_DIR)
      // one run dir for every run: libsanlock in this process keeps the first socket path
      const b = await SanlockDaemon.start({ runDir: oursRunDir, hostName: "hostB" });
      cleanup.push(() => b.stop());
      const prev = process.env.SANLOCK_RUN_DIR;
      process.env.SANLOCK_RUN_DIR = b.runDir;
      try {
        const ours = new Lockspace({ log: silentLogger });
        const spec = { name: HE_LOCKSPACE, hostId: 2, path: volume, offset: 0, ioTimeout: io };
        const [joinA] = await Promise.all([
          pyA.join(HE_LOCKSPACE, 1, volume, io),
          ours.addLockspace(spec),
        ]);
        if (joinA !== "ok join") throw new Error(`python join: ${joinA}`);
        const acqA = await pyA.acquire(lease);
        if (acqA !== "ok acquire") throw new Error(`python acquire: ${acqA}`);
        const vmLease = new VmLease({ ...lease, hostId: 2 }, { log: silentLogger });
        const t0 = Date.now();
        process.kill(pyA.pid, "SIGKILL");
        await pyA.sanlock.kill9();
        let attempts = 0;
        while (Date.now() - t0 < cap) {
          attempts++;
          try {
            // OWNER_NOWAIT, as our agent: refused until sanlock allows
            await vmLease.acquire();
            const seconds = (Date.now() - t0) / 1000;
            await vmLease.release().catch(() => undefined);
            await ours.remLockspace(spec).catch(() => undefined);
            return { direction, seconds, attempts };
          } catch {
            await sleep(1000);
          }
        }
        throw new Error(`${direction}: no takeover within ${cap / 1000} s`);
      } finally {
        if (prev === undefined) delete process.env.SANLOCK_RUN_DIR;
        else process.env.SANLOCK_RUN_DIR = prev;
      }
    }
    // A: our code in a child process on daemon a (or python3-sanlock, the control);
    // B: python3-sanlock on its own daemon
    let killA: () => Promise<void>;
    let heldA: Promise<unknown>;
    if (direction === "python→python") {
      const pyA = await PythonHost.start(join(dir, "a"), "hostA");
      killA = async () => {
        process.kill(pyA.pid, "SIGKILL");
        await pyA.sanlock.kill9();
      };
      heldA = pyA.join(HE_LOCKSPACE, 1, volume, io).then(async (j) => {
        const r = j === "ok join" ? await pyA.acquire(lease) : j;
        if (r !== "ok acquire") throw new Error(`python A: ${r}`);
      });
    } else {
      const a = await SanlockDaemon.start({ runDir: join(dir, "a"), hostName: "hostA" });
      const holder = ourHolder(a.runDir, volume, io);
      killA = async () => {
        holder.child.kill("SIGKILL");
        await a.kill9();
      };
      heldA = holder.held;
    }
    cleanup.push(() => killA().catch(() => undefined));
    const pyB = await PythonHost.start(join(dir, "b"), "hostB");
    cleanup.push(() => pyB.stop());
    const [, joinB] = await Promise.all([heldA, pyB.join(HE_LOCKSPACE, 2, volume, io)]);
    if (joinB !== "ok join") throw new Error(`python join: ${joinB}`);
    const t0 = Date.now();
    await killA();
    let attempts = 0;
    while (Date.now() - t0 < cap) {
      attempts++;
      // python3-sanlock's acquire without OWNER_NOWAIT, as libvirt's: sanlock itself
      // waits while the owner's delta lease may still be renewed
      const r = await pyB.acquire(lease);
      if (r === "ok acquire") return { direction, seconds: (Date.now() - t0) / 1000, attempts };
      await sleep(1000);
    }
    throw new Error(`${direction}: no takeover within ${cap / 1000} s`);
  } finally {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<BenchResult[]> {
  const io = Number(process.env.TAKEOVER_IO_TIMEOUT ?? 2);
  const runs = Number(process.env.TAKEOVER_RUNS ?? 3);
  const bound = hostDeadSeconds(io);
  const all: Run[] = [];
  const oursRunDir = await mkdtemp(join(tmpdir(), "he-ha-bench-takeover-ours-"));
  for (let i = 0; i < runs; i++) {
    // settle both, so a failed direction does not leave the other's daemons running
    const directions: Direction[] = process.env.TAKEOVER_CONTROL
      ? ["python→python"]
      : ["python→ours", "ours→python"];
    const settled = await Promise.allSettled(directions.map((d) => oneRun(d, io, i, oursRunDir)));
    const failed = settled.find((s) => s.status === "rejected");
    if (failed) throw failed.reason;
    const pair = settled.map((s) => (s as PromiseFulfilledResult<Run>).value);
    for (const r of pair) {
      process.stderr.write(`  takeover ${r.direction} run ${i}: ${r.seconds.toFixed(1)} s\n`);
      all.push(r);
    }
  }
  await rm(oursRunDir, { recursive: true, force: true });
  const results: BenchResult[] = [];
  const rows: string[] = [];
  for (const direction of new Set(all.map((r) => r.direction))) {
    const s = all.filter((r) => r.direction === direction).map((r) => r.seconds);
    const { median } = summarize(s);
    rows.push(
      `${direction.padEnd(12)} io_timeout A=${io} B=${io}  median ${median.toFixed(1)} s  ratio ${(median / bound).toFixed(2)} × (8·io+60 = ${bound} s)  runs ${s.map((x) => x.toFixed(1)).join(", ")}`,
    );
    results.push({
      name: `takeover after hard kill, ${direction} (kill → acquire), io_timeout ${io}`,
      unit: "s",
      median,
      samples: s.length,
      target: `≤ 1.1 × ${bound} s`,
      note: `ratio ${(median / bound).toFixed(2)} to 8·io+60`,
    });
  }
  process.stderr.write(`${rows.join("\n")}\n`);
  await writeFile(
    "takeover.json",
    `${JSON.stringify({ date: new Date().toISOString(), loadavg: os.loadavg(), ioTimeout: io, hostDeadSeconds: bound, runs: all }, null, 2)}\n`,
  );
  return results;
}
