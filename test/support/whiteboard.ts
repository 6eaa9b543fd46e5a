import { mkdir, open, writeFile } from "node:fs/promises";
import path from "node:path";
import { formatKeyValue } from "../../src/common/keyvalue.js";
import { haPaths } from "../../src/common/paths.js";
import {
  encodeHostBlock,
  type HostBlockInput,
  SEGMENT_COUNT,
  SEGMENT_SIZE,
} from "../../src/storage/whiteboard/index.js";

/** An empty whiteboard (metadata volume) at `file`: every segment zero, directories made. */
export async function makeWhiteboard(file: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, Buffer.alloc(SEGMENT_COUNT * SEGMENT_SIZE));
}

/** `root`'s hosted-engine.conf holding `conf` (directories made). */
export async function writeHostConf(root: string, conf: Record<string, string>): Promise<void> {
  const hostConf = haPaths(root).hostConf;
  await mkdir(path.dirname(hostConf), { recursive: true });
  await writeFile(hostConf, formatKeyValue(Object.entries(conf)));
}

/** A live host's block as an agent publishes it (EngineDown, score 3400), with `over`. */
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

/** Writes `data` at segment `index` of the whiteboard `file`. */
export async function writeSegment(file: string, index: number, data: Buffer): Promise<void> {
  const fh = await open(file, "r+");
  try {
    await fh.write(data, 0, data.length, index * SEGMENT_SIZE);
  } finally {
    await fh.close();
  }
}

/** Writes `input`'s block at its host's segment, as that host's agent would. */
export async function writeHostBlock(file: string, input: HostBlockInput): Promise<void> {
  await writeSegment(file, input.hostId, encodeHostBlock(input));
}

/** The bytes of segment `index` of the whiteboard `file`. */
export async function segmentOnDisk(file: string, index: number): Promise<Buffer> {
  const fh = await open(file, "r");
  try {
    const buf = Buffer.alloc(SEGMENT_SIZE);
    await fh.read(buf, 0, SEGMENT_SIZE, index * SEGMENT_SIZE);
    return buf;
  } finally {
    await fh.close();
  }
}
