import { rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { RereadFile } from "../../src/common/reread-file.js";
import { removeDir, tempDir } from "../support/temp.js";

describe("RereadFile", () => {
  let dir: string | undefined;
  let f: RereadFile | undefined;
  afterEach(async () => {
    await f?.close();
    if (dir) await removeDir(dir);
  });

  it("reads the whole current content each time, longer or shorter than before", async () => {
    dir = await tempDir("reread");
    const file = path.join(dir, "mounts");
    await writeFile(file, "short\n");
    f = new RereadFile(file);
    expect(await f.read()).toBe("short\n");
    // in place (same inode, as /proc regenerates it): longer than the first buffer
    const long = "x".repeat(40_000);
    await writeFile(file, long);
    expect(await f.read()).toBe(long);
    await writeFile(file, "a\n");
    expect(await f.read()).toBe("a\n");
  });

  it("reads /proc/self/mountinfo from its start every time", async () => {
    f = new RereadFile("/proc/self/mountinfo");
    const first = await f.read();
    const second = await f.read();
    // a read that went on where the last one ended would be empty
    expect(second.length).toBeGreaterThan(0);
    // other processes may mount meanwhile; the root mount's line stays first
    expect(second.split("\n")[0]).toBe(first.split("\n")[0]);
    expect(first.split("\n")[0]).toMatch(/ - /);
  });

  it("fails while the file is gone, and reads it again once it is back", async () => {
    dir = await tempDir("reread");
    const file = path.join(dir, "gone");
    f = new RereadFile(file);
    await expect(f.read()).rejects.toThrow(/ENOENT/);
    await writeFile(file, "back\n");
    expect(await f.read()).toBe("back\n");
    await rm(file);
    // an open file keeps its content: the next read after a failure reopens by name
    expect(await f.read()).toBe("back\n");
  });
});
