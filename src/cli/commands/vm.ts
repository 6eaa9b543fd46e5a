import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import type { HostConfig } from "../../common/host-config.js";
import { haPaths } from "../../common/paths.js";
import { CliError } from "../errors.js";
import { group, withJson } from "../program.js";

/**
 * `he-ha vm start|shutdown|poweroff` (hosted-engine --vm-start/--vm-shutdown/--vm-poweroff):
 * the engine VM on this host's hypervisor (hosted-engine.conf `libvirt_uri`). Start takes
 * the VM's sanlock lease first, the same lease the agent takes, so the VM never runs on
 * two hosts; the lease is left held for this host (orphan) and the agent adopts it.
 *
 * libvirt, sanlock and the VM definition are loaded inside the actions: every he-ha run
 * registers every command, and those modules are heavy.
 */

interface VmOpts {
  json?: boolean;
}

type Outcome = Record<string, unknown> & { vmId: string; text: string };

function print(opts: VmOpts, outcome: Outcome): void {
  const { text, ...rest } = outcome;
  process.stdout.write(opts.json ? `${JSON.stringify(rest)}\n` : `${text}\n`);
}

interface Context {
  conf: HostConfig;
  volumes: { domain: string; lockspace: string; conf: string };
}

async function context(): Promise<Context> {
  const { loadHostConfig } = await import("../../common/host-config.js");
  const { haVolumes } = await import("../../storage/domain.js");
  const paths = haPaths();
  const conf = await loadHostConfig(paths.hostConf);
  if (!conf.vmId) throw new CliError(`${paths.hostConf}: vmid (the engine VM uuid) is not set`);
  return { conf, volumes: haVolumes(conf, paths.mountRoot) };
}

/** vm.conf as the agent would use it: the generated file, its fallback, then the archive's copy. */
async function vmConfText(ctx: Context): Promise<{ text: string; source: string }> {
  const paths = haPaths();
  const tried: string[] = [];
  for (const file of [paths.vmConf, paths.vmConfFallback]) {
    try {
      return { text: await readFile(file, "utf8"), source: file };
    } catch (e) {
      tried.push(`${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  if (ctx.volumes.conf) {
    const { readConfMember } = await import("../../storage/archive/conf-archive.js");
    try {
      return {
        text: await readConfMember(ctx.volumes.conf, "vm.conf"),
        source: `vm.conf in ${ctx.volumes.conf}`,
      };
    } catch (e) {
      tried.push((e as Error).message);
    }
  }
  throw new CliError(`no vm.conf for the engine VM: ${tried.join("; ")}`);
}

async function hypervisor(ctx: Context) {
  const { HypervisorConnection } = await import("../../libvirt/hypervisor.js");
  const { silentLogger } = await import("../../common/log.js");
  return new HypervisorConnection(ctx.conf.libvirtUri, silentLogger, { minBackoffMs: 0 });
}

async function vmLease(ctx: Context) {
  const { VmLease, VM_LEASE_OFFSET } = await import("../../sanlock/vm-lease.js");
  const { LOCKSPACE_NAME } = await import("../../broker/lockspace.js");
  const { silentLogger } = await import("../../common/log.js");
  return new VmLease(
    {
      lockspace: LOCKSPACE_NAME,
      vmId: ctx.conf.vmId,
      path: ctx.volumes.lockspace,
      offset: VM_LEASE_OFFSET,
      hostId: ctx.conf.hostId,
    },
    { log: silentLogger },
  );
}

const ACTIVE = new Set(["running", "paused", "blocked", "pmsuspended", "shutdown"]);

async function start(): Promise<Outcome> {
  const ctx = await context();
  const { conf, volumes } = ctx;
  const { parseVmConf } = await import("../../storage/ovf/vmconf.js");
  const { domainXmlFromVmConf } = await import("../../libvirt/domain-xml.js");
  const { domainTypeFor, hostHasKvm } = await import("../../agent/libvirt-vm.js");
  const { leaseHolderFor } = await import("../../agent/lease-holder.js");
  const { isLeaseRefusedByLibvirt } = await import("../../agent/start-failure.js");
  const { LOCKSPACE_NAME } = await import("../../broker/lockspace.js");
  const { VM_LEASE_OFFSET } = await import("../../sanlock/vm-lease.js");
  const { LeaseHeldError } = await import("../../sanlock/errors.js");
  const vmConf = await vmConfText(ctx);
  const xml = domainXmlFromVmConf(parseVmConf(vmConf.text, vmConf.source), {
    domainType: domainTypeFor(conf.libvirtUri, await hostHasKvm()),
    domainDir: volumes.domain,
    bridge: conf.bridge,
    lease: {
      lockspace: LOCKSPACE_NAME,
      key: conf.vmId,
      path: volumes.lockspace,
      offset: VM_LEASE_OFFSET,
    },
  });
  const hv = await hypervisor(ctx);
  try {
    const state = await hv.domainState(conf.vmId);
    if (state !== null && ACTIVE.has(state.state)) {
      return {
        vmId: conf.vmId,
        result: "already-running",
        text: `engine VM ${conf.vmId} is already running on this host (${state.state})`,
      };
    }
    // libvirt's sanlock lock manager takes the lease for qemu as it starts
    const startByLibvirt = async (): Promise<Outcome> => {
      try {
        await hv.startDomain(xml);
      } catch (e) {
        const message = (e as Error).message;
        if (!isLeaseRefusedByLibvirt(message)) throw e;
        throw new CliError(
          `refusing to start the engine VM: libvirt's sanlock lock manager cannot take its lease, so it runs ` +
            `on another host (or that host is not yet known dead); see he-ha status (${message})`,
        );
      }
      return {
        vmId: conf.vmId,
        result: "started",
        lease: "left-to-libvirt",
        text: `engine VM ${conf.vmId} started on ${conf.libvirtUri} from ${vmConf.source}; its lease held by libvirt's sanlock lock manager for qemu`,
      };
    };
    const holder = await leaseHolderFor(conf, haPaths().root);
    if (holder.holder === "libvirt") return await startByLibvirt();
    const lease = await vmLease(ctx);
    try {
      let taken: string;
      try {
        taken = await lease.acquire();
      } catch (e) {
        if (e instanceof LeaseHeldError) {
          const where = e.ownerHostId !== null ? `host ${e.ownerHostId}` : "another host";
          throw new CliError(
            `refusing to start the engine VM: its lease ${lease.resourceString} is held by ${where}, so it runs there ` +
              `(or ${where} is not yet known dead); see he-ha status`,
          );
        }
        throw new CliError(
          `cannot take the engine VM lease ${lease.resourceString}: ${(e as Error).message} ` +
            "(has this host joined lockspace hosted-engine? ovirt-ha-agent does that)",
        );
      }
      try {
        await hv.startDomain(xml);
      } catch (e) {
        await lease.release().catch(() => undefined);
        // refused while we held the lease: libvirt's lock manager is on (auto-lease.ts)
        if (holder.detect && isLeaseRefusedByLibvirt((e as Error).message))
          return await startByLibvirt();
        throw e;
      }
      return {
        vmId: conf.vmId,
        result: "started",
        lease: taken,
        text: `engine VM ${conf.vmId} started on ${conf.libvirtUri} from ${vmConf.source}; lease ${lease.resourceString} ${taken}`,
      };
    } finally {
      // a held lease stays with this host (orphan) for the agent to adopt
      lease.close();
    }
  } finally {
    await hv.close();
  }
}

async function stop(how: "shutdown" | "poweroff"): Promise<Outcome> {
  const ctx = await context();
  const { conf } = ctx;
  const hv = await hypervisor(ctx);
  try {
    const state = await hv.domainState(conf.vmId);
    if (state === null || !ACTIVE.has(state.state)) {
      throw new CliError(
        `engine VM ${conf.vmId} is not running on this host (${conf.libvirtUri}${state ? `: ${state.state}` : ""})`,
      );
    }
    if (how === "shutdown") {
      await hv.shutdownDomain(conf.vmId);
      return {
        vmId: conf.vmId,
        result: "shutdown-requested",
        text: `shutdown requested for engine VM ${conf.vmId}; its lease is released once it is down`,
      };
    }
    await hv.destroyDomain(conf.vmId);
    const lease = await vmLease(ctx);
    try {
      // our orphan is released here; a lease the running agent holds, the agent releases
      const released = await lease.release().catch((e: Error) => `kept (${e.message})`);
      return {
        vmId: conf.vmId,
        result: "powered-off",
        lease: released,
        text: `engine VM ${conf.vmId} powered off; lease ${lease.resourceString}: ${released}`,
      };
    } finally {
      lease.close();
    }
  } finally {
    await hv.close();
  }
}

export function register(program: Command): void {
  const vm = group(program, "vm", "the engine VM on this host");
  withJson(
    vm
      .command("start")
      .description(
        "start the engine VM here, taking its sanlock lease first (hosted-engine --vm-start)",
      ),
  ).action(async (opts: VmOpts) => print(opts, await start()));
  withJson(
    vm
      .command("shutdown")
      .description("ask the engine VM running here to shut down (hosted-engine --vm-shutdown)"),
  ).action(async (opts: VmOpts) => print(opts, await stop("shutdown")));
  withJson(
    vm
      .command("poweroff")
      .description(
        "power the engine VM running here off at once and release its lease (hosted-engine --vm-poweroff)",
      ),
  ).action(async (opts: VmOpts) => print(opts, await stop("poweroff")));
}
