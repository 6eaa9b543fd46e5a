import { open, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ReopeningMetadataStore, ShortVolumeError } from "../../src/broker/metadata-store.js";
import { StorageCycle } from "../../src/broker/storage-cycle.js";
import { silentLogger } from "../../src/common/log.js";
import { SCAN_CHUNK_SEGMENTS } from "../../src/storage/direct-io.js";
import { SEGMENT_COUNT, SEGMENT_SIZE } from "../../src/storage/whiteboard/types.js";
import { removeDir, tempDir } from "../support/temp.js";

/** A segment whose text names its index and a version, NUL-padded. */
function segment(index: number, version: number): Buffer {
  const b = Buffer.alloc(SEGMENT_SIZE);
  b.write(`segment ${index} version ${version}`);
  return b;
}

/** Non-empty segments as text, from a scan (views are only valid during the visit). */
async function scanText(store: ReopeningMetadataStore) {
  const seen = new Map<number, string>();
  const count = await store.scanSegments((i, seg) => {
    if (seg[0] !== 0) seen.set(i, seg.toString("latin1").replace(/\0+$/, ""));
  });
  return { count, seen };
}

describe("whiteboard reads of the broker", () => {
  let dir: string;
  const stores: ReopeningMetadataStore[] = [];
  // segments at both ends of a chunk, in the last chunk, and the last segment of all
  const used = [0, 1, SCAN_CHUNK_SEGMENTS - 1, SCAN_CHUNK_SEGMENTS, 1999, SEGMENT_COUNT - 1];

  beforeAll(async () => {
    dir = await tempDir("broker-scan");
  });
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await removeDir(dir);
  });

  async function volume(name: string, segments: number, extraBytes = 0) {
    const file = path.join(dir, name);
    const buf = Buffer.alloc(segments * SEGMENT_SIZE + extraBytes);
    for (const i of used) if (i < segments) segment(i, 1).copy(buf, i * SEGMENT_SIZE);
    if (extraBytes > 0) buf.fill(0x41, segments * SEGMENT_SIZE);
    await writeFile(file, buf);
    const store = new ReopeningMetadataStore(file, silentLogger);
    stores.push(store);
    return { file, store };
  }

  it("reads every segment of the volume, chunk by chunk, in order", async () => {
    const { store } = await volume("full", SEGMENT_COUNT);
    const order: number[] = [];
    const count = await store.scanSegments((i) => order.push(i));
    expect(count).toBe(SEGMENT_COUNT);
    expect(order).toEqual(Array.from({ length: SEGMENT_COUNT }, (_, i) => i));
    const { seen } = await scanText(store);
    expect([...seen.keys()]).toEqual(used);
    expect(seen.get(1999)).toBe("segment 1999 version 1");
  });

  it("refuses a volume shorter than the whiteboard, for reads and writes, and never extends it", async () => {
    const { file, store } = await volume("short", SCAN_CHUNK_SEGMENTS + 3, 100);
    const size = (SCAN_CHUNK_SEGMENTS + 3) * SEGMENT_SIZE + 100;
    const read = await scanText(store).catch((e: unknown) => e);
    expect(read).toBeInstanceOf(ShortVolumeError);
    expect((read as Error).message).toBe(
      `metadata volume ${file} is ${size} bytes; the whiteboard needs ${SEGMENT_COUNT * SEGMENT_SIZE} (2001 segments × 4096): refusing to read or write it`,
    );
    await expect(store.writeSegment(1999, segment(1999, 2))).rejects.toBeInstanceOf(
      ShortVolumeError,
    );
    expect((await stat(file)).size).toBe(size);
  });

  it("gives two reads at once each the right data", async () => {
    const { store } = await volume("concurrent", SEGMENT_COUNT);
    const [a, b] = await Promise.all([scanText(store), scanText(store)]);
    expect(a.seen).toEqual(b.seen);
    expect(a.seen.size).toBe(used.length);
  });

  it("keeps what the cycle answers intact when the next read reuses the buffer", async () => {
    const { file, store } = await volume("cycle", SEGMENT_COUNT);
    const cycle = new StorageCycle({
      store,
      lease: { holdsHostId: async () => false },
      hostId: 1,
      cycleSeconds: 3600,
      log: silentLogger,
    });
    cycle.start();
    try {
      await cycle.nextCycle();
      const first = cycle.segments();
      expect(first.get(1999)!.toString("latin1", 0, 22)).toBe("segment 1999 version 1");

      // another host rewrites its segment; the next read fills the same buffer
      const h = await open(file, "r+");
      await h.write(segment(1999, 2), 0, SEGMENT_SIZE, 1999 * SEGMENT_SIZE);
      await h.close();
      await cycle.nextCycle();
      const second = cycle.segments();
      expect(second.get(1999)!.toString("latin1", 0, 22)).toBe("segment 1999 version 2");
      expect(first.get(1999)!.toString("latin1", 0, 22)).toBe("segment 1999 version 1");
      // unchanged segments are the same buffers as before, not new copies
      expect(second.get(SCAN_CHUNK_SEGMENTS)).toBe(first.get(SCAN_CHUNK_SEGMENTS));
    } finally {
      await cycle.stop();
    }
  });
});
