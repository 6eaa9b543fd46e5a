import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitExit } from "../../lab/standins/processes.js";
import type { StorageInitResult } from "../../src/storage/init.js";
import { removeDir, tempDir } from "../support/temp.js";
import { AgentHost, makeStorage, startHealthServer } from "./agent-host.js";

/**
 * behaviour.md §12: EINVAL from add_lockspace means this host's sanlock daemon already
 * holds `hosted-engine` with another host id. That is a configuration error the agent
 * cannot repair: it must stop with a clear message and a non-zero exit, not retry.
 */
describe("agent whose sanlock daemon holds the lockspace with another host id", () => {
  let dir: string;
  let storage: StorageInitResult;
  let health: Awaited<ReturnType<typeof startHealthServer>>;
  let host: AgentHost;

  beforeAll(async () => {
    dir = await tempDir("agent-einval");
    storage = await makeStorage(dir);
    health = await startHealthServer();
    host = await AgentHost.create(path.join(dir, "host1"), 1, storage, health.fqdn);
    const lockspace = storage.volumes.lockspace.path;
    const r = await host.sanlock.client([
      "client",
      "add_lockspace",
      "-s",
      `hosted-engine:2:${lockspace}:0`,
    ]);
    expect(r.code, r.output).toBe(0);
    await host.startBroker();
  }, 120_000);

  afterAll(async () => {
    await host?.destroy();
    await health?.close();
    if (dir) await removeDir(dir);
  });

  it("exits 1 at once, naming the conflict, and never publishes as host 1", async () => {
    const agent = await host.startAgent();
    expect(await waitExit(agent, 60_000)).toBe(true);
    expect(await agent.exited).toBe(1);
    const log = await host.agentLog();
    expect(log).toMatch(/another host id|other than 1|host id 2/i);
    expect(await host.ownBlock()).toBeUndefined();
  }, 90_000);
});
