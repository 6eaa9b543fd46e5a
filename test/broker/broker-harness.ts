import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { initLeaseVolume } from "../../lab/standins/lease-volume.js";
import { StorageView } from "../../lab/standins/storage-view.js";
import { haPaths } from "../../src/common/paths.js";
import { encodeHostBlock } from "../../src/storage/whiteboard/index.js";
import { blockInput, makeWhiteboard, writeHostConf } from "../support/whiteboard.js";

export const SD_UUID = "5b2a1c2e-0000-4000-8000-00000000a001";
const MD_IMG = "11111111-0000-4000-8000-000000000001";
const MD_VOL = "11111111-0000-4000-8000-000000000002";
const LS_IMG = "22222222-0000-4000-8000-000000000001";
const LS_VOL = "22222222-0000-4000-8000-000000000002";

export interface TestDomain {
  dir: string;
  domain: string;
  metadata: string;
  lockspace: string;
}

/**
 * A storage domain with an empty whiteboard and (optionally) an initialised lockspace: the
 * minimal domain a broker needs (not VDSM-shaped; `he-ha storage init` makes that one, in
 * test/cli/cluster.ts and test/agent/agent-host.ts).
 */
export async function makeDomain(
  dir: string,
  opts: { lockspace?: boolean } = {},
): Promise<TestDomain> {
  const domain = path.join(dir, "domain", SD_UUID);
  const metadata = path.join(domain, "images", MD_IMG, MD_VOL);
  const lockspace = path.join(domain, "images", LS_IMG, LS_VOL);
  await makeWhiteboard(metadata);
  await mkdir(path.dirname(lockspace), { recursive: true });
  if (opts.lockspace !== false) await initLeaseVolume(lockspace, { ioTimeout: 1 });
  else await writeFile(lockspace, Buffer.alloc(0));
  return { dir, domain, metadata, lockspace };
}

/**
 * A HE_HA_ROOT `<base>/host<id>` for host `hostId` on `domain`, with a scaled-down storage
 * cycle: several hosts share one domain (test/cli/harness.ts makes a lone root for `he-ha`).
 */
export async function makeHostRoot(
  base: string,
  hostId: number,
  domain: TestDomain,
  opts: { cycleSeconds?: number; extraConf?: Record<string, string>; hostsStateTtl?: number } = {},
): Promise<string> {
  const root = path.join(base, `host${hostId}`);
  const p = haPaths(root);
  await mkdir(path.dirname(p.agentConf), { recursive: true });
  await mkdir(p.stateDir, { recursive: true });
  await writeHostConf(root, {
    host_id: String(hostId),
    sdUUID: SD_UUID,
    spUUID: "00000000-0000-0000-0000-000000000000",
    domainType: "nfs",
    storage: "nfs.example.com:/he",
    domain_path: domain.domain,
    vmid: "7d3c1f00-0000-4000-8000-0000000000e1",
    fqdn: "engine.example.com",
    gateway: "127.0.0.1",
    bridge: "ovirtmgmt",
    metadata_image_UUID: MD_IMG,
    metadata_volume_UUID: MD_VOL,
    lockspace_image_UUID: LS_IMG,
    lockspace_volume_UUID: LS_VOL,
    sanlock_io_timeout: "1",
    ...opts.extraConf,
  });
  await writeFile(
    p.agentConf,
    `[timing]\nbroker_storage_cycle=${opts.cycleSeconds ?? 0.5}\nhosts_state_ttl=${opts.hostsStateTtl ?? 60}\n`,
  );
  return root;
}

/** A valid host block as an agent would publish it. */
export function hostBlock(
  hostId: number,
  timestamp: number,
  score = 3400,
  extra: Record<string, string> = {},
): Buffer {
  const input = blockInput(hostId, { timestamp, score, vmConfRefreshTime: timestamp });
  return encodeHostBlock({ ...input, stateExtra: { ...input.stateExtra, ...extra } });
}

/**
 * A shared domain (no lockspace) in `dir`, and the same domain as one host sees it
 * through its own FUSE storage view (lab/standins/storage-view.ts), whose faults (hang,
 * read-only, slow reads) touch that host alone. The caller unmounts the view.
 */
export async function domainThroughView(
  dir: string,
): Promise<{ view: StorageView; domain: TestDomain }> {
  const shared = await makeDomain(dir, { lockspace: false });
  const view = await StorageView.mount({
    source: path.dirname(shared.domain),
    mountpoint: path.join(dir, "host1-mnt"),
    logFile: path.join(dir, "view.log"),
  });
  const through = (p: string) =>
    path.join(view.mountpoint, path.relative(path.dirname(shared.domain), p));
  return {
    view,
    domain: {
      dir,
      domain: through(shared.domain),
      metadata: through(shared.metadata),
      lockspace: through(shared.lockspace),
    },
  };
}
