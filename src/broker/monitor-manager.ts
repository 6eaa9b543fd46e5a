import type { Logger } from "../common/log.js";
import type { Monitor } from "./monitors/monitor.js";

/** Creates a started-or-not monitor of `type` (src/broker/monitors/registry.ts createMonitor). */
export type MonitorFactory = (type: string, options: Record<string, string>) => Monitor;

export class MonitorNotFoundError extends Error {
  override name = "MonitorNotFoundError";
  constructor(readonly monitorId: string) {
    super(`submonitor id not found: ${monitorId}`);
  }
}

/** One running monitor as /v1/monitors lists it. */
/** What status_monitor answers for a monitor without a value yet (Python's str(None)). */
export const STATUS_NO_VALUE = "None";

export interface MonitorView {
  id: string;
  type: string;
  options: Record<string, string>;
  /** last value as status_monitor answers it, null before the first */
  value: string | null;
}

/**
 * The running monitors of start_monitor/stop_monitor/status_monitor (behaviour.md §7).
 * As in the original, a monitor's id is given by the monitor (its type), and starting a
 * type that already runs replaces the old one.
 */
export class MonitorManager {
  private readonly running = new Map<
    string,
    { monitor: Monitor; options: Record<string, string> }
  >();

  constructor(
    private readonly factory: MonitorFactory,
    private readonly log: Logger,
  ) {}

  async start(type: string, options: Record<string, string>): Promise<string> {
    const monitor = this.factory(type, options);
    const old = this.running.get(monitor.id);
    if (old) {
      this.running.delete(monitor.id);
      await this.stopQuietly(old.monitor);
    }
    monitor.start();
    this.running.set(monitor.id, { monitor, options });
    this.log.info({ monitor: monitor.id, type, options }, "monitor started");
    return monitor.id;
  }

  async stop(id: string): Promise<void> {
    const m = this.running.get(id);
    if (!m) throw new MonitorNotFoundError(id);
    this.running.delete(id);
    await m.monitor.stop();
    this.log.info({ monitor: id }, "monitor stopped");
  }

  /** the last value as a string, "None" before the first (the original's str(None)) */
  status(id: string): string {
    const m = this.running.get(id);
    if (!m) throw new MonitorNotFoundError(id);
    return m.monitor.value() ?? STATUS_NO_VALUE;
  }

  list(): MonitorView[] {
    return [...this.running.entries()]
      .sort((a, b) => a[0].localeCompare(b[0]))
      .map(([id, m]) => ({
        id,
        type: m.monitor.type,
        options: { ...m.options },
        value: m.monitor.value(),
      }));
  }

  async stopAll(): Promise<void> {
    const all = [...this.running.values()];
    this.running.clear();
    await Promise.all(all.map((m) => this.stopQuietly(m.monitor)));
  }

  private async stopQuietly(monitor: Monitor): Promise<void> {
    try {
      await monitor.stop();
    } catch (e) {
      this.log.error({ monitor: monitor.id, err: e as Error }, "cannot stop monitor");
    }
  }
}
