import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const AGENT = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../../src/bin/ovirt-ha-agent.ts",
);

function runAgent(
  root: string,
  args: string[] = [],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", AGENT, "--no-log-pretty", ...args], {
      env: { ...process.env, HE_HA_ROOT: root },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("ovirt-ha-agent start-up", () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), "he-ha-agent-cli-"));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
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
