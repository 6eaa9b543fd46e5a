import { cp, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli/main.js";
import { removeDir, tempDir } from "../support/temp.js";

const SCENARIOS = path.join(import.meta.dirname, "../../scenarios");

/** Runs he-ha in this process (no build needed); stdout, stderr and the exit code. */
async function heHa(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const o = vi.spyOn(process.stdout, "write").mockImplementation((s) => {
    out += String(s);
    return true;
  });
  const e = vi.spyOn(process.stderr, "write").mockImplementation((s) => {
    err += String(s);
    return true;
  });
  try {
    const code = await main(argv);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

let tmp: string | undefined;
afterEach(async () => {
  if (tmp) await removeDir(tmp);
  tmp = undefined;
});

describe("he-ha simulate", () => {
  it("prints the timeline of a scenario: the kill, the refused starts, the takeover", async () => {
    const r = await heHa("simulate", path.join(SCENARIOS, "failover-kill"), "--check");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^# failover-kill: /);
    expect(r.out).toMatch(/\n {3}250 -- {5}>> kill host1\n/);
    expect(r.out).toMatch(/host2 {2}start-vm: warn: Storage of VM is locked/);
    expect(r.out).toMatch(/\n {3}450 host2 {2}EngineStarting -> EngineUp: engine up and healthy\n/);
    expect(r.out).toMatch(/# invariants held/);
    expect(r.out).toMatch(/# matches log\.expect\n$/);
  });

  it("--json gives the timeline, the final states and where the VM runs", async () => {
    const r = await heHa("simulate", path.join(SCENARIOS, "local-maintenance"), "--json");
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out);
    expect(doc.final_states).toEqual({ host1: "LocalMaintenance", host2: "EngineUp" });
    expect(doc.vm_running_on).toEqual(["host2"]);
    expect(doc.violations).toEqual([]);
    expect(doc.timeline[0]).toEqual({ t: 0, host: "host1", event: "agent: started" });
  });

  it("--check exits 1 when the timeline differs from log.expect", async () => {
    tmp = await tempDir("sim");
    const dir = path.join(tmp, "startup");
    await cp(path.join(SCENARIOS, "startup"), dir, { recursive: true });
    await writeFile(path.join(dir, "log.expect"), "     0 host1  something else\n");
    const r = await heHa("simulate", dir, "--check");
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/# differs from log\.expect\n$/);
  });

  it("names the file and line of a bad scenario and exits 1", async () => {
    tmp = await tempDir("sim");
    await writeFile(path.join(tmp, "README"), "broken\n");
    await writeFile(path.join(tmp, "cmds"), "10 kill host1\n20 set host1 network 7\n");
    const r = await heHa("simulate", tmp);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/cmds:2: network: 7 is a ratio, expected 0\.\.1/);
    expect((await heHa("simulate", path.join(tmp, "none"))).err).toMatch(/none\/README: missing/);
    expect((await heHa("simulate", tmp, "--seed", "x")).code).toBe(2);
  });
});
