import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollUntil } from "../../lab/standins/processes.js";
import { haPaths } from "../../src/common/paths.js";
import { SEGMENT_SIZE } from "../../src/storage/whiteboard/index.js";
import { removeDir, tempDir } from "../support/temp.js";
import { blockInput, writeHostBlock, writeSegment } from "../support/whiteboard.js";
import { type BrokerHost, startBrokerHost, waitForHosts } from "./cluster.js";
import { runHeHa, stoppedInput } from "./harness.js";

let host: BrokerHost;

async function globalSegmentText(): Promise<string> {
  const all = await readFile(host.volumes.metadata);
  return all.subarray(0, SEGMENT_SIZE).toString("latin1").replace(/\0+$/, "");
}

async function haConf(): Promise<string> {
  return readFile(haPaths(host.root).haConf, "utf8").catch(() => "");
}

/** Puts hosts 1..3 on the whiteboard as their agents would and has "the agent" push 1 and 2 as alive. */
async function publishThreeHosts(): Promise<void> {
  await writeHostBlock(
    host.volumes.metadata,
    blockInput(1, {
      engineStatus: { vm: "up", health: "good", detail: "Up" },
      stateExtra: { maintenance: "False", state: "EngineUp", stopped: "False" },
    }),
  );
  await writeHostBlock(host.volumes.metadata, blockInput(2, { score: 2400 }));
  await writeHostBlock(host.volumes.metadata, blockInput(3, { score: 3400 }));
  await host.client.pushHostsState([1, 2]);
  await waitForHosts(host.client, [1, 2, 3]);
}

describe("he-ha against a running ovirt-ha-broker", () => {
  beforeAll(async () => {
    host = await startBrokerHost(1);
  });
  afterAll(async () => {
    await host?.stop();
  });

  describe("status of an empty whiteboard", () => {
    it("exits 1 in every output form (text, --json, --table, --summary), each still printing its document", async () => {
      const r = await runHeHa(host.root, ["status"]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toBe("he-ha: no host has published a valid metadata block yet\n");
      // the original's --json exits 0 here; ours follows the text rule (docs/cli.md)
      const j = await runHeHa(host.root, ["status", "--json"]);
      expect(j.code).toBe(1);
      expect(j.stderr).toBe("he-ha: no host has published a valid metadata block yet\n");
      // the original's document exactly: no host, so nowhere to say this host's backend
      expect(JSON.parse(j.stdout)).toEqual({ global_maintenance: false });
      for (const form of [["--table"], ["--summary"], ["--summary", "--json"]]) {
        const f = await runHeHa(host.root, ["status", ...form]);
        expect(f.code, form.join(" ")).toBe(1);
        expect(f.stderr).toBe("he-ha: no host has published a valid metadata block yet\n");
        expect(f.stdout.length, form.join(" ")).toBeGreaterThan(0);
      }
      const summary = await runHeHa(host.root, ["status", "--summary", "--json"]);
      expect(JSON.parse(summary.stdout)).toMatchObject({ maintenance: "none", hosts: 0 });
    });
  });

  describe("status", () => {
    beforeAll(publishThreeHosts);

    it("prints every host in the hosted-engine layout, stale hosts as 'unknown stale-data'", async () => {
      const r = await runHeHa(host.root, ["status"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const blocks = r.stdout.split(/\n\n--== /).slice(1);
      expect(blocks.map((b) => b.split("\n")[0])).toEqual([
        "Host host1.example.com (id: 1) status ==--",
        "Host host2.example.com (id: 2) status ==--",
        "Host host3.example.com (id: 3) status ==--",
      ]);
      expect(blocks[0]).toContain(
        'Engine status                      : {"vm": "up", "health": "good", "detail": "Up"}\n',
      );
      expect(blocks[0]).toContain("Status up-to-date                  : True\n");
      expect(blocks[1]).toContain("Score                              : 2400\n");
      expect(blocks[2]).toContain("Engine status                      : unknown stale-data\n");
      expect(blocks[2]).toContain("Status up-to-date                  : False\n");
      expect(blocks[0]).toContain(
        "Extra metadata (valid at timestamp):\n\tmetadata_parse_version=1\n",
      );
      expect(blocks[0]).toContain("\tstate=EngineUp\n");
      expect(r.stdout).not.toContain("GLOBAL MAINTENANCE");
      // our additions: the cluster in one line first (host 3 is not live, so no standby),
      // and per host how long ago this broker saw its block change (written after it started)
      expect(r.stdout.split("\n")[0]).toBe(
        "engine: up on host1.example.com (id 1), health good | maintenance: none | live hosts: 2/3 | standby: host2.example.com (2400)",
      );
      for (const b of blocks) expect(b).toMatch(/\nBlock updated {22}: \d+ s ago\n/);
    });

    it("vm status: this host's engine VM and where it runs in the cluster (text and --json)", async () => {
      const text = await runHeHa(host.root, ["vm", "status"]);
      expect(text.stderr).toBe("");
      expect(text.code).toBe(0);
      expect(text.stdout).toBe(
        "engine VM on this host (host1.example.com, id 1): up, health good (Up)\n" +
          "engine VM in the cluster: host1.example.com (id 1), health good\n",
      );
      const j = JSON.parse((await runHeHa(host.root, ["vm", "status", "--json"])).stdout);
      expect(j).toEqual({
        host_id: 1,
        hostname: "host1.example.com",
        here: { vm: "up", health: "good", detail: "Up" },
        source: "whiteboard block",
        running_on: [{ host_id: 1, hostname: "host1.example.com", health: "good" }],
      });
    });

    it("--summary prints that line alone, and as an object with --json", async () => {
      const text = await runHeHa(host.root, ["status", "--summary"]);
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/^engine: up on host1\.example\.com \(id 1\).*\n$/);
      const j = await runHeHa(host.root, ["status", "--summary", "--json"]);
      expect(JSON.parse(j.stdout)).toEqual({
        engine: [{ host_id: 1, hostname: "host1.example.com", health: "good" }],
        maintenance: "none",
        local_maintenance: [],
        live_hosts: 2,
        hosts: 3,
        standby: [{ host_id: 2, hostname: "host2.example.com", score: 2400 }],
      });
      const doc = JSON.parse((await runHeHa(host.root, ["status", "--json"])).stdout) as Record<
        string,
        { "updated-seconds-ago"?: unknown }
      >;
      for (const id of ["1", "2", "3"])
        expect(doc[id]?.["updated-seconds-ago"]).toBeTypeOf("number");
    });

    it("--json matches `metadata dump --json` field by field, and --vm-status --json is the same document", async () => {
      const status = await runHeHa(host.root, ["status", "--json"]);
      const dump = await runHeHa(host.root, ["metadata", "dump", "--json"]);
      const alias = await runHeHa(host.root, ["--vm-status", "--json"]);
      expect(status.code).toBe(0);
      expect(dump.code).toBe(0);
      // the same document but for the ages, which move between the two runs
      const withoutAges = (t: string) => t.replace(/"updated-seconds-ago":[0-9.]+/g, "");
      expect(withoutAges(alias.stdout)).toBe(withoutAges(status.stdout));
      const s = JSON.parse(status.stdout) as Record<string, Record<string, unknown> | boolean>;
      const d = JSON.parse(dump.stdout) as {
        global: { maintenance: boolean };
        hosts: Record<string, Record<string, unknown> & { extra: Record<string, string> }>;
      };
      expect(Object.keys(s)).toEqual([...Object.keys(d.hosts), "global_maintenance"]);
      // this host's entry says which engine VM backend its agent uses: no VDSM here
      expect((s[String(host.hostId)] as Record<string, unknown>)["vm-backend"]).toEqual({
        backend: "libvirt",
        reason: expect.stringMatching(/^no VDSM key and certificate under /),
      });
      // and its storage domain: type, file or block, the share
      expect((s[String(host.hostId)] as Record<string, unknown>).storage).toEqual({
        domainType: "nfs",
        kind: "file",
        connection: expect.any(String),
      });
      expect(s.global_maintenance).toBe(d.global.maintenance);
      for (const [id, b] of Object.entries(d.hosts)) {
        const h = s[id] as Record<string, unknown>;
        expect(h["host-id"]).toBe(b.hostId);
        expect(h["host-ts"]).toBe(b.timestamp);
        expect(h.score).toBe(b.score);
        expect(h["engine-status"]).toEqual(b.engineStatus);
        expect(h.hostname).toBe(b.hostname);
        expect(h.maintenance).toBe(b.maintenance);
        expect(h.stopped).toBe(b.stopped);
        expect(h.crc32).toBe(b.crc32);
        expect(h.conf_on_shared_storage).toBe(b.confOnSharedStorage);
        expect(h.local_conf_timestamp).toBe(b.vmConfRefreshTime);
        expect(h.extra).toBe(
          Object.entries(b.extra)
            .map(([k, v]) => `${k}=${v}\n`)
            .join(""),
        );
        expect(h["live-data"]).toBe(id !== "3");
      }
    });

    it("--table prints one line per host within 80 columns", async () => {
      const r = await runHeHa(host.root, ["status", "--table"]);
      expect(r.code).toBe(0);
      const lines = r.stdout.trimEnd().split("\n");
      expect(lines.map((l) => l.split(/\s+/).slice(0, 3).join(" "))).toEqual([
        "ID HOSTNAME STATE",
        "1 host1.example.com EngineUp",
        "2 host2.example.com EngineDown",
        "3 host3.example.com EngineDown",
      ]);
      expect(lines[3]!.split(/\s+/).slice(3)).toEqual(["3400", "unknown", "stale", "no", "-"]);
      for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
    });

    it("reports a block that does not decode on stderr and still shows the others", async () => {
      const bad = Buffer.alloc(SEGMENT_SIZE);
      bad.write("1|1|5|7|3400|{}|host7|0|0|deadbeef|1|0");
      await writeSegment(host.volumes.metadata, 7, bad);
      try {
        await waitForHosts(host.client, [1, 2, 3, 7]);
        const r = await runHeHa(host.root, ["status", "--json"]);
        expect(r.code).toBe(0);
        expect(r.stderr).toMatch(/^he-ha: host 7: bad-crc: .+\n$/);
        expect(Object.keys(JSON.parse(r.stdout))).toEqual(["1", "2", "3", "global_maintenance"]);
      } finally {
        await writeSegment(host.volumes.metadata, 7, Buffer.alloc(SEGMENT_SIZE));
        await waitForHosts(host.client, [1, 2, 3]);
      }
    });

    it("--json with --table is a usage error (exit 2)", async () => {
      const r = await runHeHa(host.root, ["status", "--json", "--table"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe("he-ha: --json and --table exclude each other\n");
    });
  });

  describe("maintenance", () => {
    it("global: written to the global block on storage, shown by status with the banner before and after", async () => {
      const r = await runHeHa(host.root, ["maintenance", "--mode", "global"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toBe("global maintenance: off -> on\nlocal maintenance: off (unchanged)\n");
      expect(await globalSegmentText()).toBe("maintenance=1");
      expect(await haConf()).toBe("local_maintenance=False\nlocal_maintenance_manual=False\n");
      const s = await runHeHa(host.root, ["status"]);
      const banner = "\n\n!! Cluster is in GLOBAL MAINTENANCE mode !!\n\n";
      // our summary line, then the original layout with its banners
      const [summary, ...rest] = s.stdout.split("\n");
      expect(summary).toContain("| maintenance: global |");
      expect(rest.join("\n").startsWith(banner)).toBe(true);
      expect(s.stdout.endsWith(banner)).toBe(true);
      expect(
        JSON.parse((await runHeHa(host.root, ["status", "--json"])).stdout).global_maintenance,
      ).toBe(true);
    });

    it("local: sets both ha.conf flags and clears global (hosted-engine --set-maintenance --mode=local)", async () => {
      const r = await runHeHa(host.root, ["--set-maintenance", "--mode=local", "--json"]);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({
        mode: "local",
        before: { global: true, local: false },
        after: { global: false, local: true },
      });
      expect(await haConf()).toBe("local_maintenance=True\nlocal_maintenance_manual=True\n");
      expect(await globalSegmentText()).toBe("maintenance=0");
    });

    it("none: clears local and global", async () => {
      await runHeHa(host.root, ["maintenance", "--mode", "global"]);
      await runHeHa(host.root, ["maintenance", "--mode", "local"]);
      const r = await runHeHa(host.root, ["maintenance", "--mode", "none"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe("global maintenance: off (unchanged)\nlocal maintenance: on -> off\n");
      expect(await haConf()).toBe("local_maintenance=False\nlocal_maintenance_manual=False\n");
      expect(await globalSegmentText()).toBe("maintenance=0");
    });

    it("a missing or unknown mode is a usage error (exit 2) and changes nothing", async () => {
      const before = await haConf();
      const missing = await runHeHa(host.root, ["maintenance"]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain("error: required option '--mode <mode>' not specified");
      const bogus = await runHeHa(host.root, ["--set-maintenance", "--mode=partial"]);
      expect(bogus.code).toBe(2);
      expect(bogus.stderr).toContain(
        "error: option '--mode <mode>' argument 'partial' is invalid. Allowed choices are global, local, none.",
      );
      expect(await haConf()).toBe(before);
    });
  });

  describe("lockspace reinit", () => {
    it("refuses outside global maintenance, naming every host whose agent still runs", async () => {
      await runHeHa(host.root, ["maintenance", "--mode", "none"]);
      const r = await runHeHa(host.root, ["lockspace", "reinit"]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toBe(
        "he-ha: refusing to re-initialise the lockspace:\n" +
          "  the cluster is not in global maintenance (he-ha maintenance --mode global)\n" +
          "  host 1 (host1.example.com): its agent has not stopped (score 3400, state EngineUp)\n" +
          "  host 2 (host2.example.com): its agent has not stopped (score 2400, state EngineDown)\n" +
          "  host 3 (host3.example.com): its agent has not stopped (score 3400, state EngineDown)\n" +
          "(or use --force)\n",
      );
    });

    it("in global maintenance still refuses while one agent runs, naming only that host", async () => {
      await runHeHa(host.root, ["maintenance", "--mode", "global"]);
      await writeHostBlock(host.volumes.metadata, stoppedInput(1));
      await writeHostBlock(host.volumes.metadata, stoppedInput(3));
      await waitForStopped([1, 3]);
      const r = await runHeHa(host.root, ["--reinitialize-lockspace"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        "he-ha: refusing to re-initialise the lockspace:\n" +
          "  host 2 (host2.example.com): its agent has not stopped (score 2400, state EngineDown)\n" +
          "(or use --force)\n",
      );
    });

    it("re-initialises the lockspace volume when every agent stopped in global maintenance", async () => {
      await writeHostBlock(host.volumes.metadata, stoppedInput(2));
      await waitForStopped([1, 2, 3]);
      const lockspace = path.join(host.volumes.lockspace);
      const before = await readFile(lockspace);
      before.fill(0xab, 0, 512);
      const { writeFile } = await import("node:fs/promises");
      await writeFile(lockspace, before);
      const r = await runHeHa(host.root, ["lockspace", "reinit"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(
        `lockspace hosted-engine re-initialised by the broker at ${host.socket}\n`,
      );
      const after = await readFile(lockspace);
      // sanlock's delta lease header carries the lockspace name again
      expect(after.subarray(0, 512).includes(Buffer.from("hosted-engine"))).toBe(true);
    });

    it("--force goes past the checks and says which ones it skipped", async () => {
      await runHeHa(host.root, ["maintenance", "--mode", "none"]);
      const r = await runHeHa(host.root, ["--reinitialize-lockspace", "--force", "--json"]);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({
        reinitialized: true,
        forced: true,
        skipped: ["the cluster is not in global maintenance (he-ha maintenance --mode global)"],
      });
    });
  });
});

async function waitForStopped(ids: number[]): Promise<void> {
  await pollUntil(
    `hosts ${ids} shown stopped`,
    async () => {
      const s = JSON.parse((await runHeHa(host.root, ["status", "--json"])).stdout) as Record<
        string,
        { stopped?: boolean }
      >;
      return ids.every((id) => s[String(id)]?.stopped === true);
    },
    20_000,
    100,
  );
}

describe("he-ha against a broker that cannot read the metadata volume", () => {
  let blind: BrokerHost;
  beforeAll(async () => {
    blind = await startBrokerHost(1, (storage) => rm(storage.volumes.metadata));
  });
  afterAll(async () => {
    await blind?.stop();
  });

  it.each([[["status"]], [["lockspace", "reinit"]], [["maintenance", "--mode", "global"]]])(
    "%j fails naming the volume and the broker's read error, never showing an empty cluster",
    async (args) => {
      const r = await runHeHa(blind.root, args);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(
        /^he-ha: ovirt-ha-broker at \S+broker\.socket has not read the metadata volume \S+ yet(: .*ENOENT.*| \(it is starting\))\n$/,
      );
    },
  );
});

describe("he-ha without a broker", () => {
  let root: string;
  beforeAll(async () => {
    root = await tempDir("cli-nobroker");
  });
  afterAll(() => removeDir(root));

  it.each([
    [["status"]],
    [["--vm-status", "--json"]],
    [["maintenance", "--mode", "global"]],
    [["lockspace", "reinit", "--force"]],
  ])("%j fails with exit 1 and one line naming the socket, no stack trace", async (args) => {
    const r = await runHeHa(root, args);
    expect(r.code).toBe(1);
    const message = `cannot reach ovirt-ha-broker at ${haPaths(root).brokerSocket}: no socket (is ovirt-ha-broker running?)`;
    // under --json the failure is a JSON document on stdout as well
    expect(r.stdout).toBe(
      args.includes("--json") ? `${JSON.stringify({ error: { message, exit_code: 1 } })}\n` : "",
    );
    expect(r.stderr).toBe(`he-ha: ${message}\n`);
  });
});
