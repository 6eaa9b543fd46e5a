import type { VmPort } from "../agent/ports.js";
import type { VirtualScheduler } from "./scheduler.js";

/** libvirt's state names as the engine-health monitor reads them */
export type SimDomainState = "running" | "paused" | "shutdown";

export interface SimHypervisorOptions {
  /** seconds a guest takes to shut down after the request */
  guestShutdownSeconds: number;
  /** seconds after start before the engine answers its health page */
  engineBootSeconds: number;
}

/**
 * One host's hypervisor with the engine VM as a transient domain (as LibvirtVm starts
 * it): it exists while it runs and is gone after a shutdown, a power-off or a crash.
 */
export class SimHypervisor implements VmPort {
  private domain: { state: SimDomainState; startedAt: number } | null = null;
  private cancelShutdown: (() => void) | null = null;
  /** libvirtd answers */
  up = true;
  /** the next start, shutdown or power-off fails with this libvirt error */
  failNext: { start: string | null; shutdown: string | null; poweroff: string | null } = {
    start: null,
    shutdown: null,
    poweroff: null,
  };
  /** the engine application answers its health page (when booted) */
  engineHealthy = true;

  constructor(
    private readonly sched: VirtualScheduler,
    private readonly opts: SimHypervisorOptions,
    private readonly event: (text: string) => void,
  ) {}

  /** the domain's libvirt state, null when not defined; throws when libvirtd is down */
  domainState(): SimDomainState | null {
    if (!this.up) throw new Error("libvirtd is not running");
    return this.domain?.state ?? null;
  }

  /** the engine answers HTTP 200 on its health page */
  engineAnswers(): boolean {
    const d = this.domain;
    return (
      d !== null &&
      d.state === "running" &&
      this.engineHealthy &&
      this.sched.now - d.startedAt >= this.opts.engineBootSeconds
    );
  }

  get running(): boolean {
    return this.domain !== null;
  }

  async isActive(): Promise<boolean> {
    return this.domainState() !== null;
  }

  async start(): Promise<void> {
    if (!this.up) throw new Error("cannot connect to libvirtd");
    if (this.domain) throw new Error("Requested operation is not valid: domain is already running");
    this.failIfAsked("start");
    this.domain = { state: "running", startedAt: this.sched.now };
    this.event("vm: started");
  }

  async shutdown(): Promise<void> {
    if (!this.up) throw new Error("cannot connect to libvirtd");
    this.failIfAsked("shutdown");
    const d = this.domain;
    if (!d || this.cancelShutdown) return;
    d.state = "shutdown";
    this.cancelShutdown = this.sched.after(this.opts.guestShutdownSeconds, () => {
      this.cancelShutdown = null;
      if (this.domain === d) {
        this.domain = null;
        this.event("vm: guest shut down");
      }
    });
  }

  async powerOff(): Promise<void> {
    if (!this.up) throw new Error("cannot connect to libvirtd");
    this.failIfAsked("poweroff");
    if (this.destroy()) this.event("vm: powered off");
  }

  async close(): Promise<void> {}

  private failIfAsked(op: "start" | "shutdown" | "poweroff"): void {
    const msg = this.failNext[op];
    if (msg === null) return;
    this.failNext[op] = null;
    throw new Error(msg);
  }

  /** qemu is gone (crash, kill path, host power loss); true when a domain ran */
  destroy(): boolean {
    this.cancelShutdown?.();
    this.cancelShutdown = null;
    const had = this.domain !== null;
    this.domain = null;
    return had;
  }

  pause(paused: boolean): void {
    if (this.domain) this.domain.state = paused ? "paused" : "running";
  }
}
