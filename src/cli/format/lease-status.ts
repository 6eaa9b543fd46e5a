import type { EngineLease } from "../../storage/engine-lease.js";

/** What `he-ha lease status` reports (also its --json document). */
export interface LeaseStatus {
  hostId: number;
  /** the storage domain: its type, file or block, what is connected and by whom */
  storage: { domainType: string; kind: string; connection: string; through: "VDSM" | "he-ha" };
  /** where vm.conf came from */
  vmConf: string;
  /** the lease that guards the engine VM (the first of `leases`) */
  guard: EngineLease;
  /** every lease of the engine VM (libvirt's lock manager takes all) */
  leases: EngineLease[];
  /** who takes the guard on this host, and why (lease-holder.ts) */
  holder: { holder: "agent" | "libvirt"; why: string };
  /** the lockspaces the agent needs on this host, and whether sanlock has them joined */
  lockspaces: Array<{ name: string; path: string; joined: boolean; hostId: number | null }>;
  /** the guard's owner as written on storage (sanlock read_resource_owners); null = free */
  owner: { hostId: number; generation: number; timestamp: number } | null;
  /** this host's generation in the storage domain's lockspace (null: not joined) */
  ownGeneration: number | null;
  /** processes of this host holding the guard (pid, or "orphan") */
  heldHere: Array<number | "orphan">;
  /** sanlock could not be asked (no daemon): why */
  sanlockError?: string;
}

const pad = (label: string) => `${label}:`.padEnd(22);

/** The human form of `he-ha lease status`. */
export function formatLeaseStatus(s: LeaseStatus): string {
  const g = s.guard;
  const lines = [
    `${pad("Engine VM guarded by")}${g.lockspace}:${g.resource}`,
    `${pad("  lockspace")}${g.lockspace} (the storage domain)`,
    `${pad("  resource")}${g.resource} (${g.kind === "volume" ? "volume lease" : "VM lease"})`,
    `${pad("  path")}${g.path}`,
    `${pad("  offset")}${g.offset}`,
    `${pad("  from")}${g.from} (${g.source}) in ${s.vmConf}`,
    `${pad("Taken by")}${s.holder.holder === "libvirt" ? "libvirt's sanlock lock manager, for qemu" : "the agent"} (${s.holder.why})`,
  ];
  for (const extra of s.leases.slice(1))
    lines.push(
      `${pad("Also in the XML")}${extra.lockspace}:${extra.resource} at ${extra.path}:${extra.offset}`,
    );
  lines.push(
    `${pad("Storage domain")}${s.storage.domainType} (${s.storage.kind}) ${s.storage.connection}, connected by ${s.storage.through}`,
  );
  lines.push(`Lockspaces of host ${s.hostId}:`);
  for (const ls of s.lockspaces)
    lines.push(`  ${ls.joined ? "joined    " : "NOT joined"} ${ls.name} on ${ls.path}`);
  if (s.sanlockError) lines.push(`${pad("sanlock")}${s.sanlockError}`);
  const owner = s.owner
    ? `host ${s.owner.hostId} (generation ${s.owner.generation})${
        s.owner.hostId === s.hostId && s.owner.generation === s.ownGeneration ? ": this host" : ""
      }`
    : "nobody (free)";
  lines.push(`${pad("Owner on storage")}${owner}`);
  lines.push(
    `${pad("Held on this host")}${
      s.heldHere.length === 0
        ? "no"
        : s.heldHere
            .map((h) => (h === "orphan" ? "orphan (agent restarting)" : `pid ${h}`))
            .join(", ")
    }`,
  );
  return `${lines.join("\n")}\n`;
}
