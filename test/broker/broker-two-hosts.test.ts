import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollFor } from "../../lab/standins/processes.js";
import { SanlockDaemon } from "../../lab/standins/sanlock-daemon.js";
import { type BrokerProcess, startBrokerProcess } from "../support/broker-process.js";
import { removeDir, tempDir } from "../support/temp.js";
import { segmentOnDisk } from "../support/whiteboard.js";
import { hostBlock, makeDomain, makeHostRoot, type TestDomain } from "./broker-harness.js";

const startsWith = (seg: Buffer, block: Buffer) => seg.subarray(0, block.length).equals(block);

describe("brokers of several hosts sharing one metadata volume", () => {
  let dir: string;
  let domain: TestDomain;
  const daemons: SanlockDaemon[] = [];
  const brokers: BrokerProcess[] = [];

  beforeAll(async () => {
    dir = await tempDir("broker-hosts");
    domain = await makeDomain(dir);
    // hosts 1 and 2 join the lockspace on their own sanlock daemons; host 3 never joins
    for (const id of [1, 2, 3]) {
      daemons.push(
        await SanlockDaemon.start({
          runDir: path.join(dir, `sanlock${id}`),
          hostName: `host${id}`,
        }),
      );
    }
    await Promise.all(
      [1, 2].map(async (id) => {
        const r = await daemons[id - 1]!.addLockspace("hosted-engine", id, domain.lockspace);
        expect(r.output).toContain("done 0");
      }),
    );
    for (const id of [1, 2, 3]) {
      const root = await makeHostRoot(dir, id, domain, { cycleSeconds: 0.3 });
      brokers.push(await startBrokerProcess(root, { env: daemons[id - 1]!.env }));
    }
  });

  afterAll(async () => {
    await Promise.allSettled(brokers.map((b) => b.stop()));
    await Promise.allSettled(daemons.map((d) => d.stop()));
    await removeDir(dir);
  });

  it("each broker writes only its own segment, and every broker reads them all", async () => {
    const b1 = hostBlock(1, 500, 3400);
    const b2 = hostBlock(2, 700, 2400);
    await Promise.all([brokers[0]!.client.putStats(1, b1), brokers[1]!.client.putStats(2, b2)]);
    await pollFor("both segments on storage", async () =>
      startsWith(await segmentOnDisk(domain.metadata, 1), b1) &&
      startsWith(await segmentOnDisk(domain.metadata, 2), b2)
        ? true
        : undefined,
    );
    for (const b of brokers) {
      const status = await pollFor("a read showing both hosts", async () => {
        const s = await b.client.status();
        return s.hosts.length === 2 ? s : undefined;
      });
      expect(status.hosts.map((h) => [h.host_id, h.score])).toEqual([
        [1, 3400],
        [2, 2400],
      ]);
      const stats = await b.client.getStats();
      expect(startsWith(stats.get(1)!, b1)).toBe(true);
      expect(startsWith(stats.get(2)!, b2)).toBe(true);
    }
    // repeated updates of one host never touch the other's segment
    for (let t = 1; t <= 5; t++) await brokers[0]!.client.putStats(1, hostBlock(1, 500 + t, 3400));
    await pollFor("host 1's last update on storage", async () =>
      startsWith(await segmentOnDisk(domain.metadata, 1), hostBlock(1, 505, 3400))
        ? true
        : undefined,
    );
    expect(startsWith(await segmentOnDisk(domain.metadata, 2), b2)).toBe(true);
    // a broker refuses another host's segment outright
    await expect(brokers[1]!.client.putStats(1, hostBlock(1, 9, 0))).rejects.toThrow(
      /writes only segment 2/,
    );
  });

  it("a broker whose host does not hold its lockspace id refuses to write its segment", async () => {
    const b3 = brokers[2]!;
    await b3.client.putStats(3, hostBlock(3, 900, 3400));
    const status = await pollFor("the refusal", async () => {
      const s = await b3.client.status();
      return s.storage.writes_refused_total > 0 ? s : undefined;
    });
    expect(status.local.lease_held).toBe(false);
    expect(status.storage.pending_host_ids).toEqual([]);
    // several cycles later the segment is still empty, and nobody sees host 3
    await b3.client.getStats();
    await new Promise((r) => setTimeout(r, 1000));
    expect((await segmentOnDisk(domain.metadata, 3)).every((b) => b === 0)).toBe(true);
    expect((await brokers[0]!.client.status()).hosts.map((h) => h.host_id)).toEqual([1, 2]);
    expect(await b3.log()).toContain("does not hold its id in the lockspace");
    const metrics = await b3.client.metricsText();
    expect(metrics).toMatch(/^ovirt_ha_lockspace_held\{host_id="3"\} 0$/m);
    expect(metrics).toMatch(/^ovirt_ha_storage_writes_refused_total [1-9]/m);
    // the global block needs no lease: host 3 may still set global maintenance
    expect((await b3.client.setGlobalMaintenance(true)).written).toBe(true);
    await pollFor("host 1 sees global maintenance", async () =>
      (await brokers[0]!.client.status()).global_maintenance ? true : undefined,
    );
    expect((await b3.client.setGlobalMaintenance(false)).written).toBe(true);
  });
});
