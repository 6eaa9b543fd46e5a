import { execFile } from "node:child_process";
import { mkdir, rm, truncate, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { StorageView } from "../../lab/standins/storage-view.js";
import type { Monitor } from "../../src/broker/monitors/monitor.js";
import { createMonitor } from "../../src/broker/monitors/registry.js";
import { readVolumeHead } from "../../src/broker/monitors/storage-domain.js";
import { silentLogger } from "../../src/common/log.js";
import { removeDir, tempDir } from "../support/temp.js";
import { waitFor } from "./monitors-support.js";

const exec = promisify(execFile);
const started: Monitor[] = [];
let dir: string;

beforeAll(async () => {
  dir = await tempDir("d1-sd");
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((m) => m.stop()));
});

afterAll(async () => {
  await removeDir(dir);
});

async function volumes(base: string, name: string) {
  const metadata = path.join(base, `${name}.metadata`);
  const lockspace = path.join(base, `${name}.lockspace`);
  await writeFile(metadata, Buffer.alloc(1 << 20, 1));
  await writeFile(lockspace, Buffer.alloc(1 << 20, 2));
  return { metadata, lockspace };
}

function sdMonitor(storage: { metadata: string; lockspace: string }, timeout = 1): Monitor {
  const m = createMonitor(
    "storage-domain",
    { sd_uuid: "e3c4a1a3-0000-4000-8000-00000000d1d1", timeout },
    { log: silentLogger, intervalSeconds: 0.05, storage },
  );
  started.push(m);
  m.start();
  return m;
}

const becomes = (m: Monitor, v: string) =>
  waitFor(() => (m.value() === v ? true : undefined), 15_000, `storage-domain ${v}`);

describe("storage-domain", () => {
  it("is True while both volumes answer a direct read, False when one is gone or too short", async () => {
    const vols = await volumes(dir, "a");
    const m = sdMonitor(vols);
    await becomes(m, "True");
    expect(m.current()).toBe(true);

    await rm(vols.lockspace);
    await becomes(m, "False");
    await writeFile(vols.lockspace, Buffer.alloc(1 << 20, 2));
    await becomes(m, "True");

    await truncate(vols.metadata, 100);
    await becomes(m, "False");
  });

  it("is False on a FIFO nobody writes (opened without waiting for a writer), and recovers", async () => {
    const vols = await volumes(dir, "b");
    const m = sdMonitor(vols, 0.3);
    await becomes(m, "True");
    await rm(vols.metadata);
    await exec("mkfifo", [vols.metadata]);
    await becomes(m, "False");
    await rm(vols.metadata);
    await writeFile(vols.metadata, Buffer.alloc(1 << 20, 1));
    await becomes(m, "True");
  });

  it("is False while the server hangs (FUSE view frozen), starts no second read meanwhile, and recovers", async () => {
    const src = path.join(dir, "frozen-src");
    await mkdir(src, { recursive: true });
    await volumes(src, "f");
    const view = await StorageView.mount({
      source: src,
      mountpoint: path.join(dir, "frozen-view"),
      logFile: path.join(dir, "frozen-view.log"),
    });
    try {
      const through = {
        metadata: path.join(view.mountpoint, "f.metadata"),
        lockspace: path.join(view.mountpoint, "f.lockspace"),
      };
      const m = sdMonitor(through, 0.3);
      await becomes(m, "True");
      view.freeze();
      await becomes(m, "False");
      // the hung read is still outstanding: a direct call is refused, not started
      const again = await readVolumeHead(through.metadata, 0.3, new AbortController().signal, true);
      expect(again).toMatchObject({ ok: false, why: expect.stringMatching(/earlier read/) });
      view.resume();
      await becomes(m, "True");
    } finally {
      await view.unmount();
    }
  });

  it("falls back to a plain read on a file system that refuses O_DIRECT (procfs)", async () => {
    const refusing = "/proc/kallsyms";
    const direct = await readVolumeHead(refusing, 2, new AbortController().signal, true);
    expect(direct).toMatchObject({ ok: false, directRefused: true });
    const vols = await volumes(dir, "c");
    const m = sdMonitor({ metadata: refusing, lockspace: vols.lockspace });
    await becomes(m, "True");
  });
});
