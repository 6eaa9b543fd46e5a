import { mkdir, open, writeFile } from "node:fs/promises";
import path from "node:path";
import { initLeaseVolume } from "../../lab/sim/lease-volume.js";
import { formatKeyValue } from "../../src/common/keyvalue.js";
import { haPaths } from "../../src/common/paths.js";
import { encodeHostBlock } from "../../src/storage/whiteboard/index.js";
import { SEGMENT_COUNT, SEGMENT_SIZE } from "../../src/storage/whiteboard/types.js";

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

/** A storage domain with an empty whiteboard and (optionally) an initialised lockspace. */
export async function makeDomain(
  dir: string,
  opts: { lockspace?: boolean } = {},
): Promise<TestDomain> {
  const domain = path.join(dir, "domain", SD_UUID);
  const metadata = path.join(domain, "images", MD_IMG, MD_VOL);
  const lockspace = path.join(domain, "images", LS_IMG, LS_VOL);
  await mkdir(path.dirname(metadata), { recursive: true });
  await mkdir(path.dirname(lockspace), { recursive: true });
  const f = await open(metadata, "w");
  await f.truncate(SEGMENT_COUNT * SEGMENT_SIZE);
  await f.close();
  if (opts.lockspace !== false) await initLeaseVolume(lockspace, { ioTimeout: 1 });
  else await writeFile(lockspace, Buffer.alloc(0));
  return { dir, domain, metadata, lockspace };
}

/** A HE_HA_ROOT for host `hostId` on `domain`, with a scaled-down storage cycle. */
export async function makeHostRoot(
  base: string,
  hostId: number,
  domain: TestDomain,
  opts: { cycleSeconds?: number; extraConf?: Record<string, string>; hostsStateTtl?: number } = {},
): Promise<string> {
  const root = path.join(base, `host${hostId}`);
  const p = haPaths(root);
  await mkdir(path.dirname(p.hostConf), { recursive: true });
  await mkdir(path.dirname(p.agentConf), { recursive: true });
  await mkdir(p.stateDir, { recursive: true });
  const conf: Record<string, string> = {
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
  };
  await writeFile(p.hostConf, formatKeyValue(Object.entries(conf)));
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
  return encodeHostBlock({
    timestamp,
    hostId,
    score,
    engineStatus: {
      vm: "down",
      health: "bad",
      detail: "unknown",
      reason: "vm not running on this host",
    },
    hostname: `host${hostId}.example.com`,
    maintenance: false,
    stopped: false,
    confOnSharedStorage: true,
    vmConfRefreshTime: timestamp,
    stateExtra: { maintenance: "False", state: "EngineDown", stopped: "False", ...extra },
  });
}

/** The bytes of segment `index` of a metadata file. */
export async function segmentOnDisk(metadata: string, index: number): Promise<Buffer> {
  const f = await open(metadata, "r");
  try {
    const buf = Buffer.alloc(SEGMENT_SIZE);
    await f.read(buf, 0, SEGMENT_SIZE, index * SEGMENT_SIZE);
    return buf;
  } finally {
    await f.close();
  }
}
