import type { Command } from "commander";
import { haPaths } from "../../common/paths.js";
import type { SectorGeometry } from "../../common/sector-geometry.js";
import { CliError } from "../errors.js";
import type { LeaseStatus } from "../format/lease-status.js";
import { group, withJson } from "../program.js";
import { context, vmConfText } from "../vm-context.js";

/**
 * `he-ha lease status`: which sanlock resource guards the engine VM (resolved from
 * vm.conf as the agent resolves it), this host's lockspaces, and the resource's owner
 * as sanlock reports it, so that during a migration an admin can check that every host,
 * Python or not, agrees on one lock.
 */
async function leaseStatus(): Promise<LeaseStatus> {
  const ctx = await context();
  const { conf, volumes } = ctx;
  const { parseVmConf } = await import("../../storage/ovf/vmconf.js");
  const { leaseResolver } = await import("../../agent/engine-vm-factory.js");
  const { agentLockspaces } = await import("../../agent/daemon.js");
  const { leaseHolderFor } = await import("../../agent/lease-holder.js");
  const { VmLease } = await import("../../sanlock/vm-lease.js");
  const { parseClientStatus } = await import("../../sanlock/names.js");
  const { execFile } = await import("node:child_process");
  const { silentLogger } = await import("../../common/log.js");
  const { domainGeometryFor } = await import("../../storage/domain-geometry.js");
  const { vmBackendFor, localVdsmApi } = await import("../../vdsm/backend-choice.js");
  const { describeConnection } = await import("../../vdsm/host-storage.js");
  const { domainTypeRule } = await import("../../common/domain-types.js");
  const vmConf = await vmConfText(ctx);
  let backend: Awaited<ReturnType<typeof vmBackendFor>>;
  try {
    backend = await vmBackendFor(conf, haPaths().root);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  // VDSM hosts: the disk's volume lease as VDSM's Volume.getInfo reports it
  const vdsm =
    backend.backend === "vdsm" ? localVdsmApi(conf, haPaths().root, silentLogger) : undefined;
  let leases: LeaseStatus["leases"];
  try {
    leases = await leaseResolver(
      { hostConf: conf, volumes },
      vmConf.source,
      vdsm,
    )(parseVmConf(vmConf.text, vmConf.source));
  } catch (e) {
    throw new CliError((e as Error).message);
  } finally {
    vdsm?.client.close();
  }
  const guard = leases[0]!;
  const holder = await leaseHolderFor(conf, haPaths().root);
  const wanted = agentLockspaces(conf, volumes);
  const status: LeaseStatus = {
    hostId: conf.hostId,
    storage: {
      domainType: conf.domainType,
      kind: domainTypeRule(conf.domainType).kind,
      connection: describeConnection(conf),
      through: backend.backend === "vdsm" ? "VDSM" : "he-ha",
    },
    vmConf: vmConf.source,
    guard,
    leases,
    holder: { holder: holder.holder, why: holder.why },
    lockspaces: wanted.map((w) => ({ name: w.name, path: w.path, joined: false, hostId: null })),
    owner: null,
    ownGeneration: null,
    heldHere: [],
  };
  const client = await new Promise<{ ok: boolean; output: string }>((resolve) =>
    execFile("sanlock", ["client", "status"], { timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ ok: !err, output: err ? (stderr || stdout || err.message).trim() : stdout }),
    ),
  );
  if (!client.ok) {
    status.sanlockError = `sanlock client status failed: ${client.output} (is the sanlock daemon running?)`;
    return status;
  }
  const seen = parseClientStatus(client.output);
  status.lockspaces = wanted.map((w) => {
    const s = seen.lockspaces.find((l) => l.name === w.name);
    return { name: w.name, path: w.path, joined: s !== undefined, hostId: s?.hostId ?? null };
  });
  status.heldHere = seen.resources
    .filter((r) => r.lockspace === guard.lockspace && r.resource === guard.resource)
    .map((r) => r.holder);
  let geometry: SectorGeometry | null;
  try {
    // the domain's sector geometry, as the agent asks sanlock with it; a volume of
    // another sector size is reported, and sanlock is not asked. On VDSM hosts none:
    // sanlock reads each lease's own (reading owners writes nothing)
    geometry = vdsm ? null : await domainGeometryFor(volumes).resolve();
  } catch (e) {
    status.sanlockError = (e as Error).message;
    return status;
  }
  const lease = new VmLease(
    { ...guard, hostId: conf.hostId, ...(geometry ? { geometry } : {}) },
    { log: silentLogger },
  );
  try {
    status.owner = await lease.owner();
    status.ownGeneration = await lease.generation();
  } catch (e) {
    status.sanlockError = (e as Error).message;
  } finally {
    lease.close();
  }
  return status;
}

export function register(program: Command): void {
  withJson(
    group(program, "lease", "the sanlock lease that guards the engine VM")
      .command("status")
      .description(
        "which lease guards the engine VM, this host's lockspaces, and who owns the lease",
      ),
  ).action(async (opts: { json?: boolean }) => {
    const status = await leaseStatus();
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(status)}\n`);
      return;
    }
    const { formatLeaseStatus } = await import("../format/lease-status.js");
    process.stdout.write(formatLeaseStatus(status));
  });
}
