import { constants } from "node:fs";
import {
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  readlink,
  realpath,
  rename,
  rm,
  stat,
  truncate,
  writeFile,
} from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollUntil, runCommand, signalChild, waitExit } from "../../lab/standins/processes.js";
import { writeHaConf } from "../../src/common/ha-conf.js";
import { readConfArchive, writeConfArchive } from "../../src/storage/archive/conf-archive.js";
import { writeAtStart } from "../../src/storage/archive/volume.js";
import type { StorageInitResult } from "../../src/storage/init.js";
import { AgentHost, engineLeaseRe, FAST, makeStorage, startHealthServer } from "./agent-host.js";

/** Whether process `pid` has `file` (a resolved path) open: read from /proc/<pid>/fd. */
async function hasOpen(pid: number, file: string): Promise<boolean> {
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
  for (const fd of fds) {
    if ((await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "")) === file) return true;
  }
  return false;
}

/** Answers a read already waiting on the FIFO `fifo`; nothing when no reader waits. */
async function answerWaitingRead(fifo: string, text: string): Promise<void> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENXIO") return;
    throw e;
  }
  try {
    await fh.write(text);
  } finally {
    await fh.close();
  }
}

/**
 * One HA host with every component real: sanlock daemon, libvirtd (test driver) that
 * outlives the agent, the broker process and the agent process. The tests run in order.
 */
describe("ovirt-ha-agent on a real host", () => {
  let dir: string;
  let storage: StorageInitResult;
  let host: AgentHost;
  let health: Awaited<ReturnType<typeof startHealthServer>>;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "he-ha-agent-daemon-"));
    health = await startHealthServer();
    storage = await makeStorage(dir);
    host = await AgentHost.create(path.join(dir, "host1"), 1, storage, health.fqdn);
    await host.startBroker();
  }, 120_000);

  afterAll(async () => {
    await host?.destroy();
    await health?.close();
    if (dir && !process.env.KEEP_AGENT_TEST_DIR) await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it("starts the engine VM under its sanlock lease and reaches EngineUp", async () => {
    await host.startAgent();
    const block = await host.waitState("EngineUp", 120_000);
    expect(block.score).toBeGreaterThan(0);
    expect(block.engineStatus).toMatchObject({ vm: "up", health: "good" });
    expect(await host.vmState()).toBe("running");
    // started once, never mistaken for "another host took over" while health catches up
    const log = await host.agentLog();
    expect(log.match(/"msg":"engine VM started"/g)).toHaveLength(1);
    expect(log).not.toContain("engine VM powered off");
    expect(await host.sanlockStatus()).toMatch(engineLeaseRe(storage));
    const vmConf = await readFile(host.paths.vmConf, "utf8");
    expect(vmConf).toContain(`vmId=${storage.vmId}`);
    expect(await readFile(host.paths.sharedHostConfCache, "utf8")).toContain(
      `vmid=${storage.vmId}`,
    );
  }, 180_000);

  it("a broker restart does not restart the VM", async () => {
    const before = await host.agentLog();
    await host.stopBroker();
    // the agent has noticed (one loop at most) before the broker comes back
    await pollUntil(
      "the agent to find its broker gone",
      async () => (await host.agentLog()).slice(before.length).includes("broker unreachable"),
      30_000,
      100,
    );
    await host.startBroker();
    await host.waitState("EngineUp", 60_000);
    // two more loops after the broker is back
    const seen = (await host.ownBlock())!.timestamp;
    await pollUntil(
      "two agent loops",
      async () => ((await host.ownBlock())?.timestamp ?? 0) >= seen + 2,
      30_000,
      200,
    );
    expect(await host.vmState()).toBe("running");
    const after = (await host.agentLog()).slice(before.length);
    expect(after).toContain("broker unreachable");
    expect(after).not.toMatch(
      /engine VM started|engine VM shutdown requested|engine VM powered off/,
    );
  }, 120_000);

  it("SIGTERM publishes AgentStopped and leaves the running VM and its lease alone", async () => {
    expect(await host.stopAgent()).toBe(0);
    const block = await host.ownBlock();
    expect(block).toMatchObject({ stopped: true, score: 0 });
    expect(block?.extra.state).toBe("AgentStopped");
    expect(await host.vmState()).toBe("running");
    // the lease stays with this host as an orphan, and so does the storage domain's
    // lockspace it lives in (sanlock refuses to drop it while the orphan exists); the HA
    // lockspace is left: AgentStopped is on storage
    const status = await host.sanlockStatus();
    expect(status).toMatch(engineLeaseRe(storage, ".* ORPHAN$"));
    expect(status).toMatch(new RegExp(`^s ${storage.sdUUID}:1:`, "m"));
    expect(status).not.toMatch(/^s hosted-engine:1:/m);
  }, 120_000);

  it("a restarted agent adopts the running VM and its lease without touching it", async () => {
    const before = await host.agentLog();
    await host.startAgent();
    await host.waitState("EngineUp", 90_000);
    expect(await host.vmState()).toBe("running");
    const status = await host.sanlockStatus();
    expect(status).toMatch(engineLeaseRe(storage));
    expect(status).not.toMatch(/ORPHAN/);
    const after = (await host.agentLog()).slice(before.length);
    expect(after).toContain("engine VM already running here");
    expect(after).not.toMatch(
      /engine VM started|engine VM shutdown requested|engine VM powered off/,
    );
  }, 120_000);

  it("global maintenance: GlobalMaintenance with the VM untouched, then back to EngineUp", async () => {
    const before = (await host.agentLog()).length;
    await host.client.setGlobalMaintenance(true);
    const block = await host.waitState("GlobalMaintenance", 30_000);
    expect(block.score).toBeGreaterThan(0);
    await host.client.setGlobalMaintenance(false);
    await host.waitState("EngineUp", 60_000);
    expect(await host.vmState()).toBe("running");
    const during = (await host.agentLog()).slice(before);
    expect(during).toContain("GlobalMaintenance -> ReinitializeFSM");
    expect(during).not.toMatch(/engine VM (started|shutdown requested|powered off)/);
  }, 120_000);

  it("a corrupt archive and OVF_STORE keep the last good vm.conf", async () => {
    const good = await readFile(host.paths.vmConf, "utf8");
    const archive = await readConfArchive(storage.volumes.conf.path);
    await writeAtStart(storage.volumes.conf.path, Buffer.alloc(20480, 0x41));
    await writeAtStart(storage.volumes.ovfStore!.path, Buffer.alloc(20480, 0x42));
    try {
      await pollUntil(
        "the agent to notice the broken archive",
        async () => /cannot read the configuration archive/.test(await host.agentLog()),
        30_000,
        200,
      );
      await pollUntil(
        "the broken OVF to be logged",
        async () => /OVF_STORE/.test(await host.agentLog()),
        30_000,
        200,
      );
      expect(await readFile(host.paths.vmConf, "utf8")).toBe(good);
      expect((await host.ownBlock())?.extra.state).toBe("EngineUp");
    } finally {
      await writeConfArchive(storage.volumes.conf.path, archive.members);
    }
  }, 120_000);

  /**
   * While `fault` holds, the agent decides nothing on stale data: it says so, the broker's
   * view ages past every liveness the agent knew plus two loops, the VM runs on and no
   * transition or VM action is logged (`during` adds the fault's own checks). After
   * `restore`, the agent publishes again and is EngineUp.
   */
  async function frozenWhile(
    fault: () => Promise<void>,
    restore: () => Promise<void>,
    during: () => Promise<void> = async () => {},
  ): Promise<void> {
    const before = (await host.agentLog()).length;
    await fault();
    try {
      await pollUntil(
        "the agent to stop deciding",
        async () => (await host.agentLog()).slice(before).includes("no decision on stale data"),
        30_000,
        200,
      );
      // long enough for every liveness the agent knew to expire and two loops to run,
      // by the broker's own clock: the age of its last good read
      await pollUntil(
        "the broker's view to be older than host_alive_timeout + 2 loops",
        async () =>
          ((await host.client.status()).storage.last_read_age_seconds ?? 0) >=
          FAST.host_alive_timeout + 2 * FAST.loop_delay,
        30_000,
        200,
      );
      expect(await host.vmState()).toBe("running");
      expect((await host.agentLog()).slice(before)).not.toMatch(
        /"msg":"state |engine VM (started|shutdown requested|powered off)/,
      );
      await during();
    } finally {
      await restore();
    }
    const seen = (await host.ownBlock())?.timestamp ?? 0;
    await pollUntil(
      "decisions again",
      async () => ((await host.ownBlock())?.timestamp ?? 0) > seen,
      30_000,
      200,
    );
    expect((await host.ownBlock())?.extra.state).toBe("EngineUp");
  }

  it("a storage failure freezes decisions: nothing is decided on stale data", async () => {
    const metadata = storage.volumes.metadata.path;
    await frozenWhile(
      () => rename(metadata, `${metadata}.away`),
      () => rename(`${metadata}.away`, metadata),
    );
  }, 90_000);

  it("an emptied whiteboard (volume truncated to 0) freezes decisions and is never extended", async () => {
    const metadata = storage.volumes.metadata.path;
    const saved = await readFile(metadata);
    await frozenWhile(
      async () => {
        await truncate(metadata, 0);
        await pollUntil(
          "the broker to name the short volume",
          async () => (await host.client.status()).storage.volume_short !== null,
          30_000,
          200,
        );
      },
      () => writeFile(metadata, saved),
      async () => expect((await stat(metadata)).size).toBe(0),
    );
  }, 90_000);

  it("a hung libvirtd: VM status unknown freezes decisions, the VM is left alone", async () => {
    const pid = host.libvirtd.pid!;
    const before = (await host.agentLog()).length;
    process.kill(pid, "SIGSTOP");
    try {
      await host.waitState("UnknownLocalVmState", 60_000);
    } finally {
      process.kill(pid, "SIGCONT");
    }
    await host.waitState("EngineUp", 60_000);
    expect(await host.vmState()).toBe("running");
    const during = (await host.agentLog()).slice(before);
    expect(during).not.toMatch(/engine VM (started|shutdown requested|powered off)/);
  }, 150_000);

  it("--cleanup refuses while the agent's block does not say stopped", async () => {
    const cleaner = await host.startAgentProcess(["--cleanup"]);
    expect(await cleaner.exited).toBe(1);
  }, 60_000);

  it("--cleanup erases the segment once the agent has stopped", async () => {
    expect(await host.stopAgent()).toBe(0);
    expect((await host.ownBlock())?.stopped).toBe(true);
    const cleaner = await host.startAgentProcess(["--cleanup"]);
    expect(await cleaner.exited).toBe(0);
    expect((await host.client.getStats()).has(1)).toBe(false);
  }, 90_000);

  it("--cleanup --force erases the segment of an agent that died without saying stopped", async () => {
    await host.startAgent();
    await host.waitState(/.+/, 60_000);
    const dead = host.agent!;
    signalChild(dead, "SIGKILL");
    expect(await waitExit(dead, 10_000)).toBe(true);
    host.agent = null;
    expect((await host.ownBlock())?.stopped).toBe(false);
    const refused = await host.startAgentProcess(["--cleanup"]);
    expect(await refused.exited).toBe(1);
    expect((await host.client.getStats()).has(1)).toBe(true);
    const forced = await host.startAgentProcess(["--cleanup", "--force"]);
    expect(await forced.exited).toBe(0);
    expect((await host.client.getStats()).has(1)).toBe(false);
  }, 120_000);

  it("waits while local maintenance is set, before touching shared storage", async () => {
    // ha.conf is a FIFO: each read by the agent waits for the test to answer it, so the
    // test counts the agent's polls instead of sleeping. An agent that ignored the flag
    // would read ha.conf once per loop, joining the lockspace and publishing between
    // two reads; one waiting polls it every local_maintenance_poll.
    const haConf = host.paths.haConf;
    const maintenance = "local_maintenance=True\nlocal_maintenance_manual=True\n";
    await rm(haConf, { force: true });
    await mkdir(path.dirname(haConf), { recursive: true });
    const made = await runCommand("mkfifo", [haConf]);
    expect(made.code).toBe(0);
    const before = (await host.agentLog()).length;
    await host.startAgent();
    const pid = host.agent!.pid;
    const fifoPath = await realpath(haConf);
    // one poll answered: the write waits for the agent to open ha.conf, then the test
    // waits for it to close it again, so the next answer goes to the next poll (a write
    // racing a reader that is just closing would find no reader: EPIPE)
    const answerPoll = async (text: string) => {
      await writeFile(haConf, text);
      await pollUntil(
        "the agent closing ha.conf after its read",
        async () => !(await hasOpen(pid, fifoPath)),
        10_000,
        10,
      );
    };
    // the first read, then the agent says it waits
    await answerPoll(maintenance);
    await pollUntil(
      "the local maintenance wait",
      async () => (await host.agentLog()).slice(before).includes("local maintenance set"),
      30_000,
      100,
    );
    // three more polls answered "maintenance": nothing published, no lockspace joined
    for (let i = 0; i < 3; i++) await answerPoll(maintenance);
    expect((await host.client.getStats()).has(1)).toBe(false);
    expect((await host.agentLog()).slice(before)).not.toContain("sanlock lockspace joined");
    // maintenance off: a regular ha.conf in its place, and a read already waiting on the
    // FIFO (if any) answered the same
    const fifo = `${haConf}.fifo`;
    await rename(haConf, fifo);
    await writeHaConf(haConf, {
      localMaintenance: false,
      localMaintenanceManual: false,
      other: new Map(),
    });
    await answerWaitingRead(fifo, "local_maintenance=False\nlocal_maintenance_manual=False\n");
    await rm(fifo, { force: true });
    await host.waitState("EngineUp", 60_000);
    expect(await host.vmState()).toBe("running");
  }, 90_000);
});
