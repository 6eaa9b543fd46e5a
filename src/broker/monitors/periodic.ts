import { type HostTime, systemTime } from "../../common/host-time.js";
import type { Logger } from "../../common/log.js";
import { type ThrottledLogger, throttledLogger } from "../../common/log-throttle.js";
import type { Monitor } from "./monitor.js";

/**
 * When a monitor probes; registry.ts's `monitorSchedule` gives each type's, for the
 * host's monitors and the simulator's alike.
 */
export interface MonitorSchedule {
  /** between the starts of two probes */
  intervalMs: number;
  /**
   * 0: the first probe gives the first value. Above 0 (cpu-load: a busy ratio needs two
   * /proc/stat samples): the first probe is a sample only, and while no value is held the
   * next probe comes `firstValueMs` after the last one started
   */
  firstValueMs: number;
}

/**
 * The schedule every monitor shares: probe, store the value, sleep until `interval`
 * after the probe started (at once when the probe overran), on the host's timers
 * (`time`: unref'd real timers on a host, the cluster's virtual clock in the simulator). A
 * probe that throws is logged (throttled) and retried on the next tick; the loop never
 * dies. `stop()` aborts `signal` so probes can cancel their children and sockets.
 */
export abstract class PeriodicMonitor<T> implements Monitor<T> {
  protected readonly log: Logger;
  /** a failure repeating with the same message is logged once a minute (count held back) */
  protected readonly throttled: ThrottledLogger;
  private last: T | undefined;
  private timer: (() => void) | undefined;
  protected readonly time: HostTime;
  private running: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private started = false;
  private probes = 0;
  /** MonitorSchedule.firstValueMs */
  private readonly firstValueMs: number;

  constructor(
    readonly type: string,
    readonly id: string,
    log: Logger,
    protected readonly intervalMs: number,
    opts: { initial?: T; time?: HostTime | undefined; firstValueMs?: number } = {},
  ) {
    this.time = opts.time ?? systemTime;
    this.log = log.child({ monitor: type });
    const time = this.time;
    this.throttled = throttledLogger(this.log, {
      intervalMs: 60_000,
      now: () => time.now() * 1000,
    });
    this.last = opts.initial;
    this.firstValueMs = opts.firstValueMs ?? 0;
  }

  /** One measurement; undefined keeps the previous value. */
  protected abstract probe(signal: AbortSignal): Promise<T | undefined>;

  /** `str()` of the value in the original. */
  protected abstract encode(value: T): string;

  /** Delay before the next probe, measured from the start of the one that just ended. */
  protected nextDelayMs(): number {
    return this.firstValueMs > 0 && this.last === undefined ? this.firstValueMs : this.intervalMs;
  }

  protected get signal(): AbortSignal {
    return this.abort.signal;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.timer?.();
    this.timer = undefined;
    await this.running;
  }

  value(): string | null {
    return this.last === undefined ? null : this.encode(this.last);
  }

  current(): T | undefined {
    return this.last;
  }

  /** Probes finished so far (successful or not), to tell a fresh value from the initial one. */
  completedProbes(): number {
    return this.probes;
  }

  protected setValue(v: T): void {
    this.last = v;
  }

  /** Back to no value (the API answers "None"), as the original's `update_result(None)`. */
  protected clearValue(): void {
    this.last = undefined;
  }

  private schedule(delayMs: number): void {
    if (this.abort.signal.aborted) return;
    this.timer = this.time.after(delayMs / 1000, () => {
      this.timer = undefined;
      this.running = this.tick();
    });
  }

  private async tick(): Promise<void> {
    const began = this.time.now();
    try {
      const v = await this.probe(this.abort.signal);
      // a monitor whose first value needs two samples keeps none from its first probe
      const sampleOnly = this.probes === 0 && this.firstValueMs > 0;
      if (v !== undefined && !sampleOnly && !this.abort.signal.aborted) this.last = v;
      this.throttled.reset("probe");
    } catch (err) {
      if (!this.abort.signal.aborted) {
        this.throttled.error("probe", { err }, `monitor ${this.type}: probe failed`);
      }
    }
    this.probes += 1;
    const spent = (this.time.now() - began) * 1000;
    this.schedule(Math.max(0, this.nextDelayMs() - spent));
  }
}
