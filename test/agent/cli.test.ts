import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { productArgs } from "../../lab/children.js";
import { type Ran, runTool } from "../support/run.js";
import { removeDir, tempDir } from "../support/temp.js";

function runAgent(root: string, args: string[] = []): Promise<Ran> {
  return runTool(process.execPath, productArgs("ovirt-ha-agent", "--no-log-pretty", ...args), {
    env: { ...process.env, HE_HA_ROOT: root },
  });
}

describe("ovirt-ha-agent start-up", () => {
  let root: string;
  beforeAll(async () => {
    root = await tempDir("agent-cli");
  });
  afterAll(async () => {
    await removeDir(root);
  });

  it("refuses to run without hosted-engine.conf, naming the file", async () => {
    const r = await runAgent(root);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("hosted-engine.conf");
  }, 30_000);

  it("refuses to run when HA is not configured", async () => {
    const file = path.join(root, "etc/ovirt-hosted-engine/hosted-engine.conf");
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, "host_id=1\nconfigured=False\n");
    const r = await runAgent(root);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/HA is not configured/);
  }, 30_000);

  it("prints help and version", async () => {
    const help = await runAgent(root, ["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--cleanup");
    const version = await runAgent(root, ["--version"]);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^ovirt-ha-agent /);
  }, 30_000);
});
