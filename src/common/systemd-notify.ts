import koffi from "koffi";
import type { Logger } from "pino";

/**
 * sd_notify(3) for the daemons: readiness, watchdog keep-alives, status text and
 * stopping, sent through libsystemd (loaded lazily with koffi; Node cannot send unix
 * datagrams by itself). Every call is a no-op when NOTIFY_SOCKET is unset (not started
 * by systemd with Type=notify). libsystemd reads NOTIFY_SOCKET from the process
 * environment itself, so this module reads process.env too. A libsystemd that cannot be loaded is logged once and
 * then treated the same way. Calls run on koffi's worker pool, off the event loop.
 */

type SdNotify = {
  async(unsetEnvironment: number, state: string, cb: (err: unknown, res: number) => void): void;
};

export interface SystemdNotifierOptions {
  /** where the one "cannot load libsystemd" line and failed sends go */
  logger?: Logger;
  /** default "libsystemd.so.0" */
  library?: string;
  /** this process's pid, to match WATCHDOG_PID (default process.pid) */
  pid?: number;
}

export class SystemdNotifier {
  private fn: SdNotify | null | undefined;
  private logger: Logger | undefined;
  private readonly library: string;
  private readonly pid: number;

  constructor(opts: SystemdNotifierOptions = {}) {
    this.logger = opts.logger;
    this.library = opts.library ?? "libsystemd.so.0";
    this.pid = opts.pid ?? process.pid;
  }

  setLogger(logger: Logger): void {
    this.logger = logger;
  }

  /** true when started by systemd with a notification socket */
  get enabled(): boolean {
    return Boolean(process.env.NOTIFY_SOCKET);
  }

  private load(): SdNotify | null {
    if (this.fn !== undefined) return this.fn;
    try {
      const lib = koffi.load(this.library);
      this.fn = lib.func(
        "int sd_notify(int unset_environment, const char *state)",
      ) as unknown as SdNotify;
    } catch (e) {
      this.fn = null;
      this.logger?.error(
        { library: this.library, err: e as Error },
        "cannot load libsystemd: readiness and watchdog are not reported to systemd",
      );
    }
    return this.fn;
  }

  /**
   * Sends `state` (newline-separated assignments such as "READY=1"). Resolves true when
   * systemd received it, false when disabled, libsystemd is missing or the send failed.
   */
  notify(state: string): Promise<boolean> {
    if (!this.enabled) return Promise.resolve(false);
    const fn = this.load();
    if (fn === null) return Promise.resolve(false);
    return new Promise((resolve) => {
      fn.async(0, state, (err, res) => {
        if (err || res < 0) {
          this.logger?.warn(
            {
              state,
              ret: res,
              err: err ? String(err) : undefined,
              socket: process.env.NOTIFY_SOCKET,
            },
            "sd_notify failed",
          );
          resolve(false);
        } else {
          resolve(res > 0);
        }
      });
    });
  }

  ready(status?: string): Promise<boolean> {
    return this.notify(status ? `READY=1\nSTATUS=${oneLine(status)}` : "READY=1");
  }

  watchdog(): Promise<boolean> {
    return this.notify("WATCHDOG=1");
  }

  status(text: string): Promise<boolean> {
    return this.notify(`STATUS=${oneLine(text)}`);
  }

  stopping(): Promise<boolean> {
    return this.notify("STOPPING=1");
  }

  /**
   * The watchdog timeout systemd expects keep-alives within (WatchdogSec=), in ms, or
   * undefined when there is none or it is meant for another process (WATCHDOG_PID).
   */
  watchdogIntervalMs(): number | undefined {
    return watchdogIntervalFromEnv(process.env, this.pid);
  }

  /**
   * Sends WATCHDOG=1 now and every half watchdog interval while `isHealthy()` says so;
   * when it does not, keep-alives stop and systemd restarts the daemon after WatchdogSec.
   * The timer does not keep the process alive. Returns a function that stops it.
   */
  startWatchdog(isHealthy: () => boolean): () => void {
    const interval = this.watchdogIntervalMs();
    if (interval === undefined || !this.enabled) return () => {};
    let unhealthyLogged = false;
    const tick = () => {
      let healthy = false;
      try {
        healthy = isHealthy();
      } catch (e) {
        this.logger?.error({ err: e as Error }, "watchdog health check threw");
      }
      if (healthy) {
        unhealthyLogged = false;
        void this.watchdog();
      } else if (!unhealthyLogged) {
        unhealthyLogged = true;
        this.logger?.error(
          { watchdog_ms: interval },
          "daemon unhealthy: withholding watchdog keep-alives, systemd will restart it",
        );
      }
    };
    tick();
    const timer = setInterval(tick, Math.max(1, Math.floor(interval / 2)));
    timer.unref();
    return () => clearInterval(timer);
  }
}

/**
 * WATCHDOG_USEC in ms, or undefined when unset, invalid, or WATCHDOG_PID names another
 * process (sd_watchdog_enabled(3) semantics).
 */
export function watchdogIntervalFromEnv(env: NodeJS.ProcessEnv, pid: number): number | undefined {
  const raw = env.WATCHDOG_USEC?.trim();
  if (!raw || !/^\d+$/.test(raw)) return undefined;
  const usec = Number(raw);
  if (usec <= 0) return undefined;
  const forPid = env.WATCHDOG_PID?.trim();
  if (forPid && Number(forPid) !== pid) return undefined;
  return usec / 1000;
}

/** STATUS= is a single line. */
function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, " ");
}

const defaultNotifier = new SystemdNotifier();

/** Routes the default notifier's diagnostics to the daemon's logger. */
export function setSystemdNotifyLogger(logger: Logger): void {
  defaultNotifier.setLogger(logger);
}

export const notifyReady = (status?: string): Promise<boolean> => defaultNotifier.ready(status);
export const notifyWatchdog = (): Promise<boolean> => defaultNotifier.watchdog();
export const notifyStatus = (text: string): Promise<boolean> => defaultNotifier.status(text);
export const notifyStopping = (): Promise<boolean> => defaultNotifier.stopping();
export const watchdogIntervalMs = (): number | undefined => defaultNotifier.watchdogIntervalMs();
export const startWatchdog = (isHealthy: () => boolean): (() => void) =>
  defaultNotifier.startWatchdog(isHealthy);
