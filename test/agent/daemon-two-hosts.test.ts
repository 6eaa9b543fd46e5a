import { readFile, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollUntil } from "../../lab/standins/processes.js";
import type { StorageInitResult } from "../../src/storage/init.js";
import { type AgentHost, engineLeaseRe, FAST, startTwoHosts, type TwoHosts } from "./agent-host.js";

/**
 * Two hosts on one storage domain, each with its own sanlock daemon, libvirtd, broker
 * and agent. Exclusivity comes from the VM lease: a host that believes the engine is
 * down (host 1 looks dead to it) still cannot start the VM while host 1 holds the lease.
 */
describe("two agents on one storage domain", () => {
  let cluster: TwoHosts;
  let storage: StorageInitResult;
  let h1: AgentHost;
  let h2: AgentHost;

  beforeAll(async () => {
    // scores independent of the machine's load: the takeover below compares them (under
    // load the cpu-load penalty of both sims kept host 2 short of host 1 + 800)
    cluster = await startTwoHosts("agent-two", {
      host: () => ({
        agentConf: "[score]\ncpu-load-score-penalty = 0\nfree-memory-score-penalty = 0\n",
      }),
    });
    ({ storage, h1, h2 } = cluster);
  }, 120_000);

  afterAll(async () => {
    await cluster?.destroy();
  }, 120_000);

  it("host 1 starts the engine; host 2 sees it up elsewhere and stays EngineDown", async () => {
    await h1.startAgent();
    await h1.waitState("EngineUp", 120_000);
    await h2.startAgent();
    await h2.waitState("EngineDown", 60_000);
    // host 2 may decide to start only once it has host_alive_timeout of history; it
    // publishes for that long and three loops more, and never tries
    const last = await h2.waitPublishedFor(FAST.host_alive_timeout + 3 * FAST.loop_delay);
    expect(last.extra.state).toBe("EngineDown");
    expect((await h2.ownBlock())?.extra.state).toBe("EngineDown");
    expect(await h2.vmState()).toBe("absent");
    expect(await h2.agentLog()).not.toContain("engine VM lease held");
  }, 240_000);

  it("when host 1 looks dead, host 2's start is refused by the lease: storage locked", async () => {
    // host 1's broker stops: its block no longer changes, host 2 soon counts it dead,
    // but host 1's sanlock daemon keeps renewing its delta lease and the VM lease
    await h1.stopBroker();
    await pollUntil(
      "host 2 to try a start",
      async () => /Storage of VM is locked/.test(await h2.agentLog()),
      60_000,
      200,
    );
    expect(await h2.vmState()).toBe("absent");
    expect(await h1.vmState()).toBe("running");
    expect(await h1.sanlockStatus()).toMatch(engineLeaseRe(storage));
    // the broker's engine-health reports the refusal; retries lower the score
    await pollUntil(
      "host 2's block to report the lock",
      async () => {
        const b = await h2.ownBlock();
        return (
          b?.engineStatus?.vm === "down" &&
          /Storage of VM is locked/.test(b.engineStatus.reason ?? "")
        );
      },
      60_000,
      200,
    );
    expect((await h2.ownBlock())!.score).toBeLessThan(2800);
  }, 180_000);

  it("host 1 back: host 2 sees the engine up on host 1 again and never ran it", async () => {
    await h1.startBroker();
    await h1.waitState("EngineUp", 60_000);
    await h2.waitState("EngineDown", 60_000);
    expect(await h2.vmState()).toBe("absent");
    expect(await h1.vmState()).toBe("running");
  }, 180_000);

  it("host 2 loses its lockspace behind its back: it rejoins, publishes again and never starts the VM", async () => {
    const own = (await h2.sanlockStatus()).match(/^s (hosted-engine:2:\S+:0)/m)?.[1];
    expect(own).toBeDefined();
    const before = (await h2.agentLog()).length;
    // what a storage outage does to sanlock's side: the lockspace is gone
    const removed = await h2.sanlock.client(["client", "rem_lockspace", "-s", own!]);
    expect(removed.output).toContain("rem_lockspace done 0");
    expect(await h2.sanlockStatus()).not.toMatch(/^s hosted-engine:2:/m);
    await pollUntil(
      "host 2's agent to rejoin the lockspace",
      async () => {
        const log = (await h2.agentLog()).slice(before);
        return (
          log.includes("sanlock lockspace lost: rejoining") &&
          log.includes("sanlock lockspace joined")
        );
      },
      60_000,
      200,
    );
    expect(await h2.sanlockStatus()).toMatch(/^s hosted-engine:2:/m);
    // its broker writes host 2's segment again: the timestamp moves on
    const seen = (await h2.ownBlock())!.timestamp;
    await pollUntil(
      "host 2 to publish again",
      async () => ((await h2.ownBlock())?.timestamp ?? 0) > seen + 1,
      30_000,
      200,
    );
    // EngineDown once it sees host 1's engine again. On a loaded machine host 1's block can
    // age past the 3 s host-alive timeout of TEST_TIMING meanwhile, and host 2 may try a
    // start that the engine VM's lease refuses: what must never happen is the VM on host 2.
    await pollUntil(
      "host 2 to publish EngineDown",
      async () => (await h2.ownBlock())?.extra.state === "EngineDown",
      30_000,
      200,
    );
    expect(await h2.vmState()).toBe("absent");
    expect(await h1.vmState()).toBe("running");
    expect((await h2.agentLog()).slice(before)).not.toMatch(/engine VM (started|lease held)/);
  }, 120_000);

  it("host 2 loses the storage domain's lockspace (where the engine VM's lease lives): rejoined the same way", async () => {
    const ls = new RegExp(`^s (${storage.sdUUID}:2:\\S+:0)`, "m");
    const own = (await h2.sanlockStatus()).match(ls)?.[1];
    expect(own).toBeDefined();
    const before = (await h2.agentLog()).length;
    const removed = await h2.sanlock.client(["client", "rem_lockspace", "-s", own!]);
    expect(removed.output).toContain("rem_lockspace done 0");
    await pollUntil(
      "host 2's agent to rejoin the domain's lockspace",
      async () => ls.test(await h2.sanlockStatus()),
      60_000,
      200,
    );
    const log = (await h2.agentLog()).slice(before);
    expect(log).toContain(`"lockspace":"${storage.sdUUID}"`);
    expect(log).toContain("sanlock lockspace lost: rejoining");
    expect(await h2.vmState()).toBe("absent");
    expect(await h1.vmState()).toBe("running");
  }, 120_000);

  it("host 1's network fails: its score drops 800 below host 2's, it shuts the VM down and host 2 takes over", async () => {
    // host 1's gateway test now probes a closed TCP port: network 0, penalty 1600
    const conf = await readFile(h1.paths.hostConf, "utf8");
    await writeFile(
      h1.paths.hostConf,
      conf.replace("network_test=none", "network_test=tcp\ntcp_t_address=127.0.0.1\ntcp_t_port=1"),
    );
    expect(await h1.stopAgent()).toBe(0);
    await h1.startAgent();
    // host 2's retry penalty expires (30 s here), then its score beats host 1's by far
    await h1.waitState(/EngineStop|EngineDown/, 150_000);
    await h2.waitState("EngineUp", 150_000);
    expect(await h2.vmState()).toBe("running");
    expect(await h1.vmState()).toBe("absent");
    expect(await h2.sanlockStatus()).toMatch(engineLeaseRe(storage));
    expect(await h1.sanlockStatus()).not.toMatch(engineLeaseRe(storage));
    expect(await h1.agentLog()).toContain("engine VM shutdown requested");
  }, 330_000);
});
