import type { Command } from "commander";
import { haPaths } from "../../common/paths.js";
import { CliError } from "../errors.js";
import { group, withJson } from "../program.js";
import { type Context, context, vmConfFromFile, vmConfText } from "../vm-context.js";

/**
 * `he-ha vm start|shutdown|poweroff` (hosted-engine --vm-start/--vm-shutdown/--vm-poweroff):
 * the engine VM on this host, through VDSM where the agent
 * uses VDSM (the same VdsmVm, making --vm-start's calls: VM.getStats, VM.destroy of a Down
 * or Paused VM, VM.create; --vm-shutdown's VM.shutdown; --vm-poweroff's VM.destroy), else
 * on this host's libvirt (hosted-engine.conf `libvirt_uri`). Start goes
 * through the agent's own EngineVm: oVirt's lease of the engine VM (the engine disk's
 * volume lease) is taken first, as the agent takes it, so the VM never runs on two hosts;
 * a lease taken here is left held for this host (orphan) and the agent adopts it.
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

/**
 * The engine VM on this host, by the agent's backend choice (vm_backend, VDSM's key and
 * certificate: src/vdsm/backend-choice.ts): through VDSM (VdsmVm, the agent's port) or
 * libvirt directly. `state` is VDSM's status (VM.getStats, as vdsm_helper checkVmStatus)
 * or libvirt's domain state; null when the VM is not on this host.
 */
interface HostVm {
  backend: "vdsm" | "libvirt";
  vm: import("../../agent/ports.js").VmPort;
  /** VDSM's verbs on VDSM hosts (the engine disk's lease: Volume.getInfo) */
  api?: import("../../vdsm/api.js").VdsmApi;
  /** where it runs: `VDSM at localhost:54321` or the libvirt URI */
  where: string;
  state(): Promise<string | null>;
  /** a state of a VM running here (stop acts on it) */
  running(state: string | null): boolean;
  /** a state start leaves alone ("already running"); VDSM replaces a Down or Paused VM */
  keepsStart(state: string | null): boolean;
}

async function hostVm(ctx: Context, root: string): Promise<HostVm> {
  const { conf, volumes } = ctx;
  const { vmBackendFor, vdsmClientOptions } = await import("../../vdsm/backend-choice.js");
  const { silentLogger } = await import("../../common/log.js");
  const choice = await vmBackendFor(conf, root).catch((e: Error) => {
    throw new CliError(e.message);
  });
  if (choice.backend === "vdsm") {
    const { VdsmVm, vdsmVmRunning, vmStartStep } = await import("../../vdsm/vdsm-vm.js");
    const vm = new VdsmVm({
      vmId: conf.vmId,
      log: silentLogger,
      client: vdsmClientOptions(conf, root),
      runDir: haPaths().runDir,
      agentCleanup: false,
    });
    return {
      backend: "vdsm",
      vm,
      api: vm.api,
      where: `VDSM at ${vm.api.client.endpoint}`,
      state: () => vm.status(),
      running: vdsmVmRunning,
      keepsStart: (s) => vmStartStep(s) === "exists",
    };
  }
  const { libvirtEngineVm } = await import("../../agent/main.js");
  const { domainTypeFor, hostHasKvm } = await import("../../agent/libvirt-vm.js");
  const domainType = domainTypeFor(conf.libvirtUri, await hostHasKvm());
  const vm = libvirtEngineVm(
    { hostConf: conf, volumes, domainType },
    silentLogger,
    haPaths().runDir,
  );
  const running = (s: string | null) => s !== null && ACTIVE.has(s);
  return {
    backend: "libvirt",
    vm,
    where: conf.libvirtUri,
    state: async () => (await vm.hypervisor.domainState(conf.vmId))?.state ?? null,
    running,
    keepsStart: running,
  };
}

/**
 * The engine VM and its lease as the agent has them (src/agent/engine-vm.ts): oVirt's
 * lease resolved from vm.conf, taken by the agent's rules (lease-holder.ts); through VDSM
 * libvirt's lock manager takes it for qemu, as in the agent. The CLI closes it without
 * releasing: a lease it took stays with this host for the agent.
 */
async function engineVm(ctx: Context, source: string) {
  const { EngineVm } = await import("../../agent/engine-vm.js");
  const { leaseResolver, vmLeasePort } = await import("../../agent/main.js");
  const { leaseHolderFor } = await import("../../agent/lease-holder.js");
  const { silentLogger } = await import("../../common/log.js");
  const { conf, volumes } = ctx;
  const root = haPaths().root;
  const host = await hostVm(ctx, root);
  const holder =
    host.backend === "vdsm"
      ? { holder: "libvirt" as const, why: "VDSM starts the engine VM" }
      : await leaseHolderFor(conf, root);
  const engine = new EngineVm({
    vm: host.vm,
    // on VDSM hosts the disk's volume lease is where VDSM's Volume.getInfo says
    resolveLeases: leaseResolver({ hostConf: conf, volumes }, source, host.api),
    leasePort: (guard) => vmLeasePort(guard, holder, conf.hostId, silentLogger),
    runDir: haPaths().runDir,
    log: silentLogger,
  });
  return { engine, host };
}

const ACTIVE = new Set(["running", "paused", "blocked", "pmsuspended", "shutdown"]);

const leaseName = (g: { lockspace: string; resource: string } | null) =>
  g ? `${g.lockspace}:${g.resource}` : "(not resolved)";

async function start(vmConfFile?: string): Promise<Outcome> {
  const ctx = await context();
  const { conf } = ctx;
  const { parseVmConf } = await import("../../storage/ovf/vmconf.js");
  const { LeaseHeldError } = await import("../../sanlock/errors.js");
  const vmConf = vmConfFile ? await vmConfFromFile(ctx, vmConfFile) : await vmConfText(ctx);
  const { engine, host } = await engineVm(ctx, vmConf.source);
  try {
    const state = await host.state();
    if (vmConfFile && host.keepsStart(state)) {
      // as the original: a VM that exists (other than Down or Paused) is not replaced
      throw new CliError(
        `engine VM ${conf.vmId} exists on this host and its status is ${state}: ${vmConfFile} not applied (shut it down first: he-ha vm shutdown)`,
      );
    }
    if (host.keepsStart(state)) {
      return {
        vmId: conf.vmId,
        result: "already-running",
        text: `engine VM ${conf.vmId} is already running on this host (${state})`,
      };
    }
    const r = await engine.start(parseVmConf(vmConf.text, vmConf.source));
    if (!r.started) {
      if (r.locked && !(r.err instanceof LeaseHeldError)) {
        throw new CliError(
          `refusing to start the engine VM: libvirt's sanlock lock manager cannot take its lease ${leaseName(r.guard)}, ` +
            `so it runs on another host (or that host is not yet known dead); see he-ha lease status (${r.err.message})`,
        );
      }
      if (r.locked) {
        const owner = (r.err as InstanceType<typeof LeaseHeldError>).ownerHostId;
        const where = owner !== null ? `host ${owner}` : "another host";
        throw new CliError(
          `refusing to start the engine VM: its lease ${leaseName(r.guard)} is held by ${where}, so it runs there ` +
            `(or ${where} is not yet known dead); see he-ha status and he-ha lease status`,
        );
      }
      throw new CliError(
        `${r.reason} (has this host joined the storage domain's lockspace ${conf.sdUUID}? ovirt-ha-agent does that)`,
      );
    }
    const how =
      r.lease === "left-to-libvirt"
        ? "held by libvirt's sanlock lock manager for qemu"
        : `${r.lease} for this host`;
    return {
      vmId: conf.vmId,
      result: "started",
      lease: r.lease,
      resource: leaseName(r.guard),
      backend: host.backend,
      text: `engine VM ${conf.vmId} started on ${host.where} from ${vmConf.source}; lease ${leaseName(r.guard)} ${how}`,
    };
  } finally {
    await engine.close();
  }
}

async function stop(how: "shutdown" | "poweroff"): Promise<Outcome> {
  const ctx = await context();
  const { conf } = ctx;
  // stopping needs no vm.conf: without one the lease is simply not resolved here
  const vmConf = await vmConfText(ctx).catch(() => null);
  const { engine, host } = await engineVm(ctx, vmConf?.source ?? "vm.conf");
  try {
    const state = await host.state();
    if (!host.running(state)) {
      throw new CliError(
        `engine VM ${conf.vmId} is not running on this host (${host.where}${state ? `: ${state}` : ""})`,
      );
    }
    if (how === "shutdown") {
      await engine.shutdown();
      return {
        vmId: conf.vmId,
        result: "shutdown-requested",
        text: `shutdown requested for engine VM ${conf.vmId}; its lease is released once it is down`,
      };
    }
    if (vmConf) {
      const { parseVmConf } = await import("../../storage/ovf/vmconf.js");
      // an unresolvable lease must not stop a power-off: the VM goes down regardless
      await engine.prepare(parseVmConf(vmConf.text, vmConf.source)).catch(() => []);
    }
    // our orphan is released here; a lease the running agent holds, the agent releases
    const released = await engine.powerOff();
    return {
      vmId: conf.vmId,
      result: "powered-off",
      lease: released,
      text: `engine VM ${conf.vmId} powered off; lease ${leaseName(engine.guard)}: ${released}`,
    };
  } finally {
    await engine.close();
  }
}

export function register(program: Command): void {
  const vm = group(program, "vm", "the engine VM on this host");
  withJson(
    vm
      .command("start")
      .description(
        "start the engine VM here, taking its sanlock lease first (hosted-engine --vm-start)",
      )
      .option(
        "--vm-conf <file>",
        "start from this vm.conf instead of the agent's (hosted-engine --vm-start --vm-conf=, the recovery path)",
      ),
  ).action(async (opts: VmOpts & { vmConf?: string }) => print(opts, await start(opts.vmConf)));
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
