/**
 * What one lab host (of the demo or a test) has below its agent and broker: its own sanlock daemon and
 * its own hypervisor (libvirtd + test driver in a private mount namespace), both started
 * by, and children of, the process that runs the lab (the demo, a test).
 *
 *   const host = await startHostInfra({ dir: "/tmp/demo/host1", hostName: "host1" });
 *   spawn("ovirt-ha-agent", [], { env: { ...host.env, HE_HA_ROOT: ... } });
 *   // host.hypervisorUri goes into the host's configuration for agent and broker
 *   await host.kill9();   // the host dies hard: sanlock stops renewing, VMs vanish
 *   await host.stop();    // orderly teardown
 */
import { join } from "node:path";
import { Libvirtd } from "./libvirtd.js";
import { SanlockDaemon } from "./sanlock-daemon.js";

export interface HostInfraOptions {
  /** the host's private directory; `sanlock/` and `libvirt/` are made inside */
  dir: string;
  hostName: string;
}

export class HostInfra {
  constructor(
    readonly sanlock: SanlockDaemon,
    readonly libvirtd: Libvirtd,
  ) {}

  /** libvirt URI of this host's hypervisor */
  get hypervisorUri(): string {
    return this.libvirtd.uri;
  }

  /** environment for this host's processes: SANLOCK_RUN_DIR selects its sanlock */
  get env(): NodeJS.ProcessEnv {
    return this.sanlock.env;
  }

  async stop(): Promise<void> {
    await Promise.all([this.sanlock.stop(), this.libvirtd.stop()]);
  }

  async kill9(): Promise<void> {
    await Promise.all([this.sanlock.kill9(), this.libvirtd.kill9()]);
  }
}

export async function startHostInfra(opts: HostInfraOptions): Promise<HostInfra> {
  const [sanlock, libvirtd] = await Promise.allSettled([
    SanlockDaemon.start({ runDir: join(opts.dir, "sanlock"), hostName: opts.hostName }),
    Libvirtd.start({ dir: join(opts.dir, "libvirt") }),
  ]);
  if (sanlock.status === "fulfilled" && libvirtd.status === "fulfilled") {
    return new HostInfra(sanlock.value, libvirtd.value);
  }
  if (sanlock.status === "fulfilled") await sanlock.value.kill9();
  if (libvirtd.status === "fulfilled") await libvirtd.value.kill9();
  const failed =
    sanlock.status === "rejected" ? sanlock.reason : (libvirtd as PromiseRejectedResult).reason;
  throw failed instanceof Error ? failed : new Error(String(failed));
}
