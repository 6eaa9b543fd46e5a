/**
 * One lock for Python and TypeScript hosts. A host of the Python services guards the
 * engine VM with oVirt's lease (VDSM joins lockspace <sdUUID> on dom_md/ids; libvirt's
 * lock driver takes the engine disk's volume lease for qemu). Here that host is played by
 * python3-sanlock (lab/standins/python_host.py: the sanlock project's own client, not our
 * code) against its own real sanlock daemon, and our agent runs beside it on the same
 * storage domain. Each must be refused while the other holds the lease.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollUntil } from "../../lab/standins/processes.js";
import { type LeaseRef, PythonHost } from "../../lab/standins/python-host.js";
import type { StorageInitResult } from "../../src/storage/init.js";
import { runHeHa } from "../cli/harness.js";
import { removeDir, tempDir } from "../support/temp.js";
import { AgentHost, makeStorage, smallVmConf, startHealthServer } from "./agent-host.js";

interface Setup {
  dir: string;
  storage: StorageInitResult;
  lease: LeaseRef;
  ids: string;
  ours: AgentHost;
  python: PythonHost;
  destroy(): Promise<void>;
}

/** our host 1 and a Python host 2 on one fresh domain made by `storage init` */
async function setup(name: string, hypervisor: "test" | "qemu"): Promise<Setup> {
  const dir = await tempDir(name);
  const health = await startHealthServer();
  const storage = await makeStorage(
    dir,
    hypervisor === "qemu" ? smallVmConf(crypto.randomUUID()) : undefined,
  );
  const ours = await AgentHost.create(path.join(dir, "host1"), 1, storage, health.fqdn, {
    hypervisor,
  });
  await ours.startBroker();
  const python = await PythonHost.start(path.join(dir, "python-host"), "python-host");
  const d = storage.engineDisk;
  return {
    dir,
    storage,
    ours,
    python,
    ids: path.join(storage.domain, "dom_md", "ids"),
    lease: {
      lockspace: storage.sdUUID,
      resource: d.volumeUUID,
      path: d.leasePath,
      offset: 0,
    },
    async destroy() {
      await ours.destroy();
      await python.stop();
      await health.close();
      if (!process.env.KEEP_AGENT_TEST_DIR) await removeDir(dir);
    },
  };
}

/** our agent's start attempts refused as storage locked: the whiteboard and the log say so */
async function expectRefusedAsLocked(s: Setup, refusal: RegExp): Promise<void> {
  await pollUntil(
    "our agent to try a start and be refused",
    async () => refusal.test(await s.ours.agentLog()),
    90_000,
    200,
  );
  await pollUntil(
    "our block to report the lock",
    async () => {
      const b = await s.ours.ownBlock();
      return (
        b?.engineStatus?.vm === "down" &&
        /Storage of VM is locked/.test(b.engineStatus.reason ?? "")
      );
    },
    60_000,
    200,
  );
  // every refusal is a counted start attempt: more than 3 within the retry window and
  // the score drops to 0 (behaviour.md §4)
  await pollUntil(
    "the retry penalty to take the score to 0",
    async () => (await s.ours.ownBlock())?.score === 0,
    90_000,
    200,
  );
  const log = await s.ours.agentLog();
  expect((log.match(/state EngineStart -> EngineDown/g) ?? []).length).toBeGreaterThan(3);
  expect(log).not.toContain('"msg":"engine VM started"');
  expect(await s.ours.vmState()).not.toBe("running");
}

describe("a Python host holds the engine VM's lease: our agent (holder agent) is refused", () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setup("python-host", "test");
  }, 120_000);
  afterAll(async () => {
    await s?.destroy();
  }, 120_000);

  it("the Python host joins <sdUUID> with id 2 and takes the engine disk's volume lease", async () => {
    expect(await s.python.join(s.storage.sdUUID, 2, s.ids)).toBe("ok join");
    expect(await s.python.acquire(s.lease)).toBe("ok acquire");
    const status = await s.python.sanlock.client(["client", "status"]);
    expect(status.output).toContain(`r ${s.lease.lockspace}:${s.lease.resource}:`);
    expect(status.output).toContain(` p ${s.python.pid}`);
  }, 60_000);

  it("our agent joins both lockspaces, tries to start, and is refused: storage locked, counted", async () => {
    await s.ours.startAgent();
    await expectRefusedAsLocked(s, /Storage of VM is locked/);
    const status = await s.ours.sanlockStatus();
    expect(status).toMatch(/^s hosted-engine:1:/m);
    expect(status).toMatch(new RegExp(`^s ${s.storage.sdUUID}:1:`, "m"));
    // nothing of ours holds the lease; sanlock names the Python host as its owner
    expect(status).not.toMatch(/^r /m);
    expect(await s.python.owners(s.lease)).toMatch(/^ok owners 2:\d+$/);
  }, 240_000);

  it("he-ha lease status on our host names oVirt's lease and the Python host as its owner", async () => {
    const r = await runHeHa(s.ours.root, ["lease", "status", "--json"], s.ours.env);
    expect(r.code, r.stderr).toBe(0);
    const st = JSON.parse(r.stdout);
    expect(st.guard).toMatchObject({
      lockspace: s.storage.sdUUID,
      resource: s.lease.resource,
      path: s.lease.path,
      offset: 0,
      kind: "volume",
    });
    expect(st.lockspaces).toEqual([
      expect.objectContaining({ name: "hosted-engine", joined: true, hostId: 1 }),
      expect.objectContaining({ name: s.storage.sdUUID, joined: true, hostId: 1 }),
    ]);
    expect(st.owner).toMatchObject({ hostId: 2 });
    expect(st.heldHere).toEqual([]);
    const text = await runHeHa(s.ours.root, ["lease", "status"], s.ours.env);
    expect(text.stdout).toContain(
      `Engine VM guarded by: ${s.storage.sdUUID}:${s.lease.resource}\n`,
    );
    expect(text.stdout).toMatch(/Owner on storage: +host 2 \(generation \d+\)\n/);
  }, 60_000);

  it("once the Python host lets go, our agent starts the engine; then the Python host is refused", async () => {
    expect(await s.python.release(s.lease)).toBe("ok release");
    await s.ours.waitState("EngineUp", 120_000);
    expect(await s.ours.vmState()).toBe("running");
    const holder = new RegExp(`^r ${s.lease.lockspace}:${s.lease.resource}:\\S+ p (\\d+)$`, "m");
    expect(await s.ours.sanlockStatus()).toMatch(holder);
    const refused = await s.python.acquire(s.lease);
    // -243 SANLK_ACQUIRE_IDLIVE / -244 OWNED / -11 EAGAIN: another live host owns it
    expect(refused).toMatch(/^err acquire -?(243|244|245|11) /);
    expect(await s.python.owners(s.lease)).toMatch(/^ok owners 1:\d+$/);
    expect(await s.ours.vmState()).toBe("running");
  }, 240_000);
});

describe("a Python host holds the engine VM's lease: libvirt's lock manager refuses our start (real QEMU)", () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setup("python-host-qemu", "qemu");
  }, 120_000);
  afterAll(async () => {
    await s?.destroy();
  }, 120_000);

  it("our agent (holder libvirt, from qemu.conf) is refused by libvirt: storage locked, counted", async () => {
    expect(await s.python.join(s.storage.sdUUID, 2, s.ids)).toBe("ok join");
    expect(await s.python.acquire(s.lease)).toBe("ok acquire");
    await s.ours.startAgent();
    await expectRefusedAsLocked(s, /Failed to acquire lock/);
    expect(await s.ours.agentLog()).toContain(
      "engine VM lease: taken by libvirt's sanlock lock manager for qemu",
    );
  }, 300_000);

  it("once the Python host lets go, libvirt takes the lease for our qemu; the Python host is refused", async () => {
    expect(await s.python.release(s.lease)).toBe("ok release");
    await s.ours.waitState("EngineUp", 180_000);
    const m = new RegExp(`^r ${s.lease.lockspace}:${s.lease.resource}:\\S+ p (\\d+)$`, "m").exec(
      await s.ours.sanlockStatus(),
    );
    expect(m).not.toBeNull();
    const { readFile } = await import("node:fs/promises");
    expect((await readFile(`/proc/${m![1]}/comm`, "utf8")).trim()).toMatch(/^qemu/);
    expect(await s.python.acquire(s.lease)).toMatch(/^err acquire -?(243|244|245|11) /);
  }, 300_000);
});
