import { crc32Hex } from "../../src/storage/whiteboard/crc.js";
import type { HostBlockInput } from "../../src/storage/whiteboard/types.js";

/** The example block of behaviour.md §3 (its CRC is real). */
export const SPEC_EXAMPLE_LINE =
  '1|1|12345|2|3400|{"vm": "up", "health": "good", "detail": "Up"}|host2.example.com|0|0|c768ad70|1|12000';

export function specExampleInput(over: Partial<HostBlockInput> = {}): HostBlockInput {
  return {
    timestamp: 12345,
    hostId: 2,
    score: 3400,
    engineStatus: { vm: "up", health: "good", detail: "Up" },
    hostname: "host2.example.com",
    maintenance: false,
    stopped: false,
    confOnSharedStorage: true,
    vmConfRefreshTime: 12000,
    stateExtra: { maintenance: "False", state: "EngineUp", stopped: "False" },
    ...over,
  };
}

/**
 * A segment holding `fields` joined by `|` as its first line (NUL-padded to 4096),
 * with the CRC field (index 9, when present) recomputed unless `keepCrc`.
 */
export function segmentFromFields(
  fields: string[],
  opts: { keepCrc?: boolean; extra?: string } = {},
): Buffer {
  const f = [...fields];
  if (f.length >= 10 && !opts.keepCrc) {
    f[9] = "00000000";
    f[9] = crc32Hex(Buffer.from(f.join("|"), "utf8"));
  }
  const seg = Buffer.alloc(4096);
  seg.write(f.join("|"), 0, "utf8");
  if (opts.extra !== undefined) seg.write(opts.extra, 512, "utf8");
  return seg;
}

export const EXAMPLE_FIELDS = SPEC_EXAMPLE_LINE.split("|");
