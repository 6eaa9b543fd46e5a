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
 * TAKEOVER_CONTROL=1 runs only the control python→python (python3-sanlock both sides);
 * TAKEOVER_OURS=nowait makes our B poll acquire() with OWNER_NOWAIT every second (the
 * agent's way before the waiting acquire) instead of one acquireWaiting(). The two
 * directions run side by side (separate volumes and daemons). Writes takeover.json.
 *
 * Phases: sanlock dates a dead owner by when the *taking* daemon last saw its delta
 * lease change (`last_live`), which it reads once per own renewal (every 2·io). So the
 * figure depends on the two daemons' renewal phases and on when in A's renewal interval
 * the kill falls; B joins a random 0–2·io after A, and the kill comes a random 2–4·io
 * after both hold, so no direction is locked to a phase. Each run also records sanlock's
 * own floor from B's daemon (`host_status -D`: last_live + 8·io+60) and how long after
 * it B got the lease: that part is the acquirer's, the rest is sanlock's accounting.
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
  /** kill → B holds the lease */
  seconds: number;
  /** acquire calls B made */
  attempts: number;
  /** kill → sanlock's floor on B's daemon: last_live of A + 8·io+60 */
  floorSeconds: number;
  /** B's join started this long after A's (s) */
  joinLag: number;
  /** the kill came this long after both held (s) */
  killDelay: number;
}

/** sanlock's monotonic clock (CLOCK_MONOTONIC, whole seconds: its `monotime()`) */
const monotime = () => Number(process.hrtime.bigint() / 1_000_000_000n);

/** a random delay in [lo, hi) seconds */
const randomSeconds = (lo: number, hi: number) => lo + Math.random() * (hi - lo);

/**
 * sanlock's floor for taking host 1's lease on `daemon` (sanlock's monotime seconds):
 * when it last saw host 1's delta lease change plus host 1's host-dead seconds.
 */
async function sanlockFloor(daemon: SanlockDaemon): Promise<number> {
  const out = (await daemon.client(["client", "host_status", "-s", HE_LOCKSPACE, "-D"])).output;
  const block = out.split(/^(?=\d+ timestamp)/m).find((b) => b.startsWith("1 timestamp"));
  const lastLive = Number(block?.match(/last_live=(\d+)/)?.[1]);
  const io = Number(block?.match(/io_timeout=(\d+)/)?.[1]);
  if (!lastLive || !io) throw new Error(`no host 1 in host_status: ${out}`);
  return lastLive + hostDeadSeconds(io);
}

/** starts A's join, then B's a random 0–2·io later; both must succeed */
async function joinPhased(
  io: number,
  joinA: () => Promise<unknown>,
  joinB: () => Promise<unknown>,
): Promise<number> {
  const lag = randomSeconds(0, 2 * io);
  const a = joinA();
  await sleep(lag * 1000);
  await Promise.all([a, joinB()]);
  return lag;
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
        const joinLag = await joinPhased(
          io,
          async () => {
            const j = await pyA.join(HE_LOCKSPACE, 1, volume, io);
            if (j !== "ok join") throw new Error(`python join: ${j}`);
            const acqA = await pyA.acquire(lease);
            if (acqA !== "ok acquire") throw new Error(`python acquire: ${acqA}`);
          },
          () => ours.addLockspace(spec),
        );
        const vmLease = new VmLease({ ...lease, hostId: 2 }, { log: silentLogger });
        cleanup.push(async () => vmLease.close());
        const killDelay = randomSeconds(2 * io, 4 * io);
        await sleep(killDelay * 1000);
        const t0 = Date.now();
        const kill = monotime();
        // the daemon first: alive, it would release the lease of a dead holder process
        await pyA.sanlock.kill9();
        process.kill(pyA.pid, "SIGKILL");
        let attempts = 0;
        while (Date.now() - t0 < cap) {
          attempts++;
          let held = false;
          if (process.env.TAKEOVER_OURS === "nowait") {
            // OWNER_NOWAIT, polled: refused until sanlock allows
            held = await vmLease.acquire().then(
              () => true,
              () => false,
            );
          } else {
            // the agent's way: one acquire sanlock itself waits in (refused if A looks alive)
            held = (await vmLease.acquireWaiting()).granted;
          }
          if (held) {
            const seconds = (Date.now() - t0) / 1000;
            const floorSeconds = (await sanlockFloor(b)) - kill;
            await vmLease.release().catch(() => undefined);
            await ours.remLockspace(spec).catch(() => undefined);
            return { direction, seconds, attempts, floorSeconds, joinLag, killDelay };
          }
          await sleep(1000);
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
    let holdA: () => Promise<unknown>;
    const pyB = await PythonHost.start(join(dir, "b"), "hostB");
    cleanup.push(() => pyB.stop());
    if (direction === "python→python") {
      const pyA = await PythonHost.start(join(dir, "a"), "hostA");
      killA = async () => {
        await pyA.sanlock.kill9();
        process.kill(pyA.pid, "SIGKILL");
      };
      holdA = () =>
        pyA.join(HE_LOCKSPACE, 1, volume, io).then(async (j) => {
          const r = j === "ok join" ? await pyA.acquire(lease) : j;
          if (r !== "ok acquire") throw new Error(`python A: ${r}`);
        });
    } else {
      const a = await SanlockDaemon.start({ runDir: join(dir, "a"), hostName: "hostA" });
      let holder: ReturnType<typeof ourHolder> | undefined;
      killA = async () => {
        await a.kill9();
        holder?.child.kill("SIGKILL");
      };
      holdA = () => {
        holder = ourHolder(a.runDir, volume, io);
        return holder.held;
      };
    }
    cleanup.push(() => killA().catch(() => undefined));
    const joinLag = await joinPhased(io, holdA, async () => {
      const joinB = await pyB.join(HE_LOCKSPACE, 2, volume, io);
      if (joinB !== "ok join") throw new Error(`python join: ${joinB}`);
    });
    const killDelay = randomSeconds(2 * io, 4 * io);
    await sleep(killDelay * 1000);
    const t0 = Date.now();
    const kill = monotime();
    await killA();
    let attempts = 0;
    while (Date.now() - t0 < cap) {
      attempts++;
      // python3-sanlock's acquire without OWNER_NOWAIT, as libvirt's: sanlock itself
      // waits while the owner's delta lease may still be renewed (refused if it looks alive)
      const r = await pyB.acquire(lease);
      if (r === "ok acquire") {
        const seconds = (Date.now() - t0) / 1000;
        const floorSeconds = (await sanlockFloor(pyB.sanlock)) - kill;
        return { direction, seconds, attempts, floorSeconds, joinLag, killDelay };
      }
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
      process.stderr.write(
        `  takeover ${r.direction} run ${i}: ${r.seconds.toFixed(1)} s (sanlock floor ${r.floorSeconds.toFixed(0)} s, join lag ${r.joinLag.toFixed(1)} s, kill ${r.killDelay.toFixed(1)} s after both held, ${r.attempts} acquire calls)\n`,
      );
      all.push(r);
    }
  }
  await rm(oursRunDir, { recursive: true, force: true });
  const results: BenchResult[] = [];
  const rows: string[] = [];
  for (const direction of new Set(all.map((r) => r.direction))) {
    const mine = all.filter((r) => r.direction === direction);
    const s = mine.map((r) => r.seconds);
    const { median } = summarize(s);
    const floors = mine.map((r) => r.floorSeconds);
    const after = mine.map((r) => r.seconds - r.floorSeconds);
    rows.push(
      `${direction.padEnd(12)} io_timeout A=${io} B=${io}  median ${median.toFixed(1)} s  ratio ${(median / bound).toFixed(2)} × (8·io+60 = ${bound} s)  runs ${s.map((x) => x.toFixed(1)).join(", ")}`,
      `${"".padEnd(12)} sanlock floor (kill → last_live+${bound}) ${floors.map((x) => x.toFixed(0)).join(", ")} s; B after the floor ${after.map((x) => x.toFixed(1)).join(", ")} s; acquire calls ${mine.map((r) => r.attempts).join(", ")}`,
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
