import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../../common/log.js";
import { MonitorOptionError } from "./monitor.js";
import { dnsOnce, pingOnce, tcpOnce } from "./network-probes.js";
import type { MonitorOptions } from "./options.js";
import { PeriodicMonitor } from "./periodic.js";
import { pythonFloatStr } from "./python-str.js";

export const NETWORK_TESTS = ["ping", "dns", "tcp", "none"] as const;
export type NetworkTest = (typeof NETWORK_TESTS)[number];

export interface NetworkSettings {
  test: NetworkTest;
  addr?: string;
  tcpAddress?: string;
  tcpPort?: number;
  dnsServer?: string;
  dnsPort?: number;
  timeoutS: number;
  count: number;
  delayS: number;
}

/** Options of §7 (`addr`, `network_test`, `tcp_t_address`, `tcp_t_port`, `timeout`, `count`, `delay`). */
export function networkSettings(opts: MonitorOptions): NetworkSettings {
  const test = (opts.get("network_test") ?? "ping") as NetworkTest;
  if (!NETWORK_TESTS.includes(test)) {
    throw new MonitorOptionError("network", `${test}: invalid network test`);
  }
  const s: NetworkSettings = {
    test,
    addr: opts.get("addr"),
    tcpAddress: opts.get("tcp_t_address"),
    timeoutS: opts.number("timeout", 5, { min: 0.001 }),
    count: opts.number("count", 5, { min: 1, integer: true }),
    delayS: opts.number("delay", 0.5, { min: 0 }),
    dnsServer: opts.get("dns_server"),
  };
  if (opts.get("dns_port") !== undefined)
    s.dnsPort = opts.number("dns_port", 53, { integer: true, min: 1 });
  if (test === "ping" && s.addr === undefined) {
    throw new MonitorOptionError("network", "ping requires addr address");
  }
  if (opts.get("tcp_t_port") !== undefined) {
    s.tcpPort = opts.number("tcp_t_port", 0, { integer: true, min: 1 });
  }
  if (test === "tcp" && (s.tcpAddress === undefined || s.tcpPort === undefined)) {
    throw new MonitorOptionError("network", "tcp test requires tcp_t_address and tcp_t_port");
  }
  return s;
}

/**
 * `network`: runs the test `count` times, `delay` apart, and reports the ratio of
 * successes ("1.0", "0.6", ...). Starts at 1.0 like the original.
 */
export class NetworkMonitor extends PeriodicMonitor<number> {
  constructor(
    id: string,
    log: Logger,
    intervalMs: number,
    private readonly settings: NetworkSettings,
  ) {
    super("network", id, log, intervalMs, { initial: 1.0 });
  }

  protected encode(v: number): string {
    return pythonFloatStr(v);
  }

  protected async probe(signal: AbortSignal): Promise<number | undefined> {
    const { count, delayS } = this.settings;
    let ok = 0;
    for (let i = 0; i < count; i++) {
      if (await this.attempt(signal)) ok += 1;
      if (signal.aborted) return undefined;
      if (i < count - 1 && delayS > 0) {
        // an abort ends the wait early; the loop checks `signal` next
        await sleep(delayS * 1000, undefined, { signal, ref: false }).catch(() => undefined);
      }
    }
    if (ok === count) {
      this.throttled.reset("failed");
      this.throttled.info("ok", {}, "Successfully verified network status");
    } else {
      this.throttled.reset("ok");
      this.throttled.warn(
        "failed",
        { test: this.settings.test, successes: ok, count },
        `Failed to verify network status, (${ok} out of ${count})`,
      );
    }
    return ok / count;
  }

  private attempt(signal: AbortSignal): Promise<boolean> {
    const s = this.settings;
    switch (s.test) {
      case "ping":
        return pingOnce(s.addr!, s.timeoutS, signal);
      case "dns":
        return dnsOnce(s.timeoutS, signal, s.dnsServer, s.dnsPort);
      case "tcp":
        return tcpOnce(s.tcpAddress!, s.tcpPort!, s.timeoutS, signal);
      case "none":
        return Promise.resolve(true);
    }
  }
}
