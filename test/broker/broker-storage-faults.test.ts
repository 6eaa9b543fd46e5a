/**
 * A real broker over a metadata volume that is too short (truncated to 0 while it runs,
 * or short from the start) and over a storage view whose writes fail with EROFS: health
 * says degraded and why, the volume is never extended by a write, status never shows a
 * value that was not written as if it were on storage, metrics and the log name the
 * volume.
 */
import { stat, truncate, writeFile } from "node:fs/promises";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { pollFor } from "../../lab/standins/processes.js";
import type { StorageView } from "../../lab/standins/storage-view.js";
import type { BrokerStatus } from "../../src/broker/status.js";
import { WHITEBOARD_BYTES } from "../../src/storage/whiteboard/types.js";
import { type BrokerProcess, startBrokerProcess } from "../support/broker-process.js";
import { removeDir, tempDir } from "../support/temp.js";
import { unixGet } from "../support/unix-get.js";
import { domainThroughView, makeDomain, makeHostRoot, type TestDomain } from "./broker-harness.js";

interface Health {
  status: string;
  volume_short: { size: number; required: number } | null;
  writes_failing: boolean;
  last_write_error: string | null;
  stale: boolean;
}

async function getJson<T>(socket: string, urlPath: string): Promise<T> {
  const { body } = await unixGet(socket, urlPath);
  return urlPath === "/metrics" ? (body as T) : JSON.parse(body);
}

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

async function brokerOn(domain: TestDomain, dir: string): Promise<BrokerProcess> {
  const root = await makeHostRoot(dir, 1, domain, { cycleSeconds: 0.3 });
  const b = await startBrokerProcess(root);
  brokers.push(b);
  return b;
}

describe("a metadata volume shorter than the whiteboard", () => {
  it("truncated to 0 while the broker runs: degraded and named, global maintenance kept as last read, never extended", async () => {
    const dir = await tempDir("broker-short");
    dirs.push(dir);
    const domain = await makeDomain(dir, { lockspace: false });
    const b = await brokerOn(domain, dir);
    expect((await b.client.setGlobalMaintenance(true)).written).toBe(true);

    await truncate(domain.metadata, 0);
    const h = await pollFor("health degraded", async () => {
      const x = await getJson<Health>(b.socket, "/healthz");
      return x.volume_short ? x : undefined;
    });
    expect(h.status).toBe("degraded");
    expect(h.stale).toBe(true);
    expect(h.volume_short).toEqual({ size: 0, required: WHITEBOARD_BYTES });

    // the status shows the global block as last read, not "off" from an empty file
    const st = await getJson<BrokerStatus>(b.socket, "/v1/status");
    expect(st.global_maintenance).toBe(true);
    expect(st.storage.stale).toBe(true);
    expect(st.storage.last_read_error).toBe(
      `metadata volume ${domain.metadata} is 0 bytes; the whiteboard needs ${WHITEBOARD_BYTES} (2001 segments × 4096): refusing to read or write it`,
    );

    // a write is refused, not turned into a 4 kB file
    const put = await b.client.setGlobalMaintenance(false);
    expect(put.written).toBe(false);
    expect(put.error).toContain("refusing to read or write it");
    expect((await stat(domain.metadata)).size).toBe(0);

    const metrics = await getJson<string>(b.socket, "/metrics");
    expect(metrics).toContain(
      `ovirt_ha_storage_metadata_volume_short{volume="${domain.metadata}"} 1`,
    );
    expect(await b.log()).toContain(`metadata volume ${domain.metadata} is 0 bytes`);

    // the volume restored to its size: healthy again
    await truncate(domain.metadata, WHITEBOARD_BYTES);
    await pollFor("healthy again", async () =>
      (await getJson<Health>(b.socket, "/healthz")).volume_short === null ? true : undefined,
    );
  });

  it("short from the start (one segment): never read, never extended", async () => {
    const dir = await tempDir("broker-short0");
    dirs.push(dir);
    const domain = await makeDomain(dir, { lockspace: false });
    await writeFile(domain.metadata, Buffer.alloc(4096));
    const b = await brokerOn(domain, dir);
    const h = await pollFor("health degraded", async () => {
      const x = await getJson<Health>(b.socket, "/healthz");
      return x.volume_short ? x : undefined;
    });
    expect(h.volume_short).toEqual({ size: 4096, required: WHITEBOARD_BYTES });
    const put = await b.client.setGlobalMaintenance(true);
    expect(put.written).toBe(false);
    expect((await stat(domain.metadata)).size).toBe(4096);
    const st = await getJson<BrokerStatus>(b.socket, "/v1/status");
    expect(st.storage.has_read).toBe(false);
    expect(st.global_maintenance).toBe(false);
    expect(st.global_maintenance_pending).toBe(true);
  });
});

describe("writes failing with EROFS", () => {
  it("health is degraded and status shows the queued global maintenance as pending, not as on storage", async () => {
    const dir = await tempDir("broker-erofs");
    dirs.push(dir);
    const seen = await domainThroughView(dir);
    view = seen.view;
    const domain = seen.domain;
    const b = await brokerOn(domain, dir);
    await pollFor("first read", async () =>
      (await getJson<BrokerStatus>(b.socket, "/v1/status")).storage.has_read ? true : undefined,
    );
    expect((await getJson<Health>(b.socket, "/healthz")).status).toBe("ok");

    await view.cutWrites("EROFS");
    const put = await b.client.setGlobalMaintenance(true);
    expect(put.written).toBe(false);
    const h = await pollFor("writes failing", async () => {
      const x = await getJson<Health>(b.socket, "/healthz");
      return x.writes_failing ? x : undefined;
    });
    expect(h.status).toBe("degraded");
    expect(h.last_write_error).toMatch(/EROFS|read-only/);
    const st = await getJson<BrokerStatus>(b.socket, "/v1/status");
    expect(st.global_maintenance).toBe(false);
    expect(st.global_maintenance_pending).toBe(true);
    expect(st.storage.pending_host_ids).toEqual([0]);
    expect(await getJson<string>(b.socket, "/metrics")).toContain(
      `ovirt_ha_storage_writes_failing{volume="${domain.metadata}"} 1`,
    );

    // storage writable again: the queued value lands and health recovers
    await view.restore();
    await pollFor("written", async () => {
      const s = await getJson<BrokerStatus>(b.socket, "/v1/status");
      return s.global_maintenance && s.global_maintenance_pending === null ? true : undefined;
    });
    await pollFor("healthy", async () =>
      (await getJson<Health>(b.socket, "/healthz")).status === "ok" ? true : undefined,
    );
  });
});
