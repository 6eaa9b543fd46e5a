/**
 * The doctor's storage-latency check against storage made slow for real: a real broker
 * reads its whiteboard through the lab's FUSE storage view (lab/standins/storage-view.ts),
 * which then delays every whole-file read by 1.5 s, longer than the host's sanlock
 * io_timeout (1 s). The broker's own read timings go over it and `GET /v1/doctor` (what
 * `he-ha doctor --json` prints) reports it. (Silent on a healthy cluster:
 * test/doctor/doctor-brokers.test.ts.)
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { pollFor } from "../../lab/standins/processes.js";
import type { StorageView } from "../../lab/standins/storage-view.js";
import type { BrokerStatus } from "../../src/broker/status.js";
import type { Finding } from "../../src/doctor/checks.js";
import { domainThroughView, makeHostRoot } from "../broker/broker-harness.js";
import { type BrokerProcess, startBrokerProcess } from "../support/broker-process.js";
import { removeDir, tempDir } from "../support/temp.js";
import { unixGet } from "../support/unix-get.js";

const dirs: string[] = [];
const brokers: BrokerProcess[] = [];
let view: StorageView | undefined;

afterEach(async () => {
  await Promise.allSettled(brokers.splice(0).map((b) => b.stop()));
  await view?.unmount();
  view = undefined;
});
afterAll(async () => {
  await Promise.all(dirs.map((d) => removeDir(d)));
});

async function getJson<T>(socket: string, urlPath: string): Promise<T> {
  return JSON.parse((await unixGet(socket, urlPath)).body) as T;
}

const latency = async (b: BrokerProcess) =>
  (await getJson<{ findings: Finding[] }>(b.socket, "/v1/doctor")).findings.find(
    (f) => f.check === "storage-latency",
  );

describe("he-ha doctor on really slow storage", () => {
  it("whiteboard reads slower than io_timeout: a storage-latency warning naming it", async () => {
    const dir = await tempDir("doctor-slow-storage");
    dirs.push(dir);
    const seen = await domainThroughView(dir);
    view = seen.view;
    const domain = seen.domain;
    const root = await makeHostRoot(dir, 1, domain, { cycleSeconds: 0.3 });
    const b = await startBrokerProcess(root);
    brokers.push(b);
    await pollFor("first read", async () =>
      (await getJson<BrokerStatus>(b.socket, "/v1/status")).storage.has_read ? true : undefined,
    );

    await view.slowReads(1.5);
    const f = await pollFor(
      "the storage-latency finding",
      async () => {
        const x = await latency(b);
        return x && x.severity !== "info" ? x : undefined;
      },
      60_000,
      300,
    );
    expect(f.severity).toBe("warning");
    expect(f.message).toMatch(/^a whiteboard read took longer than sanlock's io_timeout 1 s /);
    const slowest = Number(/slowest ([\d.]+) s/.exec(f.message)?.[1]);
    expect(slowest).toBeGreaterThanOrEqual(1.5);
    expect(f.fix).not.toBe("");
  }, 120_000);
});
