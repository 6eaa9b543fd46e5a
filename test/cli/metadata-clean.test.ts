import { readFile } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { decodeHostBlock, SEGMENT_SIZE } from "../../src/storage/whiteboard/index.js";
import { blockInput, writeHostBlock, writeSegment } from "../support/whiteboard.js";
import { type HostRoot, makeHostRoot, runHeHa, stoppedInput } from "./harness.js";

async function segment(file: string, index: number): Promise<Buffer> {
  const all = await readFile(file);
  return all.subarray(index * SEGMENT_SIZE, (index + 1) * SEGMENT_SIZE);
}

const isZero = (b: Buffer) => b.every((x) => x === 0);

describe("he-ha metadata clean (hosted-engine --clean-metadata)", () => {
  let host: HostRoot | undefined;
  afterEach(async () => {
    await host?.cleanup();
    host = undefined;
  });

  it("erases this host's segment when its agent stopped, leaving every other segment", async () => {
    host = await makeHostRoot(2);
    await writeHostBlock(host.metadata, stoppedInput(2));
    await writeHostBlock(host.metadata, blockInput(1));
    await writeHostBlock(host.metadata, blockInput(3));
    const before = await readFile(host.metadata);
    const r = await runHeHa(host.root, ["metadata", "clean"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      `cleaned the metadata of host 2: segment at byte 8192 of ${host.metadata} is now empty\n`,
    );
    const after = await readFile(host.metadata);
    expect(isZero(after.subarray(2 * SEGMENT_SIZE, 3 * SEGMENT_SIZE))).toBe(true);
    // Buffer.equals: toEqual walks 8 MB byte by byte
    expect(after.subarray(0, 2 * SEGMENT_SIZE).equals(before.subarray(0, 2 * SEGMENT_SIZE))).toBe(
      true,
    );
    expect(after.subarray(3 * SEGMENT_SIZE).equals(before.subarray(3 * SEGMENT_SIZE))).toBe(true);
  });

  it("refuses while the agent has not stopped, naming the host and its state, and leaves the block", async () => {
    host = await makeHostRoot(1);
    await writeHostBlock(host.metadata, blockInput(3));
    const before = await segment(host.metadata, 3);
    const r = await runHeHa(host.root, ["metadata", "clean", "--host-id", "3"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      "he-ha: refusing to clean the metadata of host 3: the agent on host3.example.com has not stopped " +
        "(state EngineDown, score 3400); stop ovirt-ha-agent there first (or use --force)\n",
    );
    expect((await segment(host.metadata, 3)).equals(before)).toBe(true);
    expect(decodeHostBlock(before, 3)?.ok).toBe(true);
  });

  it("refuses a block that does not decode, and --force erases it", async () => {
    host = await makeHostRoot(1);
    const garbage = Buffer.alloc(SEGMENT_SIZE);
    garbage.write("1|1|not|a|valid|block");
    await writeSegment(host.metadata, 1, garbage);
    const refused = await runHeHa(host.root, ["metadata", "clean"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^he-ha: refusing to clean the metadata of host 1: its block does not decode \(.+\), so it cannot show that its agent stopped \(or use --force\)\n$/,
    );
    const forced = await runHeHa(host.root, ["metadata", "clean", "--force", "--json"]);
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.stdout)).toEqual({
      hostId: 1,
      path: host.metadata,
      cleaned: true,
      forced: true,
    });
    expect(isZero(await segment(host.metadata, 1))).toBe(true);
  });

  it("accepts the hosted-engine spelling --clean-metadata --force-clean --host-id=N", async () => {
    host = await makeHostRoot(1);
    await writeHostBlock(host.metadata, blockInput(4));
    const r = await runHeHa(host.root, ["--clean-metadata", "--force-clean", "--host-id=4"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("cleaned the metadata of host 4: segment at byte 16384");
    expect(r.stdout).toContain("(forced: the agent on host4.example.com has not stopped");
    expect(isZero(await segment(host.metadata, 4))).toBe(true);
  });

  it("an empty segment is nothing to clean (exit 0, file untouched)", async () => {
    host = await makeHostRoot(5);
    const r = await runHeHa(host.root, ["metadata", "clean"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`host 5 has no metadata block in ${host.metadata}; nothing to clean\n`);
  });

  it("a bad --host-id is a usage error (exit 2); a missing volume is a failure naming it (exit 1)", async () => {
    host = await makeHostRoot(1);
    const bad = await runHeHa(host.root, ["metadata", "clean", "--host-id", "2001"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('he-ha: --host-id "2001" is not a host id in 1..2000\n');
    const missing = await makeHostRoot(1, {
      metadata_volume_UUID: "33333333-3333-3333-3333-333333333333",
    });
    try {
      const r = await runHeHa(missing.root, ["metadata", "clean"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /^he-ha: metadata volume .*33333333-3333-3333-3333-333333333333: open failed: .*ENOENT/,
      );
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      await missing.cleanup();
    }
  });
});
