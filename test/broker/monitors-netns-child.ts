/**
 * Runs one network monitor probe round inside whatever network namespace this process
 * was started in (`ip netns exec <ns> vite-node monitors-netns-child.ts`), and prints
 * `{"value": "..."}`. Options come as JSON in MONITOR_OPTIONS.
 */
import type { PeriodicMonitor } from "../../src/broker/monitors/periodic.js";
import { createMonitor } from "../../src/broker/monitors/registry.js";
import { silentLogger } from "../../src/common/log.js";

const opts = JSON.parse(process.env.MONITOR_OPTIONS ?? "{}") as Record<string, unknown>;
const m = createMonitor("network", opts, { log: silentLogger, intervalSeconds: 0.05 });
m.start();
const p = m as PeriodicMonitor<number>;
while (p.completedProbes() < 1) await new Promise((r) => setTimeout(r, 20));
process.stdout.write(`${JSON.stringify({ value: m.value() })}\n`);
await m.stop();
