import { readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type * as libvirt from "@unraid/libvirt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type CpuLoadMonitor,
  engineShare,
  type VmCpu,
} from "../../src/broker/monitors/cpu-load.js";
import { memAvailableMiB } from "../../src/broker/monitors/mem-free.js";
import type { Monitor, VmStateSource } from "../../src/broker/monitors/monitor.js";
import type { PeriodicMonitor } from "../../src/broker/monitors/periodic.js";
import { busyRatio, parseProcStat } from "../../src/broker/monitors/proc-stat.js";
import { pythonFixed4 } from "../../src/broker/monitors/python-str.js";
import { createMonitor } from "../../src/broker/monitors/registry.js";
import { silentLogger } from "../../src/common/log.js";
import type { HypervisorConnection } from "../../src/libvirt/hypervisor.js";
import { removeDir, tempDir } from "../support/temp.js";
import { openTestHypervisor, TEST_DRIVER_DOMAIN_UUID, waitFor } from "./monitors-support.js";

const timing = { cpu_load_sample: 0.3, cpu_load_refresh: 0.3 };
const started: Monitor[] = [];
let tmp: string;
let hv: libvirt.Hypervisor;
let source: HypervisorConnection;

beforeAll(async () => {
  tmp = await tempDir("d1-proc");
  ({ hv, source } = await openTestHypervisor());
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((m) => m.stop()));
});

afterAll(async () => {
  await source?.close();
  await hv?.connectClose();
  await removeDir(tmp);
});

function run(type: string, opts: Record<string, unknown>, extra: object = {}): Monitor {
  const m = createMonitor(type, opts, {
    log: silentLogger,
    intervalSeconds: 0.05,
    timing,
    ...extra,
  });
  started.push(m);
  m.start();
  return m;
}

const probed = (m: Monitor, n = 1) =>
  waitFor(() => ((m as PeriodicMonitor<unknown>).completedProbes() >= n ? true : undefined));

describe("mem-free", () => {
  it("reports MemAvailable of the real /proc/meminfo in whole MB", async () => {
    const m = run("mem-free", { address: "0", use_ssl: "true" });
    const v = await waitFor(() => m.value() ?? undefined);
    expect(v).toMatch(/^\d+$/);
    const now = memAvailableMiB(readFileSync("/proc/meminfo", "utf8"));
    expect(Math.abs(Number(v) - now)).toBeLessThan(Math.max(64, now * 0.1));
    expect(m.current()).toBe(Number(v));
  });

  it("keeps no value while meminfo has no MemAvailable, and recovers when it does", async () => {
    const proc = path.join(tmp, "meminfo-proc");
    await mkdir(proc);
    await writeFile(path.join(proc, "meminfo"), "MemTotal: 8000000 kB\nMemFree: 100 kB\n");
    const m = run("mem-free", {}, { procRoot: proc });
    await probed(m, 2);
    expect(m.value()).toBeNull();
    await writeFile(
      path.join(proc, "meminfo"),
      "MemTotal: 8000000 kB\nMemFree: 100 kB\nMemAvailable:    2048000 kB\n",
    );
    expect(await waitFor(() => m.value() ?? undefined)).toBe("2000");
  });
});

describe("/proc/stat arithmetic", () => {
  const stat = (user: number, idle: number, iowait: number, guest: number) =>
    `cpu  ${user} 0 0 ${idle} ${iowait} 0 0 0 ${guest} 0\ncpu0 1 0 0 1 0 0 0 0 0 0\ncpu1 1 0 0 1 0 0 0 0 0 0\nintr 1\n`;

  it("counts busy and total ticks like the original (guest inside user, iowait idle)", () => {
    const t = parseProcStat(stat(100, 300, 100, 50));
    expect(t).toEqual({ total: 500, busy: 100, ncpus: 2 });
    const next = parseProcStat(stat(400, 500, 200, 90));
    expect(busyRatio(t, next)).toBeCloseTo(300 / 600, 12);
  });

  it("rejects a /proc/stat without the aggregate cpu line", () => {
    expect(() => parseProcStat("intr 1\n")).toThrow(/no aggregate cpu line/);
  });

  it("takes the engine VM's share from its cpu time over elapsed time and CPUs", () => {
    const ticks = { total: 0, busy: 0, ncpus: 4 };
    const s = (at: number, vm: VmCpu) => ({ ticks, ticksAt: BigInt(at), vm });
    const sec = 1_000_000_000;
    const vm = (ns: number, at: number): VmCpu => ({ kind: "present", ns, at: BigInt(at) });
    expect(engineShare(s(0, vm(0, 0)), s(sec, vm(sec, sec)))).toBe(0.25);
    // measured between the hypervisor's answers, not the /proc/stat reads
    expect(engineShare(s(0, vm(0, 500_000_000)), s(sec, vm(sec, 1_500_000_000)))).toBe(0.25);
    // a VM that appeared in between counts from 0 over the whole window
    expect(engineShare(s(0, { kind: "absent" }), s(sec, vm(2 * sec, sec)))).toBe(0.5);
    // unknown at either end, or gone now: no share
    expect(engineShare(s(0, { kind: "unknown" }), s(sec, vm(sec, sec)))).toBe(0);
    expect(engineShare(s(0, vm(0, 0)), s(sec, { kind: "absent" }))).toBe(0);
  });
});

describe("cpu-load", () => {
  it("has no value before the first sample window, then a 4-decimal ratio of real /proc/stat", async () => {
    const m = run("cpu-load", {});
    expect(m.value()).toBeNull();
    const v = await waitFor(() => m.value() ?? undefined);
    expect(v).toMatch(/^[01]\.\d{4}$/);
    expect(Number(v)).toBeGreaterThanOrEqual(0);
    expect(Number(v)).toBeLessThanOrEqual(1);
  });

  it("refreshes the value after each refresh window", async () => {
    const m = run("cpu-load", {}) as CpuLoadMonitor;
    await waitFor(() => m.value() ?? undefined);
    const before = m.completedProbes();
    await probed(m, before + 2);
    expect(m.value()).toMatch(/^[01]\.\d{4}$/);
  });
});

describe("cpu-load-no-engine", () => {
  it("subtracts the engine VM's share taken from libvirt's cpu time", async () => {
    const m = run(
      "cpu-load-no-engine",
      { vm_uuid: TEST_DRIVER_DOMAIN_UUID },
      { hypervisor: source },
    ) as CpuLoadMonitor;
    const v = await waitFor(() => m.value() ?? undefined);
    const b = m.lastBreakdown()!;
    // libvirt's test driver reports wall-clock time as the domain's cpu time: one full CPU
    const ncpus = parseProcStat(readFileSync("/proc/stat", "utf8")).ncpus;
    expect(b.engine).toBeGreaterThan(1 / ncpus - 0.1);
    expect(b.engine).toBeLessThan(1 / ncpus + 0.1);
    expect(b.nonEngine).toBeCloseTo(Math.max(0, b.total - b.engine), 12);
    expect(v).toBe(pythonFixed4(b.nonEngine));
  });

  it("counts no engine share when the VM is not on this host", async () => {
    const m = run(
      "cpu-load-no-engine",
      { vm_uuid: "00000000-0000-0000-0000-00000000d1d1" },
      { hypervisor: source },
    ) as CpuLoadMonitor;
    const v = await waitFor(() => m.value() ?? undefined);
    const b = m.lastBreakdown()!;
    expect(b.engine).toBe(0);
    expect(v).toBe(pythonFixed4(b.total));
  });

  it("counts no engine share and keeps reporting when the hypervisor fails", async () => {
    const broken: VmStateSource = {
      domainState: () => Promise.reject(new Error("libvirt connection lost")),
    };
    const m = run(
      "cpu-load-no-engine",
      { vm_uuid: TEST_DRIVER_DOMAIN_UUID },
      { hypervisor: broken },
    ) as CpuLoadMonitor;
    const v = await waitFor(() => m.value() ?? undefined);
    expect(m.lastBreakdown()!.engine).toBe(0);
    expect(v).toMatch(/^[01]\.\d{4}$/);
  });
});
