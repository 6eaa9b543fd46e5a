import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { productArgs } from "../../lab/children.js";
import { formatKeyValue } from "../../src/common/keyvalue.js";
import { haPaths } from "../../src/common/paths.js";
import {
  encodeHostBlock,
  type HostBlockInput,
  SEGMENT_COUNT,
  SEGMENT_SIZE,
} from "../../src/storage/whiteboard/index.js";
import { type Ran, runTool } from "../support/run.js";
import { removeDir, tempDir } from "../support/temp.js";

/** Runs `he-ha` as a whole process under HE_HA_ROOT=root. */
export function runHeHa(root: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Ran> {
  return runTool(process.execPath, productArgs("he-ha", ...args), {
    env: { ...process.env, ...env, HE_HA_ROOT: root },
  });
}

export const SD_UUID = "5f2b9c1e-3a4d-4e6f-8a9b-0c1d2e3f4a5b";
export const META_IMG = "11111111-1111-1111-1111-111111111111";
export const META_VOL = "22222222-2222-2222-2222-222222222222";

/** A temp host root with hosted-engine.conf pointing at a file domain holding a metadata volume. */
export interface HostRoot {
  root: string;
  domain: string;
  metadata: string;
  cleanup(): Promise<void>;
}

export async function makeHostRoot(
  hostId = 1,
  extraConf: Record<string, string> = {},
): Promise<HostRoot> {
  const root = await tempDir("cli");
  const domain = path.join(root, "domain", SD_UUID);
  const metadata = path.join(domain, "images", META_IMG, META_VOL);
  await mkdir(path.dirname(metadata), { recursive: true });
  await writeFile(metadata, Buffer.alloc(SEGMENT_COUNT * SEGMENT_SIZE));
  const conf: Record<string, string> = {
    fqdn: "engine.example.com",
    vmid: "8a0b3a4c-0d5e-4f6a-9b7c-1d2e3f4a5b6c",
    storage: "nfs.example.com:/he",
    domainType: "nfs",
    sdUUID: SD_UUID,
    spUUID: "00000000-0000-0000-0000-000000000000",
    host_id: String(hostId),
    domain_path: domain,
    metadata_image_UUID: META_IMG,
    metadata_volume_UUID: META_VOL,
    ...extraConf,
  };
  const hostConf = haPaths(root).hostConf;
  await mkdir(path.dirname(hostConf), { recursive: true });
  await writeFile(hostConf, formatKeyValue(Object.entries(conf)));
  return { root, domain, metadata, cleanup: () => removeDir(root) };
}

export function blockInput(hostId: number, over: Partial<HostBlockInput> = {}): HostBlockInput {
  return {
    timestamp: 1000 + hostId,
    hostId,
    score: 3400,
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
    vmConfRefreshTime: 900,
    stateExtra: { maintenance: "False", state: "EngineDown", stopped: "False" },
    ...over,
  };
}

/** The segment of a host whose agent exited cleanly (AgentStopped). */
export function stoppedInput(hostId: number): HostBlockInput {
  return blockInput(hostId, {
    score: 0,
    stopped: true,
    stateExtra: { maintenance: "False", state: "AgentStopped", stopped: "True" },
  });
}

export async function writeSegment(file: string, index: number, data: Buffer): Promise<void> {
  const { open } = await import("node:fs/promises");
  const fh = await open(file, "r+");
  try {
    await fh.write(data, 0, data.length, index * SEGMENT_SIZE);
  } finally {
    await fh.close();
  }
}

export async function writeHostBlock(file: string, input: HostBlockInput): Promise<void> {
  await writeSegment(file, input.hostId, encodeHostBlock(input));
}
