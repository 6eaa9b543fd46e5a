import type { Logger } from "../common/log.js";
import { clearStartedHere, recordStartedHere } from "../common/started-here.js";
import type { VmConf } from "../storage/ovf/vmconf-types.js";
import { VdsmApi, type VmStats } from "./api.js";
import { VdsmClient, type VdsmClientOptions, VdsmError } from "./json-rpc-client.js";
import { vmCreateParams } from "./vm-params.js";
import { VdsmCode, VmStatus } from "./wire.js";

export interface VdsmVmOptions {
  vmId: string;
  log: Logger;
  /** the client's options (TLS files, port, timeouts) */
  client: Omit<VdsmClientOptions, "log">;
  /** pause between attempts of the stale-state clean-up (the original: 1 s) */
  cleanupDelayMs?: number;
  /**
   * the agent's run directory: a started VM is recorded there and forgotten on a stop on
   * purpose (src/broker/monitors/started-here.ts), as LibvirtVm does
   */
  runDir?: string;
  /**
   * run the agent's `_clean_vdsm_state` before a start (default true); `he-ha vm start`
   * (hosted-engine --vm-start) goes straight to --vm-start's own check, as the original
   */
  agentCleanup?: boolean;
  /** how long start waits for the VM to leave WaitForLaunch (default 30 s), and how often it looks (1 s) */
  launchWaitMs?: number;
  launchPollMs?: number;
}

/** hosted-engine --vm-shutdown's grace period and message (vdsm_helper shutdown) */
export const SHUTDOWN_DELAY_S = 120;
export const SHUTDOWN_MESSAGE = "VM is shutting down!";

const CLEANUP_ATTEMPTS = 10;

/**
 * hosted-engine --vm-start's rule on VDSM's status of the engine VM (checkVmStatus): no
 * VM → create; Down or Paused → destroy, then create; anything else → already there.
 */
export function vmStartStep(status: string | null): "create" | "destroy-then-create" | "exists" {
  if (status === null) return "create";
  return status === VmStatus.down || status === VmStatus.paused ? "destroy-then-create" : "exists";
}

/** Whether VDSM's status is a VM running on this host (what isActive answers). */
export function vdsmVmRunning(status: string | null): boolean {
  return status !== null && status !== VmStatus.down;
}

function isNoSuchVm(err: unknown): boolean {
  return err instanceof VdsmError && err.code === VdsmCode.noSuchVm;
}

/**
 * The engine VM through VDSM (VmPort), making the calls the Python agent makes through
 * `hosted-engine --vm-start|--vm-shutdown|--vm-poweroff` (hosted-engine-setup's
 * vdsm_helper) and its own `_clean_vdsm_state`, in the same order:
 *
 * - start: the agent's clean-up (VM.getStats; a VM Up or Powering up is left alone; any
 *   other state VDSM still holds is VM.destroy'ed, up to 10 times, 1 s apart), then
 *   `--vm-start`'s check (VM.getStats: Down or Paused → VM.destroy; any other status:
 *   already running), then VM.create(vmID, vmParams) expecting status WaitForLaunch;
 * - shutdown: VM.shutdown(vmID, delay=120, message="VM is shutting down!");
 * - power off: VM.destroy(vmID);
 * - isActive: VM.getStats; "no such VM" (code 1) or Down is not active.
 *
 * VDSM prepares the images and resolves the `<lease>` placeholders itself; the lease is
 * then taken by libvirt's sanlock lock manager for qemu.
 */
export class VdsmVm {
  readonly api: VdsmApi;
  private readonly o: VdsmVmOptions;

  constructor(opts: VdsmVmOptions) {
    this.o = opts;
    this.api = new VdsmApi(new VdsmClient({ ...opts.client, log: opts.log }));
  }

  async isActive(): Promise<boolean> {
    return vdsmVmRunning(await this.status());
  }

  async start(vmConf: VmConf): Promise<void> {
    const { vmId, log } = this.o;
    if (this.o.agentCleanup !== false && (await this.cleanStaleState())) {
      log.warn({ vm: vmId }, "engine VM was already running here (VDSM)");
      return;
    }
    const status = await this.status();
    const step = vmStartStep(status);
    if (step === "destroy-then-create") {
      log.info({ vm: vmId, status }, "VM exists, cleaning up and restarting");
      await this.destroyIfPresent();
    } else if (step === "exists") {
      log.warn({ vm: vmId, status }, "engine VM exists in VDSM: already running");
      return;
    }
    const created = await this.api.createVm(vmId, vmCreateParams(vmConf));
    if (created.status !== VmStatus.waitForLaunch) {
      throw new Error(
        `VDSM VM.create ${vmId}: status ${created.status}, expected ${VmStatus.waitForLaunch} (VM failed to launch)`,
      );
    }
    log.info({ vm: vmId }, "engine VM created through VDSM (WaitForLaunch)");
    if (this.o.runDir !== undefined) await recordStartedHere(this.o.runDir, vmId);
    await this.waitLaunched();
  }

  /**
   * VM.create answers before qemu runs; a start refused by the VM lease then shows as a
   * `Down` VM whose exitMessage is libvirt's lock error. The original left that to the
   * broker's engine-health; we wait for the launch and throw with VDSM's exit message, so
   * the agent reports "storage locked" as it does for libvirt (isLeaseRefusedByLibvirt).
   */
  private async waitLaunched(): Promise<void> {
    const { vmId } = this.o;
    const deadline = Date.now() + (this.o.launchWaitMs ?? 30_000);
    for (;;) {
      let stats: VmStats | null;
      try {
        stats = await this.api.vmStats(vmId);
      } catch (err) {
        if (!isNoSuchVm(err)) throw err;
        stats = null;
      }
      if (stats === null || stats.status === VmStatus.down) {
        if (this.o.runDir !== undefined) await clearStartedHere(this.o.runDir);
        throw new Error(
          `engine VM ${vmId} went down at launch through VDSM: ${stats?.exitMessage ?? "VDSM no longer knows it"}`,
        );
      }
      if (stats.status !== VmStatus.waitForLaunch || Date.now() > deadline) return;
      await new Promise((r) => setTimeout(r, this.o.launchPollMs ?? 1000));
    }
  }

  async shutdown(): Promise<void> {
    if (this.o.runDir !== undefined) await clearStartedHere(this.o.runDir);
    try {
      await this.api.shutdownVm(this.o.vmId, SHUTDOWN_DELAY_S, SHUTDOWN_MESSAGE);
    } catch (err) {
      if (!isNoSuchVm(err)) throw err;
      this.o.log.info(
        { vm: this.o.vmId },
        "engine VM does not exist in VDSM: nothing to shut down",
      );
    }
  }

  async powerOff(): Promise<void> {
    if (this.o.runDir !== undefined) await clearStartedHere(this.o.runDir);
    if (!(await this.destroyIfPresent()))
      this.o.log.info(
        { vm: this.o.vmId },
        "engine VM does not exist in VDSM: nothing to power off",
      );
  }

  async close(): Promise<void> {
    this.api.client.close();
  }

  /** VDSM's status of the engine VM (VM.getStats); null when VDSM does not know it */
  async status(): Promise<string | null> {
    try {
      return (await this.api.vmStats(this.o.vmId)).status;
    } catch (err) {
      if (isNoSuchVm(err)) return null;
      throw err;
    }
  }

  private async destroyIfPresent(): Promise<boolean> {
    try {
      await this.api.destroyVm(this.o.vmId);
      return true;
    } catch (err) {
      if (isNoSuchVm(err)) return false;
      throw err;
    }
  }

  /**
   * The original's `_clean_vdsm_state`: true when the VM is running here (nothing to
   * clean, nothing to start); false once VDSM holds no state for it.
   */
  private async cleanStaleState(): Promise<boolean> {
    const { vmId, log } = this.o;
    log.info({ vm: vmId }, "Ensuring VDSM state is clear for engine VM");
    for (let i = 0; i < CLEANUP_ATTEMPTS; i++) {
      const status = await this.status();
      if (status === null) return false;
      if (status === VmStatus.poweringUp || status === VmStatus.up) {
        log.info({ vm: vmId, status }, "VM is running on host");
        return true;
      }
      log.info({ vm: vmId, status }, "Cleaning state for non-running VM");
      if (!(await this.destroyIfPresent())) return false;
      await new Promise((r) => setTimeout(r, this.o.cleanupDelayMs ?? 1000));
    }
    throw new Error(`Timed out trying to clean VDSM state for VM ${vmId}`);
  }
}
