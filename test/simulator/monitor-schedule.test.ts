/**
 * The simulator's monitors probe on the schedule the host's monitors do, from one home
 * (monitorSchedule in src/broker/monitors/registry.ts): cpu-load gives its first value
 * `cpu_load_sample` s after the start and a new one every `cpu_load_refresh` s, not every
 * `monitor_interval` s as the others. Both monitors run here on one hand-driven clock
 * that records each delay they ask for; the host's cpu-load reads a /proc/stat file.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollUntil } from "../../lab/standins/processes.js";
import type { Monitor } from "../../src/broker/monitors/monitor.js";
import { PeriodicMonitor } from "../../src/broker/monitors/periodic.js";
import { createMonitor, monitorSchedule } from "../../src/broker/monitors/registry.js";
import type { HostTime } from "../../src/common/host-time.js";
import { silentLogger } from "../../src/common/log.js";
import { DEFAULT_TIMING, type Timing } from "../../src/common/timing.js";
import { DEFAULT_MONITORS, SimStartFailure, simBrokerEnv } from "../../src/simulator/broker-env.js";
import type { SimHypervisor } from "../../src/simulator/hypervisor.js";
import type { SimWhiteboard } from "../../src/simulator/whiteboard.js";
import { removeDir, tempDir } from "../support/temp.js";

/** cpu_load_* apart from monitor_interval, so the two schedules cannot be confused */
const TIMING: Timing = {
  ...DEFAULT_TIMING,
  monitor_interval: 10,
  cpu_load_sample: 7,
  cpu_load_refresh: 45,
};

/** A clock that moves only when the test fires the one timer a monitor has set. */
class HandClock implements HostTime {
  t = 0;
  private pending: { seconds: number; fn: () => void } | undefined;
  now = () => this.t;
  wallMs = () => 1_700_000_000_000 + this.t * 1000;
  after(seconds: number, fn: () => void): () => void {
    const timer = { seconds, fn };
    this.pending = timer;
    return () => {
      if (this.pending === timer) this.pending = undefined;
    };
  }
  /** Fires the monitor's timer; returns the delay it had asked for. */
  fire(): number {
    const p = this.pending;
    if (p === undefined) throw new Error("no timer set");
    this.pending = undefined;
    this.t += p.seconds;
    p.fn();
    return p.seconds;
  }
}

/**
 * Starts `monitor`, then fires its timer `probes` times, each time waiting for the probe
 * to finish: the delays it asked for, and its value after each probe with the clock's time.
 */
async function drive(monitor: Monitor, clock: HandClock, probes: number) {
  expect(monitor).toBeInstanceOf(PeriodicMonitor);
  const m = monitor as PeriodicMonitor<unknown>;
  const delays: number[] = [];
  const seen: { at: number; value: string | null }[] = [];
  monitor.start();
  for (let i = 0; i < probes; i++) {
    delays.push(clock.fire());
    await pollUntil("the probe", async () => m.completedProbes() > i, 10_000, 5);
    seen.push({ at: clock.t, value: monitor.value() });
  }
  await monitor.stop();
  return { delays, seen };
}

const STAT = (busy: number, idle: number) =>
  `cpu  ${busy} 0 0 ${idle} 0 0 0 0 0 0\ncpu0 ${busy} 0 0 ${idle} 0 0 0 0 0 0\n`;

describe("the monitors' schedule, on a host and in the simulator", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir("monitor-schedule");
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  it("cpu-load follows cpu_load_sample and cpu_load_refresh; the others monitor_interval", () => {
    for (const type of ["cpu-load", "cpu-load-no-engine"] as const) {
      expect(monitorSchedule(type, deps())).toEqual({ intervalMs: 45_000, firstValueMs: 7_000 });
    }
    for (const type of ["network", "mem-free", "engine-health", "storage-domain"] as const) {
      expect(monitorSchedule(type, deps())).toEqual({ intervalMs: 10_000, firstValueMs: 0 });
    }
  });

  it("the host's cpu-load and the simulator's probe at the same times, first value at cpu_load_sample", async () => {
    // the host's: the real monitor over a /proc/stat file
    await writeFile(path.join(dir, "stat"), STAT(100, 900));
    const clock = new HandClock();
    const real = createMonitor(
      "cpu-load",
      {},
      { log: silentLogger, time: clock, procRoot: dir, ...deps() },
    );
    const hostSeen = await drive(real, clock, 4);

    // the simulator's: the value the scenario set (`set host1 cpu 0.25`)
    const simClock = new HandClock();
    const simSeen = await drive(simEnv(simClock).monitors("cpu-load", {}), simClock, 4);

    // start, the first value cpu_load_sample later, then one every cpu_load_refresh
    expect(hostSeen.delays).toEqual([0, 7, 45, 45]);
    expect(simSeen.delays).toEqual(hostSeen.delays);
    // no value from the first probe (a sample), a value from the second on, on both
    expect(hostSeen.seen.map((s) => s.value === null)).toEqual([true, false, false, false]);
    expect(simSeen.seen.map((s) => s.value)).toEqual([null, "0.2500", "0.2500", "0.2500"]);
    // while network, on the same simulated host, probes every monitor_interval
    const netClock = new HandClock();
    const net = await drive(
      simEnv(netClock).monitors("network", { addr: "192.0.2.1" }),
      netClock,
      3,
    );
    expect(net.delays).toEqual([0, 10, 10]);
    expect(net.seen[0]?.value).toBe("1");
  });
});

function deps() {
  return { timing: TIMING, intervalSeconds: TIMING.monitor_interval };
}

/** One simulated host's broker environment whose scenario set the cpu load to 0.25. */
function simEnv(clock: HandClock) {
  return simBrokerEnv({
    hostId: 1,
    time: clock,
    whiteboard: {} as SimWhiteboard,
    hypervisor: {} as SimHypervisor,
    monitors: { ...DEFAULT_MONITORS, cpu: 0.25 },
    startFailure: new SimStartFailure(() => clock.wallMs()),
    storageOk: () => true,
    holdsHostId: () => true,
    timing: TIMING,
    log: silentLogger,
  });
}
