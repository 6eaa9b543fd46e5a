import { describe, expect, it } from "vitest";
import { LeaseHeldError } from "../../src/sanlock/errors.js";
import {
  formatState,
  parseCommands,
  parseState,
  runScenario,
  type Scenario,
  ScenarioError,
} from "../../src/simulator/index.js";
import { SimSanlock } from "../../src/simulator/sanlock.js";
import { VirtualScheduler } from "../../src/simulator/scheduler.js";

function scenario(conf: string, cmds: string): Scenario {
  const config = new Map(
    conf
      .split("\n")
      .filter((l) => l.includes("="))
      .map((l) => l.split("=") as [string, string]),
  );
  return {
    name: "inline",
    dir: "inline",
    description: "",
    config,
    commands: parseCommands(cmds),
    expect: null,
  };
}

describe("the simulator", () => {
  it("starts a cluster from the state another run ended with (a saved whiteboard)", async () => {
    const first = await runScenario(
      scenario("hosts=2\nduration=300", "250 global-maintenance on\n"),
    );
    const saved = parseState(first.state, (line, why) => new Error(`${line}: ${why}`));
    expect([...saved.keys()]).toEqual([0, 1, 2]);
    // the same text again once parsed: nothing is lost on the way through the file
    expect(formatState(saved)).toBe(first.state);
    const resumed = await runScenario({
      ...scenario("hosts=2\nduration=100", ""),
      state: saved,
    });
    expect(resumed.finalStates).toEqual({ host1: "GlobalMaintenance", host2: "GlobalMaintenance" });
    expect(resumed.vmRunningOn).toEqual([]);
    const fresh = await runScenario(scenario("hosts=2\nduration=100", ""));
    expect(fresh.finalStates).toEqual({ host1: "EngineDown", host2: "EngineDown" });
  });

  it("names the line of a state file it cannot read", () => {
    const bad = (line: number, why: string) => new ScenarioError("x/state", line, why);
    expect(() => parseState("# saved\nsegment 1 AAAA\nsegment one AAAA\n", bad)).toThrow(
      'x/state:3: expected "segment <index> <base64>"',
    );
    expect(() => parseState("segment 1 AAAA\nsegment 1 AAAA\n", bad)).toThrow(
      "x/state:2: segment 1 given twice",
    );
  });

  it("gives the same log for the same scenario and seed, every time", async () => {
    const s = scenario("hosts=3\nduration=500", "250 kill host1\n");
    const a = await runScenario(s, { seed: 7 });
    const b = await runScenario(s, { seed: 7 });
    expect(a.log).toBe(b.log);
    const plain = await runScenario(s);
    expect((await runScenario(s)).log).toBe(plain.log);
  });

  it("random interleavings by seed keep the engine VM on one host with its lease", async () => {
    const s = scenario(
      "hosts=3\nduration=900",
      "200 kill host1\n260 cut-storage host2\n300 global-maintenance on\n330 global-maintenance off\n400 restore-storage host2\n420 boot host1\n",
    );
    const logs = new Set<string>();
    for (let seed = 1; seed <= 12; seed++) {
      const r = await runScenario(s, { seed });
      expect(r.violations, `seed ${seed}`).toEqual([]);
      expect(r.vmRunningOn.length, `seed ${seed}`).toBe(1);
      logs.add(r.log);
    }
    // the seeds do change the interleaving
    expect(logs.size).toBeGreaterThan(1);
  });

  it("the invariant checks catch two engine VMs when sanlock would grant a held lease", async () => {
    const r = await runScenario(scenario("hosts=2\nduration=200\nunsafe_ignore_leases=True", ""));
    expect(r.violations.map((v) => v.invariant)).toContain("one-engine-vm");
    expect(r.log).toMatch(/!! invariant broken: engine VM running on host1, host2/);
  });

  it("a bad command is refused before the run, naming the file and line", async () => {
    await expect(
      runScenario(scenario("hosts=2", "10 kill host1\n20 explode host2\n")),
    ).rejects.toThrow(/cmds:2: unknown command "explode"/);
    await expect(runScenario(scenario("hosts=2", "10 kill host9\n"))).rejects.toThrow(
      /"host9" is not a host of this cluster/,
    );
    expect(() => parseCommands("20 kill host1\n10 boot host1\n")).toThrow(ScenarioError);
  });
});

describe("the sanlock model", () => {
  it("refuses a held resource until its owner is dead: 8 x io_timeout + 60 s after its last renewal", async () => {
    const sched = new VirtualScheduler();
    const sanlock = new SimSanlock(sched, { ioTimeout: 10 }, () => {});
    sanlock.startDaemon(1, () => {});
    sanlock.startDaemon(2, () => {});
    const spec = { name: "sd", path: "/ids", offset: 0, hostId: 0, ioTimeout: 10 };
    const joins = [
      sanlock.lockspacePort(1).addLockspace({ ...spec, hostId: 1 }),
      sanlock.lockspacePort(2).addLockspace({ ...spec, hostId: 2 }),
    ];
    await sched.runUntil(20);
    expect(await Promise.all(joins)).toEqual(["joined", "joined"]);
    expect(await sanlock.vmLeasePort(1, "sd", "vol").acquire()).toBe("acquired");
    await sched.runUntil(40);
    sanlock.crash(1); // last renewal at 40
    await sched.runUntil(180);
    await expect(sanlock.vmLeasePort(2, "sd", "vol").acquire()).rejects.toBeInstanceOf(
      LeaseHeldError,
    );
    await sched.runUntil(181);
    expect(await sanlock.vmLeasePort(2, "sd", "vol").acquire()).toBe("acquired");
  });

  it("runs the kill path after 8 x io_timeout without renewal and loses the lockspaces", async () => {
    const sched = new VirtualScheduler();
    const events: string[] = [];
    const sanlock = new SimSanlock(sched, { ioTimeout: 10 }, (_id, t) =>
      events.push(`${sched.now} ${t}`),
    );
    let killed = -1;
    sanlock.startDaemon(1, () => {
      killed = sched.now;
    });
    const join = sanlock.lockspacePort(1).addLockspace({
      name: "hosted-engine",
      path: "/ls",
      offset: 0,
      hostId: 1,
      ioTimeout: 10,
    });
    await sched.runUntil(20);
    await join;
    sanlock.setStorage(1, false);
    await sched.runUntil(99);
    expect(killed).toBe(-1);
    await sched.runUntil(100);
    expect(killed).toBe(100);
    expect(sanlock.holds(1, "hosted-engine")).toBe(false);
    expect(events[0]).toMatch(/^100 sanlock: delta lease renewal failed for 80 s: kill path/);
  });
});
