/**
 * Storage loss for one host, with real sanlock daemons: each host reaches the shared
 * lockspace volume through its own StorageView, host 1's view then cuts writes.
 * Measured on this machine with io_timeout 1 (see the storage view report): host 1's
 * renewals fail at once with EIO; 8 s after its last good renewal sanlock fails the
 * lockspace and SIGTERMs the lease holder; host 2 sees host 1 FAIL after ~8 s and DEAD
 * after 8 + 60 = 68 s (sanlock's fixed 60 s watchdog fire timeout), and only then gets
 * the lease.
 */
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { scriptArgs } from "../../lab/children.js";
import { initLeaseVolume, initResourceLease } from "../../lab/standins/lease-volume.js";
import {
  pollUntil,
  runCommand,
  spawnTracked,
  type TrackedChild,
  terminate,
  waitExit,
} from "../../lab/standins/processes.js";
import { SanlockDaemon } from "../../lab/standins/sanlock-daemon.js";
import { StorageView } from "../../lab/standins/storage-view.js";
import { removeDir, tempDir } from "../support/temp.js";

const VM_ID = "5f0e1d2c-3b4a-4c5d-8e6f-7a8b9c0d1e2f";
const LEASE_OFFSET = 1_048_576;
const leaseAgent = fileURLToPath(new URL("../sanlock/fixtures/lease-agent.ts", import.meta.url));

interface Host {
  id: number;
  view: StorageView;
  daemon: SanlockDaemon;
  /** the lockspace volume as this host reaches it */
  volume: string;
}

/** one lab cluster: a domain, and per host a view and a sanlock daemon */
class Cluster {
  readonly hosts: Host[] = [];
  private readonly children: TrackedChild[] = [];
  private destroyed = false;

  private constructor(readonly dir: string) {}

  /** `registry` gets the cluster at once, so that a failed start is torn down too */
  static async create(name: string, hostCount: number, registry: Cluster[]): Promise<Cluster> {
    const c = new Cluster(await tempDir(name));
    registry.push(c);
    const domain = join(c.dir, "domain");
    await mkdir(domain);
    for (let id = 1; id <= hostCount; id++) {
      const hostDir = join(c.dir, `host${id}`);
      const view = await StorageView.mount({
        source: domain,
        mountpoint: join(hostDir, "mnt"),
        logFile: join(hostDir, "storage-view.log"),
      });
      const volume = join(view.mountpoint, "lockspace.vol");
      const host: Host = { id, view, volume, daemon: undefined as unknown as SanlockDaemon };
      c.hosts.push(host);
      host.daemon = await SanlockDaemon.start({
        runDir: join(hostDir, "sanlock"),
        hostName: `host${id}`,
      });
    }
    // initialised through host 1's view: `sanlock direct init` works over FUSE
    await initLeaseVolume(c.hosts[0]!.volume, { ioTimeout: 1 });
    await initResourceLease(c.hosts[0]!.volume, "hosted-engine", VM_ID, 1_048_576);
    return c;
  }

  host(id: number): Host {
    return this.hosts[id - 1]!;
  }

  async join(id: number): Promise<void> {
    const h = this.host(id);
    const { code, output } = await h.daemon.addLockspace("hosted-engine", id, h.volume);
    expect({ code, output }).toMatchObject({ code: 0, output: expect.stringContaining("done 0") });
  }

  /** `sanlock client status` lines for lockspaces (s) and resources (r) */
  async status(id: number): Promise<string[]> {
    const { output } = await this.host(id).daemon.client(["client", "status"]);
    return output.split("\n").filter((l) => /^[sr] /.test(l));
  }

  /** `sanlock client gets -h 1`: the lockspaces and hosts host `id`'s daemon sees */
  async gets(id: number): Promise<string> {
    return (await this.host(id).daemon.client(["client", "gets", "-h", "1"])).output;
  }

  /** how host `id`'s daemon sees host `of`: LIVE, FAIL, DEAD, UNKNOWN, FREE, or "" */
  async stateOf(id: number, of: number): Promise<string> {
    const output = await this.gets(id);
    return output.match(new RegExp(`^h ${of} gen \\d+ timestamp \\d+ (\\w+)`, "m"))?.[1] ?? "";
  }

  /** The engine VM lease for a fixture "agent" on host `id` (joins, acquires, holds). */
  async leaseHolder(id: number, steps = ["join", "acquire", "hold"]): Promise<TrackedChild> {
    const h = this.host(id);
    const child = await spawnTracked(
      process.execPath,
      scriptArgs(leaseAgent, h.volume, String(id), VM_ID, ...steps),
      { logFile: join(this.dir, `lease-agent-${id}.log`), env: h.daemon.env, stdin: "pipe" },
    );
    this.children.push(child);
    const logFile = join(this.dir, `lease-agent-${id}.log`);
    // sanlock lists the resource as soon as the acquire starts, while its paxos ballot
    // still runs; a contender that reads the lease then can even win the ballot. The
    // holder's own report that its acquire returned is the end of the acquire.
    await pollUntil(
      `host ${id} to hold the engine VM lease`,
      async () => {
        const acquire = (await readFile(logFile, "utf8").catch(() => ""))
          .split("\n")
          .find((l) => l.startsWith('{"step":"acquire"'));
        if (acquire?.includes('"error"')) throw new Error(`host ${id} acquire failed: ${acquire}`);
        return acquire !== undefined;
      },
      30_000,
      200,
    );
    expect((await this.status(id)).some((l) => l.includes(`:${VM_ID}:`))).toBe(true);
    return child;
  }

  /** Runs fixture "agent" steps on host `id` to completion; one result per step. */
  async agentSteps(
    id: number,
    steps: string[],
  ): Promise<Array<{ step: string; message?: string }>> {
    const h = this.host(id);
    const { output } = await runCommand(
      process.execPath,
      scriptArgs(leaseAgent, h.volume, String(id), VM_ID, ...steps),
      h.daemon.env,
    );
    return output
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { step: string; message?: string });
  }

  /** One acquire attempt of the VM lease by host `id` (released again at once). */
  async tryAcquire(id: number, timeoutMs = 30_000): Promise<number> {
    const h = this.host(id);
    const { code, output } = await runCommand(
      "sanlock",
      [
        "client",
        "command",
        "-r",
        `hosted-engine:${VM_ID}:${h.volume}:${LEASE_OFFSET}`,
        "-c",
        "/bin/true",
      ],
      h.daemon.env,
      timeoutMs,
    );
    // on success the client execs /bin/true and its buffered report is lost
    if (code === 0) return 0;
    const rv = output.match(/acquire done (-?\d+)/)?.[1];
    if (rv === undefined)
      throw new Error(`sanlock client command failed (exit ${code}): ${output}`);
    return Number(rv);
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const c of this.children) await terminate(c, 2000);
    for (const h of this.hosts) await h.daemon?.stop(3000);
    for (const h of this.hosts) await h.view.unmount();
    await removeDir(this.dir);
  }
}

const ACQUIRE_IDLIVE = -243;

describe("a host loses write access to the storage domain (real sanlock through StorageViews)", () => {
  const clusters: Cluster[] = [];
  /** runs `body` on a fresh joined two-host cluster, torn down right after */
  const withCluster = async (name: string, body: (c: Cluster) => Promise<void>) => {
    const c = await Cluster.create(name, 2, clusters);
    try {
      await Promise.all([c.join(1), c.join(2)]);
      await body(c);
    } finally {
      await c.destroy();
    }
  };

  afterAll(async () => {
    for (const c of clusters) await c.destroy();
  });

  it("two hosts join hosted-engine with ids 1 and 2, each through its own view", async () => {
    await withCluster("sv-join", async (c) => {
      expect(await c.status(1)).toEqual([`s hosted-engine:1:${c.host(1).volume}:0`]);
      expect(await c.status(2)).toEqual([`s hosted-engine:2:${c.host(2).volume}:0`]);
      await pollUntil(
        "both hosts to see each other live",
        async () =>
          (await c.stateOf(1, 2)) === "LIVE" &&
          (await c.stateOf(2, 1)) === "LIVE" &&
          (await c.stateOf(2, 2)) === "LIVE",
        20_000,
        250,
      );
    });
  }, 60_000);

  it.concurrent("sanlock fails host 1's lockspace, SIGTERMs the lease holder, and host 2 gets the lease once host 1 is dead", async () => {
    await withCluster("sv-loss", async (c) => {
      const holder = await c.leaseHolder(1);
      expect(await c.tryAcquire(2)).toBe(ACQUIRE_IDLIVE);

      await cutWritesUntilLockspaceDropped(c, holder);
      await expectTakeoverOnlyWhenDead(c);
      // host 2's own delta lease was never disturbed
      expect(await c.status(2)).toEqual([`s hosted-engine:2:${c.host(2).volume}:0`]);
      expect(await c.stateOf(2, 2)).toBe("LIVE");
    });
  }, 150_000);

  it.concurrent("an orphaned (persistent) lease keeps host 1's failed lockspace in place; host 2 still gets the lease once host 1 is dead", async () => {
    await withCluster("sv-orphan", async (c) => {
      // the "agent" acquires with SANLK_RES_PERSISTENT and exits: the lease stays as an orphan
      const agent = await c.leaseHolder(1, ["join", "acquire"]);
      expect(await waitExit(agent, 30_000)).toBe(true);
      expect(await agent.exited).toBe(0);
      expect(
        (await c.status(1)).some((l) => l.includes(`:${VM_ID}:`) && l.endsWith("ORPHAN")),
      ).toBe(true);

      await c.host(1).view.cutWrites();
      await pollUntil(
        "host 1's daemon to fail the lockspace",
        async () => (await grepCount("check_our_lease failed", c.host(1).daemon.logFile)) > 0,
        30_000,
        250,
      );
      // no process to kill: sanlock keeps the failed lockspace ("used by orphan ... blocking
      // lockspace removal") and the orphan with it
      await pollUntil(
        "sanlock to report the orphan blocking the removal",
        async () => (await grepCount("blocking lockspace removal", c.host(1).daemon.logFile)) > 0,
        10_000,
        250,
      );
      const status = await c.status(1);
      expect(status).toContain(`s hosted-engine:1:${c.host(1).volume}:0`);
      expect(status.some((l) => l.endsWith("ORPHAN"))).toBe(true);
      await expectTakeoverOnlyWhenDead(c);
    });
  }, 150_000);

  it("storage back after the holder was killed: host 1 rejoins with a new generation and host 2 can take the lease at once", async () => {
    await withCluster("sv-back", async (c) => {
      const holder = await c.leaseHolder(1);
      await cutWritesUntilLockspaceDropped(c, holder);
      await c.host(1).view.restore();
      await c.join(1);
      await pollUntil(
        "host 2 to see host 1 back with generation 2",
        async () => /^h 1 gen 2 timestamp \d+ LIVE/m.test(await c.gets(2)),
        20_000,
        250,
      );
      // the lease on disk still names host 1 generation 1, which is now stale
      expect(await c.tryAcquire(2)).toBe(0);
    });
  }, 150_000);
  it("storage back with an orphaned lease: host 1's failed lockspace renews again, so nobody can take or adopt the lease", async () => {
    await withCluster("sv-zombie", async (c) => {
      const agent = await c.leaseHolder(1, ["join", "acquire"]);
      expect(await waitExit(agent, 30_000)).toBe(true);
      expect(await agent.exited).toBe(0);
      await c.host(1).view.cutWrites();
      await pollUntil(
        "sanlock to report the orphan blocking the removal",
        async () => (await grepCount("blocking lockspace removal", c.host(1).daemon.logFile)) > 0,
        30_000,
        250,
      );
      await c.host(1).view.restore();
      // the failed lockspace's delta lease is renewed again: host 2 sees host 1 LIVE
      await pollUntil(
        "host 2 to see host 1 live again",
        async () => (await c.stateOf(2, 1)) === "LIVE",
        20_000,
        250,
      );
      expect(await c.tryAcquire(2)).toBe(ACQUIRE_IDLIVE);
      // on host 1, joining answers "already joined" and the orphan can be neither adopted
      // nor released: sanlock refuses both in a failed lockspace (ENOSPC)
      const rejoin = await c.host(1).daemon.addLockspace("hosted-engine", 1, c.host(1).volume);
      expect(rejoin.output).toContain("add_lockspace_timeout done -17");
      const steps = await c.agentSteps(1, ["adopt", "release"]);
      expect(steps.map((r) => r.message ?? "")).toEqual([
        expect.stringContaining("failed: -28"),
        expect.stringContaining("failed: -28"),
      ]);
    });
  }, 150_000);
});

/**
 * Host 1 loses write access: sanlock fails its lockspace and SIGTERMs the lease holder,
 * then removes the lockspace once no process uses it.
 */
async function cutWritesUntilLockspaceDropped(c: Cluster, holder: TrackedChild): Promise<void> {
  await c.host(1).view.cutWrites();
  expect(await waitExit(holder, 30_000)).toBe(true);
  expect(await holder.exited).toBe("SIGTERM");
  await pollUntil(
    "host 1 to drop the lockspace",
    async () => (await c.status(1)).length === 0,
    15_000,
    200,
  );
}

/** The VM lease is host 1's until host 2 sees host 1 DEAD; then host 2 acquires it. */
async function expectTakeoverOnlyWhenDead(c: Cluster): Promise<void> {
  // a blocking acquire (no OWNER_NOWAIT) waits while host 1's delta lease may still renew
  let settled = false;
  const acquiring = c.tryAcquire(2, 150_000).finally(() => {
    settled = true;
  });
  await pollUntil(
    "host 2 to see host 1 FAIL",
    async () => (await c.stateOf(2, 1)) === "FAIL",
    30_000,
    250,
  );
  expect(settled).toBe(false);
  expect(await acquiring).toBe(0);
  expect(await c.stateOf(2, 1)).toBe("DEAD");
}

async function grepCount(pattern: string, file: string): Promise<number> {
  const { output } = await runCommand("grep", ["-c", pattern, file]);
  return Number(output.trim()) || 0;
}
