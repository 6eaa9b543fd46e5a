import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import {
  type Monitor,
  MonitorOptionError,
  UnknownMonitorError,
} from "../../src/broker/monitors/monitor.js";
import { PeriodicMonitor } from "../../src/broker/monitors/periodic.js";
import { pythonFixed4, pythonFloatStr } from "../../src/broker/monitors/python-str.js";
import { createMonitor, MONITOR_TYPES } from "../../src/broker/monitors/registry.js";
import { silentLogger } from "../../src/common/log.js";
import { waitFor } from "./monitors-support.js";

const deps = { log: silentLogger, intervalSeconds: 0.05 };
const started: Monitor[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((m) => m.stop()));
});

/** A monitor whose probe the test drives: fails, hangs or answers as told. */
class ScriptedMonitor extends PeriodicMonitor<number> {
  failing = true;
  n = 0;
  constructor(log = silentLogger) {
    super("scripted", "scripted", log, 20);
  }
  protected encode(v: number): string {
    return pythonFloatStr(v);
  }
  protected async probe(): Promise<number> {
    if (this.failing) throw new Error("probe broke");
    this.n += 1;
    return this.n;
  }
}

describe("monitor registry", () => {
  it("knows the seven monitor types of the broker API", () => {
    expect([...MONITOR_TYPES].sort()).toEqual(
      [
        "cpu-load",
        "cpu-load-no-engine",
        "engine-health",
        "mem-free",
        "mgmt-bridge",
        "network",
        "storage-domain",
      ].sort(),
    );
  });

  it("rejects an unknown type with UnknownMonitorError", () => {
    expect(() => createMonitor("disk-free", {}, deps)).toThrow(UnknownMonitorError);
    expect(() => createMonitor("disk-free", {}, deps)).toThrow(/disk-free not a registered/);
  });

  it("rejects missing and malformed options with MonitorOptionError", () => {
    const bad: [string, Record<string, unknown>, RegExp][] = [
      ["network", { network_test: "icmp", addr: "127.0.0.1" }, /icmp: invalid network test/],
      ["network", { network_test: "ping" }, /ping requires addr/],
      [
        "network",
        { network_test: "tcp", tcp_t_address: "127.0.0.1" },
        /tcp_t_address and tcp_t_port/,
      ],
      ["network", { network_test: "none", count: "many" }, /count="many"/],
      ["network", { network_test: "none", count: 0 }, /count="0"/],
      ["mgmt-bridge", {}, /requires bridge_name/],
      ["cpu-load-no-engine", {}, /requires vm_uuid/],
      ["engine-health", { vm_uuid: "x" }, /hypervisor/],
      ["engine-health", {}, /requires vm_uuid/],
      ["storage-domain", { sd_uuid: "x" }, /volume paths/],
      ["storage-domain", {}, /requires sd_uuid/],
    ];
    for (const [type, opts, msg] of bad) {
      let caught: unknown;
      try {
        createMonitor(type, opts, deps);
      } catch (e) {
        caught = e;
      }
      expect(caught, `${type} ${JSON.stringify(opts)}`).toBeInstanceOf(MonitorOptionError);
      expect((caught as Error).message).toMatch(msg);
    }
  });

  it("treats nil options as absent and ignores options it does not know", async () => {
    const m = createMonitor(
      "network",
      { network_test: null, addr: "127.0.0.1", tcp_t_address: null, use_ssl: "true", count: 1 },
      deps,
    );
    expect(m.id).toBe("network");
    expect(m.type).toBe("network");
  });

  it("a network monitor starts at 1.0 and the 'none' test keeps it there", async () => {
    const m = createMonitor("network", { network_test: "none", count: 3, delay: 0 }, deps);
    expect(m.value()).toBe("1.0");
    started.push(m);
    m.start();
    await waitFor(() => ((m as PeriodicMonitor<number>).completedProbes() > 0 ? true : undefined));
    expect(m.value()).toBe("1.0");
    expect(m.current()).toBe(1);
  });
});

describe("monitor loop", () => {
  it("survives a failing probe, keeps probing, and picks up values once it recovers", async () => {
    const m = new ScriptedMonitor();
    started.push(m);
    m.start();
    await waitFor(() => (m.completedProbes() >= 3 ? true : undefined));
    expect(m.value()).toBeNull();
    m.failing = false;
    await waitFor(() => (m.value() !== null ? true : undefined));
    expect(Number(m.value())).toBeGreaterThanOrEqual(1);
  });

  it("logs a failing probe once, not on every tick", async () => {
    const lines: string[] = [];
    const log = pino({ level: "info" }, { write: (s: string) => lines.push(s) });
    const m = new ScriptedMonitor(log);
    started.push(m);
    m.start();
    await waitFor(() => (m.completedProbes() >= 5 ? true : undefined));
    expect(lines.filter((l) => l.includes("probe failed"))).toHaveLength(1);
  });

  it("logs a new failure at once after the probe recovered", async () => {
    const lines: string[] = [];
    const log = pino({ level: "info" }, { write: (s: string) => lines.push(s) });
    const m = new ScriptedMonitor(log);
    started.push(m);
    m.start();
    await waitFor(() => (m.completedProbes() >= 3 ? true : undefined));
    m.failing = false;
    await waitFor(() => (m.value() !== null ? true : undefined));
    m.failing = true;
    const failedAgain = m.completedProbes() + 3;
    await waitFor(() => (m.completedProbes() >= failedAgain ? true : undefined));
    expect(lines.filter((l) => l.includes("probe failed"))).toHaveLength(2);
  });

  it("stop() ends the schedule: no probe runs afterwards", async () => {
    const m = new ScriptedMonitor();
    m.failing = false;
    m.start();
    await waitFor(() => (m.completedProbes() >= 2 ? true : undefined));
    await m.stop();
    const after = m.completedProbes();
    await new Promise((r) => setTimeout(r, 100));
    expect(m.completedProbes()).toBe(after);
  });
});

/** A monitor whose probe takes longer than its interval, counting probes in flight. */
class SlowMonitor extends PeriodicMonitor<number> {
  inFlight = 0;
  maxInFlight = 0;
  constructor() {
    super("slow", "slow", silentLogger, 5);
  }
  protected encode(v: number): string {
    return pythonFloatStr(v);
  }
  protected async probe(signal: AbortSignal): Promise<number> {
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise((r) => setTimeout(r, 40));
    this.inFlight -= 1;
    return signal.aborted ? 0 : 1;
  }
}

describe("monitor loop with an interval shorter than the probe", () => {
  it("runs probes one after another, never two at once", async () => {
    const m = new SlowMonitor();
    started.push(m);
    m.start();
    await waitFor(() => (m.completedProbes() >= 5 ? true : undefined));
    expect(m.maxInFlight).toBe(1);
  });
});

describe("Python number formatting", () => {
  it("formats floats as Python's str()", () => {
    const cases: [number, string][] = [
      [1, "1.0"],
      [0, "0.0"],
      [0.6, "0.6"],
      [0.8, "0.8"],
      [1 / 3, "0.3333333333333333"],
      [2 / 3, "0.6666666666666666"],
      [1e-5, "1e-05"],
      [0.0001, "0.0001"],
      [1e16, "1e+16"],
      [1e15, "1000000000000000.0"],
      [123.5, "123.5"],
    ];
    for (const [x, s] of cases) expect(pythonFloatStr(x)).toBe(s);
  });

  it("formats '{0:.4f}' with Python's rounding of exact ties", () => {
    expect(pythonFixed4(0.03125)).toBe("0.0312");
    expect(pythonFixed4(0.09375)).toBe("0.0938");
    expect(pythonFixed4(0.12345)).toBe("0.1235");
    expect(pythonFixed4(1)).toBe("1.0000");
    expect(pythonFixed4(0)).toBe("0.0000");
  });
});
