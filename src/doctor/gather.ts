import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { qemuConfPath, qemuLockManager } from "../agent/lease-holder.js";
import type { BrokerStatus } from "../broker/status.js";
import { type AgentConf, agentConfDigests } from "../common/agent-conf.js";
import type { HostConfig } from "../common/host-config.js";
import { systemTime, withTimeout } from "../common/host-time.js";
import { geometryFromDomainMetadata } from "../common/sector-geometry.js";
import { parseDomainMetadata } from "../storage/domain-metadata.js";
import { sectorSizeOf } from "../storage/sector-probe.js";
import type { VmBackend } from "../vdsm/backend-choice.js";
import { type DoctorFacts, SELINUX_MODULE } from "./checks.js";

/** A host block unchanged for an hour is stale by default. */
export const DEFAULT_STALE_AFTER_SECONDS = 3600;

export interface GatherInput {
  /** HE_HA_ROOT: "/" on a real host; every system path is read under it */
  root: string;
  status: BrokerStatus;
  conf: AgentConf;
  hostConf: HostConfig;
  hostname: string;
  metadataVolume: string;
  readSeconds: readonly number[];
  backend: VmBackend;
  /** asks VDSM for Host.ping2 (absent when the backend is libvirt) */
  pingVdsm?: () => Promise<unknown>;
  staleAfterSeconds?: number;
  nowWall?: number;
  /**
   * each I/O check's time limit in seconds (default 10): a check that does not finish in
   * time counts as failed or unknown (a VDSM that never answers: not reachable)
   */
  timeoutSeconds?: number;
}

const DEFAULT_CHECK_TIMEOUT_SECONDS = 10;

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

/** The sector size I/O to the metadata volume must respect (sector-probe.ts), null: unknown. */
async function volumeSectorSize(file: string): Promise<number | null> {
  return sectorSizeOf(file).catch(() => null);
}

/** BLOCK_SIZE of the file domain holding the metadata volume (<domain>/images/<img>/<vol>). */
async function domainBlockSize(metadataVolume: string): Promise<number | null> {
  const file = path.resolve(metadataVolume, "../../../dom_md/metadata");
  try {
    const fields = parseDomainMetadata(await readFile(file, "utf8"), file);
    return geometryFromDomainMetadata(fields, file).sectorSize;
  } catch {
    return null;
  }
}

/** The `key = value` lines of a libvirt config file (quotes dropped); null when absent. */
async function libvirtConf(file: string): Promise<Map<string, string> | null> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    return null;
  }
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^\s*(\w+)\s*=\s*"?([^"#]*?)"?\s*(#.*)?$/.exec(line);
    if (m) out.set(m[1]!, m[2]!.trim());
  }
  return out;
}

async function wdmdRunning(root: string): Promise<boolean> {
  try {
    const pid = Number((await readFile(path.join(root, "run/wdmd/wdmd.pid"), "utf8")).trim());
    if (!Number.isInteger(pid) || pid <= 0) return false;
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function selinuxModuleLoaded(root: string): Promise<boolean> {
  const base = path.join(root, "var/lib/selinux");
  try {
    for (const policy of await readdir(base)) {
      const modules = path.join(base, policy, "active/modules");
      for (const prio of await readdir(modules).catch(() => [])) {
        if (await exists(path.join(modules, prio, SELINUX_MODULE))) return true;
      }
    }
  } catch {
    return false;
  }
  return false;
}

/** The thin I/O layer of `he-ha doctor`: reads every fact once; the checks are pure. */
export async function gatherDoctorFacts(g: GatherInput): Promise<DoctorFacts> {
  const qemuConf = qemuConfPath(g.root);
  const limit = g.timeoutSeconds ?? DEFAULT_CHECK_TIMEOUT_SECONDS;
  const bounded = <T>(what: string, p: Promise<T>): Promise<T> =>
    withTimeout(systemTime, p, limit, () => new Error(`${what}: no answer within ${limit} s`));
  /** a file check: unknown (`fallback`) when it fails or hangs */
  const check = <T>(what: string, p: Promise<T>, fallback: T): Promise<T> =>
    bounded(what, p).catch(() => fallback);
  const [logical, blockSize, qemuText, sanlockConf, watchdog, wdmd, selinuxOn, module] =
    await Promise.all([
      check("sector size", volumeSectorSize(g.metadataVolume), null),
      check("domain block size", domainBlockSize(g.metadataVolume), null),
      check("qemu.conf", readFile(qemuConf, "utf8"), null),
      check(
        "qemu-sanlock.conf",
        libvirtConf(path.join(g.root, "etc/libvirt/qemu-sanlock.conf")),
        null,
      ),
      check("watchdog", exists(path.join(g.root, "dev/watchdog")), false),
      check("wdmd", wdmdRunning(g.root), false),
      check("selinux", exists(path.join(g.root, "sys/fs/selinux/enforce")), false),
      check("selinux module", selinuxModuleLoaded(g.root), false),
    ]);
  let reachable: boolean | null = null;
  let vdsmError: string | null = null;
  if (g.backend === "vdsm" && g.pingVdsm) {
    try {
      await bounded("VDSM Host.ping2", g.pingVdsm());
      reachable = true;
    } catch (e) {
      reachable = false;
      vdsmError = (e as Error).message;
    }
  }
  const hc = g.hostConf;
  const target =
    hc.networkTest === "tcp" ? `${hc.tcpTAddress}:${hc.tcpTPort}` : hc.gateway || "(no gateway)";
  return {
    status: g.status,
    conf: g.conf,
    digests: agentConfDigests(g.conf),
    ioTimeout: hc.sanlockIoTimeout,
    hostname: g.hostname,
    nowWall: g.nowWall ?? Date.now() / 1000,
    staleAfterSeconds: g.staleAfterSeconds ?? DEFAULT_STALE_AFTER_SECONDS,
    network: { method: hc.networkTest, target },
    readSeconds: g.readSeconds,
    sector: { volume: g.metadataVolume, logical, domainBlockSize: blockSize },
    watchdog: { device: path.join(g.root, "dev/watchdog"), present: watchdog, wdmdRunning: wdmd },
    libvirt: {
      qemuConf,
      lockManager: qemuText === null ? null : (qemuLockManager(qemuText) ?? null),
      sanlockConf,
    },
    vdsm: { backend: g.backend, reachable, error: vdsmError },
    selinux: { enabled: selinuxOn, moduleLoaded: selinuxOn ? module : null },
  };
}
