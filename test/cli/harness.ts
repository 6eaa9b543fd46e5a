import path from "node:path";
import { productArgs } from "../../lab/children.js";
import type { HostBlockInput } from "../../src/storage/whiteboard/index.js";
import { type Ran, runTool } from "../support/run.js";
import { removeDir, tempDir } from "../support/temp.js";
import { blockInput, makeWhiteboard, writeHostConf } from "../support/whiteboard.js";

/** Runs `he-ha` as a whole process under HE_HA_ROOT=root. */
export function runHeHa(root: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Ran> {
  return runTool(process.execPath, productArgs("he-ha", ...args), {
    env: { ...process.env, ...env, HE_HA_ROOT: root },
  });
}

export const SD_UUID = "5f2b9c1e-3a4d-4e6f-8a9b-0c1d2e3f4a5b";
export const META_IMG = "11111111-1111-1111-1111-111111111111";
export const META_VOL = "22222222-2222-2222-2222-222222222222";

/**
 * A temp host root with hosted-engine.conf pointing at a file domain holding a metadata
 * volume only: `he-ha` reads and writes it directly, no lockspace or broker (those are
 * test/broker/broker-harness.ts makeDomain/makeHostRoot).
 */
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
  await makeWhiteboard(metadata);
  await writeHostConf(root, {
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
  });
  return { root, domain, metadata, cleanup: () => removeDir(root) };
}

/** The segment of a host whose agent exited cleanly (AgentStopped). */
export function stoppedInput(hostId: number): HostBlockInput {
  return blockInput(hostId, {
    score: 0,
    stopped: true,
    stateExtra: { maintenance: "False", state: "AgentStopped", stopped: "True" },
  });
}
