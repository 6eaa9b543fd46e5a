import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollFor } from "../../lab/standins/processes.js";
import type { StorageInitResult } from "../../src/storage/init.js";
import { SEGMENT_SIZE } from "../../src/storage/whiteboard/index.js";
import { AgentHost, engineLeaseRe, makeStorage, startHealthServer } from "../agent/agent-host.js";
import { removeDir, tempDir } from "../support/temp.js";
import { runHeHa } from "./harness.js";

/**
 * he-ha against a real host: sanlock daemon, libvirtd (test driver), broker and agent
 * (test/agent's AgentHost). What the operator types must reach the agent, and what the
 * agent publishes must come back through `he-ha status`.
 */
let dir: string;
let health: Awaited<ReturnType<typeof startHealthServer>>;
let storage: StorageInitResult;
let host: AgentHost;

function he(args: string[]) {
  return runHeHa(host.root, args, { SANLOCK_RUN_DIR: host.sanlock.runDir });
}

async function statusJson(): Promise<
  Record<string, Record<string, unknown>> & { global_maintenance: boolean }
> {
  const r = await he(["status", "--json"]);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

/** Waits until `he-ha status --json` shows host 1 satisfying `ok`. */
async function waitStatus(
  what: string,
  ok: (h: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>> {
  let h: Record<string, unknown> | undefined;
  return pollFor(
    `status showing ${what}`,
    async () => {
      h = (await statusJson())["1"];
      return h && ok(h) ? h : undefined;
    },
    90_000,
    300,
  ).catch(() => {
    throw new Error(`status never showed ${what}: ${JSON.stringify(h)}`);
  });
}

const stateOf = (h: Record<string, unknown>) => /\bstate=(\w+)/.exec(String(h.extra))?.[1];

describe("he-ha with a running agent", () => {
  beforeAll(async () => {
    dir = await tempDir("cli-agent");
    health = await startHealthServer();
    storage = await makeStorage(dir);
    host = await AgentHost.create(path.join(dir, "host1"), 1, storage, health.fqdn);
    await host.startBroker();
    await host.startAgent();
    await host.waitState("EngineUp", 120_000);
  }, 180_000);

  afterAll(async () => {
    await host?.destroy();
    await health?.close();
    if (dir) await removeDir(dir);
  }, 120_000);

  it("status shows the agent's live block: engine up, good health, up-to-date", async () => {
    const h = await waitStatus("EngineUp", (x) => stateOf(x) === "EngineUp");
    expect(h["engine-status"]).toMatchObject({ vm: "up", health: "good" });
    expect(h.score as number).toBeGreaterThan(0);
    // the running agent reports its own host alive (push_hosts_state = [own id] + live
    // remote hosts, as the original brokerlink does), so its data is up to date
    expect(h["live-data"]).toBe(true);
    const text = await he(["status"]);
    expect(text.stdout).toContain("(id: 1) status ==--\n");
    expect(text.stdout).toContain("Status up-to-date                  : True\n");
    expect(text.stdout).toMatch(
      /Engine status {22}: \{"vm": "up", "health": "good", "detail": "Up"/,
    );
  }, 120_000);

  it("global maintenance: the agent goes to GlobalMaintenance; lockspace reinit and metadata clean refuse while it runs", async () => {
    expect((await he(["maintenance", "--mode", "global"])).code).toBe(0);
    await waitStatus("GlobalMaintenance", (x) => stateOf(x) === "GlobalMaintenance");
    const text = await he(["status"]);
    // the summary line, then the original layout with its banner
    const [summary, ...layout] = text.stdout.split("\n");
    expect(summary).toMatch(/^engine: up on \S+ \(id 1\), health good \| maintenance: global \|/);
    expect(
      layout.join("\n").startsWith("\n\n!! Cluster is in GLOBAL MAINTENANCE mode !!\n\n"),
    ).toBe(true);
    const reinit = await he(["lockspace", "reinit"]);
    expect(reinit.code).toBe(1);
    expect(reinit.stderr).toMatch(
      /^he-ha: refusing to re-initialise the lockspace:\n {2}host 1 \(\S+\): its agent has not stopped \(score \d+, state GlobalMaintenance\)\n\(or use --force\)\n$/,
    );
    const clean = await he(["metadata", "clean"]);
    expect(clean.code).toBe(1);
    expect(clean.stderr).toMatch(
      /^he-ha: refusing to clean the metadata of host 1: the agent on \S+ has not stopped \(state GlobalMaintenance, /,
    );
  }, 150_000);

  it("local maintenance set by he-ha (from global) takes the agent to LocalMaintenance, score 0; none brings it back", async () => {
    const r = await he(["maintenance", "--mode", "local"]);
    expect(r.code).toBe(0);
    const h = await waitStatus("LocalMaintenance", (x) => stateOf(x) === "LocalMaintenance");
    expect(h.maintenance).toBe(true);
    expect(h.score).toBe(0);
    const back = await he(["--set-maintenance", "--mode=none"]);
    expect(back.code).toBe(0);
    // local maintenance stopped the engine VM here; with the flag cleared the agent
    // starts it again (the next test needs it running)
    await waitStatus(
      "back to EngineUp",
      (x) => stateOf(x) === "EngineUp" && x.maintenance === false,
    );
  }, 150_000);

  it("once the agent stopped, metadata clean erases its segment; vm poweroff stops the VM and frees the lease", async () => {
    expect(await host.stopAgent()).toBe(0);
    await waitStatus("AgentStopped", (x) => x.stopped === true);
    const clean = await he(["--clean-metadata"]);
    expect(clean.stderr).toBe("");
    expect(clean.code).toBe(0);
    const volume = await readFile(storage.volumes.metadata.path);
    expect(volume.subarray(SEGMENT_SIZE, 2 * SEGMENT_SIZE).every((b) => b === 0)).toBe(true);
    expect(await host.vmState()).toBe("running");
    const off = await he(["vm", "poweroff", "--json"]);
    expect(off.stderr).toBe("");
    expect(off.code).toBe(0);
    expect(JSON.parse(off.stdout)).toMatchObject({ result: "powered-off", lease: "released" });
    expect(await host.vmState()).not.toBe("running");
    expect(await host.sanlockStatus()).not.toMatch(engineLeaseRe(storage));
  }, 150_000);
});
