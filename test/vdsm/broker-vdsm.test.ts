import { appendFile, mkdtemp, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { productArgs } from "../../lab/children.js";
import { pollFor as until } from "../../lab/standins/processes.js";
import { installVdsmPki, makeTestPki } from "../../lab/standins/vdsm/certs.js";
import { FakeVdsm } from "../../lab/standins/vdsm/fake-vdsm.js";
import type { CpuLoadMonitor } from "../../src/broker/monitors/cpu-load.js";
import {
  decideEngineStatus,
  MIGRATED_AWAY_REASON,
  STORAGE_LOCKED_REASON,
  type TrackedVm,
  type VmObservation,
} from "../../src/broker/monitors/engine-status.js";
import { createMonitor } from "../../src/broker/monitors/registry.js";
import {
  gateNoEngineLoad,
  INITIAL_CPU_GATE,
  UNREAL_CPU_GRACE_MS,
  vdsmCpuObservation,
} from "../../src/broker/monitors/vdsm-cpu.js";
import { bridgeUpOf, domainValidOf, memFreeOf } from "../../src/broker/monitors/vdsm-host.js";
import { isVdsmLockFailure } from "../../src/broker/monitors/vdsm-status.js";
import { silentLogger } from "../../src/common/log.js";
import { haPaths } from "../../src/common/paths.js";
import { VdsmApi } from "../../src/vdsm/api.js";
import { VdsmClient } from "../../src/vdsm/json-rpc-client.js";
import { vdsmVmStatsSource } from "../../src/vdsm/vm-stats-source.js";
import { makeDomain, makeHostRoot, SD_UUID } from "../broker/broker-harness.js";
import { runHeHa } from "../cli/harness.js";
import { type BrokerProcess, startBrokerProcess } from "../support/broker-process.js";
import { runTool } from "../support/run.js";
import { removeDir, tempDir } from "../support/temp.js";

const VM = "7d3c1f00-0000-4000-8000-0000000000e1"; // the harness's vmid

const vdsmObs = (status: string, exitMessage?: string, exitReason?: number): VmObservation => ({
  kind: "vdsm",
  status,
  exitMessage,
  exitReason,
});

describe("engine-health over VDSM's VM.getStats: the original's mapping (pure)", () => {
  const decide = (tracked: TrackedVm, obs: VmObservation, healthOk = true) =>
    decideEngineStatus(tracked, obs, undefined, healthOk);

  it("Up: the health page decides good or bad", () => {
    expect(decide("down", vdsmObs("Up")).status).toEqual({
      vm: "up",
      health: "good",
      detail: "Up",
    });
    expect(decide("up", vdsmObs("Up"), false).status).toEqual({
      vm: "up",
      health: "bad",
      detail: "Up",
      reason: "failed liveliness check",
    });
    // Powering down, Migration Source count as running (the page is asked)
    expect(decide("up", vdsmObs("Powering down")).status.health).toBe("good");
    expect(decide("up", vdsmObs("Migration Source")).status.vm).toBe("up");
  });

  it("Paused, WaitForLaunch, Restoring state, Powering up: up but bad, whatever the page says", () => {
    for (const s of ["Paused", "WaitForLaunch", "Restoring state", "Powering up"]) {
      expect(decide("down", vdsmObs(s)).status).toEqual({
        vm: "up",
        health: "bad",
        detail: s,
        reason: "bad vm status",
      });
    }
  });

  it("Down (VDSM's stale entry of a VM that died): down_unexpected after up, down when it was down", () => {
    const died = vdsmObs("Down", "Lost connection with qemu process", 2);
    expect(decide("up", died)).toEqual({
      tracked: "down_unexpected",
      status: { vm: "down_unexpected", health: "bad", detail: "Down", reason: "bad vm status" },
    });
    expect(decide("down", died).status.vm).toBe("down");
    expect(decide("up", vdsmObs("Migration Destination")).status.vm).toBe("down_unexpected");
  });

  it("Down on a refused lease or after a finished migration: plain down with the original's reason", () => {
    for (const m of [
      "resource busy: Failed to acquire lock: Lease is held by another host",
      "internal error: Failed to acquire lock: error -243",
      "Is another process using the image [/rhev/data-center/x/y]?",
    ]) {
      expect(isVdsmLockFailure(m)).toBe(true);
      expect(decide("up", vdsmObs("Down", m, 1)).status).toEqual({
        vm: "down",
        health: "bad",
        detail: "Down",
        reason: STORAGE_LOCKED_REASON,
      });
    }
    // the original matches the message's end: a lock word inside another error is not it
    expect(isVdsmLockFailure("Failed to acquire lock: error -243 (retrying)")).toBe(false);
    expect(decide("up", vdsmObs("Down", "Migration succeeded", 4))).toEqual({
      tracked: "down",
      status: { vm: "down", health: "bad", detail: "Down", reason: MIGRATED_AWAY_REASON },
    });
  });

  it("no such VM: down_missing after up; another VDSM error: unknown (failed to getVmStats)", () => {
    expect(decide("up", { kind: "missing" }).status).toEqual({
      vm: "down_missing",
      health: "bad",
      detail: "unknown",
      reason: "vm not running on this host",
    });
    expect(decide("up", { kind: "unavailable" })).toEqual({
      tracked: "up",
      status: {
        vm: "unknown",
        health: "unknown",
        detail: "unknown",
        reason: "failed to getVmStats",
      },
    });
  });
});

/**
 * A real ovirt-ha-broker process on a host carrying VDSM's key and certificate, its
 * engine-health monitor started through the broker's API, VDSM played by the protocol
 * test server (TLS with client certificates, STOMP, JSON-RPC checked against the schema
 * expectations), the engine's health page by a local HTTP server.
 */
describe("ovirt-ha-broker on a VDSM host watches the engine VM through VDSM", () => {
  let dir: string;
  let vdsm: FakeVdsm;
  let broker: BrokerProcess;
  let health: http.Server;
  let healthStatus = 200;
  let monitorId: string;

  const value = async () => {
    const v = await broker.client.statusMonitor(monitorId);
    return v === "None" ? null : (JSON.parse(v) as Record<string, string>);
  };
  /** waits until engine-health reports `want` (its fields) */
  const reports = (want: Record<string, string>) =>
    until(
      `engine-health ${JSON.stringify(want)}`,
      async () => {
        const v = await value();
        return v !== null && Object.entries(want).every(([k, x]) => v[k] === x) ? v : undefined;
      },
      30_000,
    );

  beforeAll(async () => {
    dir = await tempDir("broker-vdsm");
    const pki = await makeTestPki(path.join(dir, "pki"));
    vdsm = new FakeVdsm({ ca: pki.ca, key: pki.server.key, cert: pki.server.cert });
    await vdsm.start();
    health = http.createServer((_req, res) => {
      res.statusCode = healthStatus;
      res.end(healthStatus === 200 ? "DB Up!Welcome to Health Status!" : "DB Down!");
    });
    await new Promise<void>((r) => health.listen(0, "127.0.0.1", r));
    const domain = await makeDomain(path.join(dir, "sd"), { lockspace: false });
    const root = await makeHostRoot(dir, 1, domain, {
      extraConf: { vdsm_port: String(vdsm.port) },
    });
    await appendFile(haPaths(root).agentConf, "monitor_interval=0.2\n");
    await installVdsmPki(root, pki);
    broker = await startBrokerProcess(root, {
      env: {
        ...process.env,
        SANLOCK_RUN_DIR: path.join(dir, "no-sanlock"),
      },
    });
    const url = `http://127.0.0.1:${(health.address() as AddressInfo).port}/ovirt-engine/services/health`;
    monitorId = await broker.client.startMonitor("engine-health", {
      vm_uuid: VM,
      health_url: url,
    });
  }, 120_000);

  afterAll(async () => {
    await broker?.stop();
    await vdsm?.stop();
    health?.closeAllConnections();
    await new Promise((r) => health?.close(r));
    if (dir) await removeDir(dir);
  });

  it("logs the choice at start: VDSM, because the host carries VDSM's key and certificate", async () => {
    const log = await broker.log();
    expect(log).toContain('"vm_backend":"vdsm"');
    expect(log).toContain("engine VM watched through VDSM (VM.getStats on localhost)");
  });

  it("a VM VDSM does not know: down, not running on this host", async () => {
    expect(await reports({ vm: "down" })).toEqual({
      vm: "down",
      health: "bad",
      detail: "unknown",
      reason: "vm not running on this host",
    });
  });

  it("VM Up in VDSM: up/good with the health page answering, up/bad when it fails", async () => {
    vdsm.vms.set(VM, { status: "Up" });
    expect(await reports({ vm: "up", health: "good" })).toEqual({
      vm: "up",
      health: "good",
      detail: "Up",
    });
    healthStatus = 500;
    expect(await reports({ health: "bad" })).toEqual({
      vm: "up",
      health: "bad",
      detail: "Up",
      reason: "failed liveliness check",
    });
    healthStatus = 200;
    await reports({ health: "good" });
  });

  it("he-ha vm status (the built CLI) shows the broker's VDSM-fed engine-health value", async () => {
    const r = await runHeHa(broker.root, ["vm", "status", "--json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      host_id: 1,
      here: { vm: "up", health: "good", detail: "Up" },
      source: "engine-health monitor",
    });
  });

  it("the VM dies under VDSM (a stale Down entry): down_unexpected, as the original reports it", async () => {
    vdsm.vms.set(VM, {
      status: "Down",
      exitMessage: "Lost connection with qemu process",
      exitReason: 2,
    });
    expect(await reports({ vm: "down_unexpected" })).toEqual({
      vm: "down_unexpected",
      health: "bad",
      detail: "Down",
      reason: "bad vm status",
    });
  });

  it("VDSM answers an error other than 'no such VM': unknown, failed to getVmStats", async () => {
    vdsm.failing.set("VM.getStats", { code: 100, message: "General Exception" });
    expect(await reports({ vm: "unknown" })).toEqual({
      vm: "unknown",
      health: "unknown",
      detail: "unknown",
      reason: "failed to getVmStats",
    });
    vdsm.failing.clear();
    await reports({ vm: "down_unexpected" });
  });

  it("VDSM unreachable keeps the last value (as the original); after VDSM restarts the broker reconnects and reads again", async () => {
    vdsm.vms.set(VM, { status: "Up" });
    await reports({ vm: "up", health: "good" });
    const connectionsBefore = vdsm.connections;
    await vdsm.stop();
    await until(
      "the broker logging that VDSM is unreachable",
      async () =>
        (await broker.log()).includes("cannot reach VDSM: value kept") ? true : undefined,
      30_000,
    );
    expect(await value()).toEqual({ vm: "up", health: "good", detail: "Up" });
    // VDSM comes back on the same port; the VM died meanwhile (VDSM recovered it as Down)
    vdsm.vms.set(VM, { status: "Down", exitMessage: "Lost connection with qemu process" });
    await vdsm.start();
    expect(await reports({ vm: "down_unexpected" })).toMatchObject({ detail: "Down" });
    expect(vdsm.connections).toBeGreaterThan(connectionsBefore);
    // a fresh connection is checked with Host.ping2 first, as connect_vdsm_json_rpc does
    const last = vdsm.callsOn(vdsm.connections);
    expect(last[0]?.method).toBe("Host.ping2");
    // then the engine VM's stats, and the doctor's once-per-storage-cycle reachability
    // check (Host.ping2 again); nothing else
    const methods = new Set(last.slice(1).map((c) => c.method));
    expect(methods.has("VM.getStats")).toBe(true);
    expect([...methods].filter((m) => m !== "VM.getStats" && m !== "Host.ping2")).toEqual([]);
  });

  it("a refused lease (VDSM's Down with libvirt's lock error): down, storage locked", async () => {
    vdsm.vms.set(VM, {
      status: "Down",
      exitMessage: "resource busy: Failed to acquire lock: Lease is held by another host",
      exitReason: 1,
    });
    expect(await reports({ vm: "down" })).toEqual({
      vm: "down",
      health: "bad",
      detail: "Down",
      reason: STORAGE_LOCKED_REASON,
    });
  });

  it("mem-free and mgmt-bridge from VDSM's Host.getStats, storage-domain from its domain monitor, as the original", async () => {
    const value = async (id: string) => broker.client.statusMonitor(id);
    const changes = (id: string, want: string) =>
      until(`${id} = ${want}`, async () => ((await value(id)) === want ? true : undefined));
    vdsm.memFree = 3072;
    vdsm.network = { ovirtmgmt: { state: "up" } };
    const mem = await broker.client.startMonitor("mem-free", {});
    const bridge = await broker.client.startMonitor("mgmt-bridge", { bridge_name: "ovirtmgmt" });
    const sd = await broker.client.startMonitor("storage-domain", { sd_uuid: SD_UUID });
    await changes(mem, "3072");
    await changes(bridge, "True");
    // VDSM does not monitor the domain yet: not valid
    await changes(sd, "False");
    vdsm.monitored.set(SD_UUID, 1);
    await changes(sd, "True");
    vdsm.domainDelay = "12.5"; // slower than the original's STORAGE_DELAY (10 s)
    await changes(sd, "False");
    vdsm.network = {}; // bridge gone
    await changes(bridge, "False");
    vdsm.network = { ovirtmgmt: { state: "up" } };
    await changes(bridge, "True");
    vdsm.network = { ovirtmgmt: { state: "down" } };
    await changes(bridge, "False");
    vdsm.network = undefined; // no network in VDSM's answer: None, as the original
    await changes(bridge, "None");
    vdsm.failing.set("Host.getStats", { code: 100, message: "General Exception" });
    await changes(mem, "None");
    vdsm.failing.clear();
    await changes(mem, "3072");
  });

  it("every call the broker made fits VDSM's schema: Host.ping2, VM.getStats(vmID), Host.getStats, Host.getStorageRepoStats([sdUUID]), StorageDomain.getInfo(sdUUID) for the sector size", () => {
    expect(vdsm.violations).toEqual([]);
    expect(new Set(vdsm.methods())).toEqual(
      new Set([
        "Host.ping2",
        "VM.getStats",
        "Host.getStats",
        "Host.getStorageRepoStats",
        // the domain's block_size and alignment, as the original's storage_backends.py
        "StorageDomain.getInfo",
      ]),
    );
    for (const c of vdsm.calls.filter((x) => x.method === "VM.getStats"))
      expect(c.params).toEqual({ vmID: VM });
    for (const c of vdsm.calls.filter((x) => x.method === "Host.getStorageRepoStats"))
      expect(c.params).toEqual({ domains: [SD_UUID] });
  });
});

describe("host monitors over VDSM's answers (pure)", () => {
  it("memFree as VDSM counts it; an answer without it is an error, not a value", () => {
    expect(memFreeOf({ memFree: 3072 })).toBe(3072);
    expect(() => memFreeOf({ cpuLoad: "0.1" })).toThrow(/Host.getStats has no memFree/);
  });

  it("the bridge: up only with state 'up'; missing or another state: false; no network: null", () => {
    expect(bridgeUpOf({ network: { ovirtmgmt: { state: "up" } } }, "ovirtmgmt")).toBe(true);
    expect(bridgeUpOf({ network: { ovirtmgmt: { state: "down" } } }, "ovirtmgmt")).toBe(false);
    expect(bridgeUpOf({ network: { ovirtmgmt: {} } }, "ovirtmgmt")).toBe(false);
    expect(bridgeUpOf({ network: {} }, "ovirtmgmt")).toBe(false);
    expect(bridgeUpOf({ memFree: 1 }, "ovirtmgmt")).toBeNull();
  });

  it("the domain: valid with a delay up to the limit; a missing entry or a bad delay is not", () => {
    const sd = "5b2a1c2e-0000-4000-8000-00000000a001";
    expect(domainValidOf({ [sd]: { valid: true, delay: "10" } }, sd, 10)).toBe(true);
    expect(domainValidOf({ [sd]: { valid: true, delay: "10.01" } }, sd, 10)).toBe(false);
    expect(domainValidOf({ [sd]: { valid: false, delay: "0.1" } }, sd, 10)).toBe(false);
    expect(domainValidOf({ [sd]: { valid: true, delay: "x" } }, sd, 10)).toBe(false);
    expect(domainValidOf({}, sd, 10)).toBe(false);
  });
});

describe("ovirt-ha-broker with a vm_backend it does not know", () => {
  it("refuses to start, naming the setting and the values it takes", async () => {
    const dir = await tempDir("broker-bad-backend");
    try {
      const domain = await makeDomain(path.join(dir, "sd"), { lockspace: false });
      const root = await makeHostRoot(dir, 1, domain, { extraConf: { vm_backend: "xen" } });
      const r = await runTool(process.execPath, productArgs("ovirt-ha-broker"), {
        env: { ...process.env, HE_HA_ROOT: root },
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        'ovirt-ha-broker: vm_backend="xen" in hosted-engine.conf is not one of auto, vdsm, libvirt',
      );
    } finally {
      await removeDir(dir);
    }
  });
});

describe("cpu-load-no-engine over VDSM's VM.getStats: the original's share and its 300 s gate (pure)", () => {
  it("the share is (cpuUser + cpuSys) / CPUs / 100; measured per cpuActual, else cpuUsage", () => {
    expect(vdsmCpuObservation({ cpuUser: "40.5", cpuSys: "9.5", cpuActual: true }, 2)).toEqual({
      kind: "present",
      share: 0.25,
      real: true,
    });
    expect(vdsmCpuObservation({ cpuUser: "40", cpuSys: "10", cpuUsage: "0.00" }, 2).real).toBe(
      false,
    );
    expect(vdsmCpuObservation({ cpuUser: "40", cpuSys: "10", cpuUsage: "1234" }, 2).real).toBe(
      true,
    );
    // a Down entry without cpu figures: here, nothing measured
    expect(vdsmCpuObservation({}, 2)).toEqual({ kind: "present", share: 0, real: false });
  });

  it("unmeasured figures keep the previous load for 300 s, then the load is taken anyway", () => {
    const here = { kind: "present", share: 0.1, real: false } as const;
    let g = gateNoEngineLoad(INITIAL_CPU_GATE, 0.4, here, 1000);
    expect(g).toEqual({ load: 0, latestRealMs: 1000 });
    g = gateNoEngineLoad(g, 0.4, here, 1000 + UNREAL_CPU_GRACE_MS - 1);
    expect(g.load).toBe(0);
    g = gateNoEngineLoad(g, 0.4, here, 1000 + UNREAL_CPU_GRACE_MS);
    expect(g).toEqual({ load: 0.4, latestRealMs: 1000 });
    expect(gateNoEngineLoad(g, 0.3, { kind: "absent" }, 5)).toEqual({ load: 0.3, latestRealMs: 5 });
  });
});

/**
 * The cpu-load-no-engine monitor in process, its VM share from the protocol test server
 * and the host's ticks from a /proc/stat file the test writes (two samples, 0.4 s apart,
 * then no more for an hour): total busy ratio 0.5 on 2 CPUs.
 */
describe("cpu-load-no-engine on a VDSM host (protocol test server)", () => {
  const STAT_A =
    "cpu 100 0 100 800 0 0 0 0 0 0\ncpu0 50 0 50 400 0 0 0 0 0 0\ncpu1 50 0 50 400 0 0 0 0 0 0\n";
  const STAT_B =
    "cpu 350 0 350 1300 0 0 0 0 0 0\ncpu0 175 0 175 650 0 0 0 0 0 0\ncpu1 175 0 175 650 0 0 0 0 0 0\n";
  let dir: string;
  let vdsm: FakeVdsm;
  let pki: Awaited<ReturnType<typeof makeTestPki>>;
  const monitors: CpuLoadMonitor[] = [];
  const sources: ReturnType<typeof vdsmVmStatsSource>[] = [];

  beforeAll(async () => {
    dir = await tempDir("cpu-vdsm");
    pki = await makeTestPki(path.join(dir, "pki"));
    vdsm = new FakeVdsm({ ca: pki.ca, key: pki.server.key, cert: pki.server.cert });
    await vdsm.start();
  }, 60_000);

  afterEach(async () => {
    await Promise.all(monitors.splice(0).map((m) => m.stop()));
    for (const s of sources.splice(0)) s.close();
    vdsm.vms.clear();
  });

  afterAll(async () => {
    await vdsm?.stop();
    if (dir) await removeDir(dir);
  });

  /** one monitor over STAT_A then STAT_B; its value once the second sample is in */
  async function noEngineLoad(): Promise<{ m: CpuLoadMonitor; value: string }> {
    const proc = await mkdtemp(path.join(dir, "proc-"));
    await writeFile(path.join(proc, "stat"), STAT_A);
    const source = vdsmVmStatsSource(
      new VdsmApi(
        new VdsmClient({
          port: vdsm.port,
          tls: { key: pki.client.key, cert: pki.client.cert, ca: pki.ca },
          log: silentLogger,
          minBackoffMs: 20,
          maxBackoffMs: 50,
          timeoutMs: 5000,
        }),
      ),
    );
    sources.push(source);
    const m = createMonitor(
      "cpu-load-no-engine",
      { vm_uuid: VM },
      {
        log: silentLogger,
        vdsm: source,
        procRoot: proc,
        timing: { cpu_load_sample: 0.4, cpu_load_refresh: 3600 },
      },
    ) as CpuLoadMonitor;
    monitors.push(m);
    m.start();
    await until("the first sample", async () => (m.completedProbes() >= 1 ? true : undefined));
    await writeFile(path.join(proc, "stat"), STAT_B);
    const value = await until("the second sample", async () => m.value() ?? undefined);
    return { m, value };
  }

  it("the engine VM measured by VDSM: its share is subtracted (0.5 − 50 % of one of 2 CPUs)", async () => {
    vdsm.vms.set(VM, { status: "Up", cpu: { cpuUser: "40", cpuSys: "10", cpuActual: true } });
    const { m, value } = await noEngineLoad();
    expect(value).toBe("0.2500");
    expect(m.lastBreakdown()).toEqual({ total: 0.5, engine: 0.25, nonEngine: 0.25 });
    expect(vdsm.calls.filter((c) => c.method === "VM.getStats").at(-1)?.params).toEqual({
      vmID: VM,
    });
  });

  it("the VM not on this host: the whole load", async () => {
    const { value } = await noEngineLoad();
    expect(value).toBe("0.5000");
  });

  it("figures VDSM has not measured yet (cpuActual false): the previous load (0) stays", async () => {
    vdsm.vms.set(VM, { status: "Up", cpu: { cpuUser: "40", cpuSys: "10", cpuActual: false } });
    const { m, value } = await noEngineLoad();
    expect(value).toBe("0.0000");
    expect(m.lastBreakdown()?.nonEngine).toBe(0.25);
  });

  it("every request fit VDSM's schema", () => {
    expect(vdsm.violations).toEqual([]);
  });
});
