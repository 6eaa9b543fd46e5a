import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { labArgs } from "../../lab/children.js";
import { runCommand } from "../../lab/standins/processes.js";

async function links(): Promise<string[]> {
  const { output } = await runCommand("ip", ["-br", "link"]);
  return output
    .split("\n")
    .map((l) => l.split(/\s+/)[0]!.replace(/@.*/, ""))
    .filter(Boolean);
}

/**
 * The demo on Ctrl-C: every process it started ended, bridges, its GlusterFS volume,
 * every mount and its directory removed.
 */
describe("demo teardown", () => {
  it("on Ctrl-C mid-scenario exits 130 and leaves no process, bridge or directory behind", async () => {
    const linksBefore = await links();
    const child = spawn(
      process.execPath,
      labArgs("bin/demo", "--scenario", "startup", "--hosts", "2"),
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<number | null>((resolve) =>
      child.once("exit", (code) => resolve(code)),
    );
    // wait until the cluster exists and its daemons are starting
    const deadline = Date.now() + 60_000;
    while (!/brokers and agents started/.test(out) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(out).toMatch(/brokers and agents started/);
    const dir = /storage domain ready: (\/\S+)\/storage\/observer\//.exec(out)?.[1];
    expect(dir).toBeTruthy();
    const volume = /GlusterFS volume (\S+) started/.exec(out)?.[1];
    expect(volume).toBeTruthy();
    // Other test files run clusters at the same time: only this demo's links count,
    // the ones named with the prefix of the bridges it reports.
    const prefix = /bridges (\S+?)1br\b/.exec(out)?.[1];
    expect(prefix).toBeTruthy();
    const made = (await links()).filter((l) => !linksBefore.includes(l) && l.startsWith(prefix!));
    expect(made.length).toBeGreaterThanOrEqual(2 * 3); // 2 hosts × (a bridge and a veth pair)
    child.kill("SIGINT");
    expect(await exited).toBe(130);
    expect(existsSync(dir!)).toBe(false);
    const left = (await runCommand("pgrep", ["-f", dir!])).output.trim();
    expect(left).toBe("");
    const after = await links();
    expect(made.filter((l) => after.includes(l))).toEqual([]);
    // the demo's GlusterFS volume is deleted and nothing of it stays mounted
    const volumes = (await runCommand("gluster", ["--mode=script", "volume", "list"])).output;
    expect(volumes.split("\n")).not.toContain(volume);
    const mounts = (await runCommand("findmnt", ["-rn", "-o", "TARGET"])).output;
    expect(mounts.split("\n").filter((m) => m.startsWith(dir!))).toEqual([]);
  }, 120_000);
});
