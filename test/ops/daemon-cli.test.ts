import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { distFile, productBin } from "../../lab/children.js";
import {
  agentArgsOutcome,
  brokerArgsOutcome,
  daemonArgsOutcome,
} from "../../src/common/daemon-cli.js";
import { packageVersion, versionLine } from "../../src/common/version.js";
import { REPO, runTool } from "../support/run.js";
import { runNode } from "./harness.js";

const pkgVersion = (
  JSON.parse(readFileSync(path.join(REPO, "package.json"), "utf8")) as { version: string }
).version;

describe("version", () => {
  it("is package.json's", () => {
    expect(packageVersion()).toBe(pkgVersion);
    expect(versionLine("ovirt-ha-broker")).toBe(`ovirt-ha-broker ${pkgVersion} (hosted-engine-ha)`);
  });
});

describe("daemon arguments", () => {
  it("--version and -V print the version line and exit 0", () => {
    for (const flag of ["--version", "-V"]) {
      expect(brokerArgsOutcome([flag])).toEqual({
        kind: "exit",
        code: 0,
        stdout: `ovirt-ha-broker ${pkgVersion} (hosted-engine-ha)\n`,
        stderr: "",
      });
    }
  });

  it("--help describes the daemon, every option and the environment, and exits 0", () => {
    const agent = agentArgsOutcome(["--help"]);
    expect(agent.kind).toBe("exit");
    if (agent.kind !== "exit") return;
    expect(agent.code).toBe(0);
    expect(agent.stderr).toBe("");
    expect(agent.stdout).toMatch(/^Usage: ovirt-ha-agent \[options\]/);
    for (const opt of [
      "--version",
      "--log-level <level>",
      "--log-pretty",
      "--no-log-pretty",
      "--root <dir>",
      "--cleanup",
      "--force-cleanup",
      "--host-id <n>",
      "--help",
    ]) {
      expect(agent.stdout).toContain(opt);
    }
    expect(agent.stdout).toContain("HE_HA_LOG_LEVEL");
    const broker = brokerArgsOutcome(["-h"]);
    expect(broker.kind === "exit" && broker.stdout).toMatch(/^Usage: ovirt-ha-broker/);
    expect(broker.kind === "exit" && broker.stdout).not.toContain("--cleanup");
  });

  it("reads the logging options and the root", () => {
    expect(
      brokerArgsOutcome(["--log-level", "DEBUG", "--log-pretty", "--root", "/srv/h1"]),
    ).toEqual({
      kind: "run",
      options: { logLevel: "debug", logPretty: true, root: "/srv/h1" },
    });
    expect(brokerArgsOutcome(["--no-log-pretty"])).toMatchObject({
      kind: "run",
      options: { logPretty: false, logLevel: undefined },
    });
    const none = brokerArgsOutcome([]);
    expect(none).toMatchObject({
      kind: "run",
      options: { logPretty: undefined, logLevel: undefined },
    });
  });

  it("the agent's --cleanup, --force-cleanup/--force and --host-id", () => {
    expect(agentArgsOutcome(["--cleanup", "--force", "--host-id", "3"])).toMatchObject({
      kind: "run",
      options: { cleanup: true, forceCleanup: true, hostId: 3 },
    });
    expect(agentArgsOutcome(["--cleanup", "--force-cleanup"])).toMatchObject({
      options: { forceCleanup: true },
    });
    expect(agentArgsOutcome([])).toMatchObject({
      options: { cleanup: false, forceCleanup: false, hostId: undefined },
    });
  });

  it("bad usage exits 2 with a message naming the problem", () => {
    const cases: Array<[string[], RegExp]> = [
      [["--log-level", "loud"], /--log-level.*'loud' is invalid/],
      [["--bogus"], /unknown option '--bogus'/],
      [["extra"], /too many arguments/],
      [["--host-id", "0"], /--host-id.*'0' is invalid.*1\.\.2000/],
      [["--host-id", "2.5"], /--host-id/],
      [["--force"], /--force-cleanup only makes sense with --cleanup/],
    ];
    for (const [argv, message] of cases) {
      const o = agentArgsOutcome(argv);
      expect(o.kind, argv.join(" ")).toBe("exit");
      if (o.kind !== "exit") continue;
      expect(o.code).toBe(2);
      expect(o.stdout).toBe("");
      expect(o.stderr).toMatch(message);
    }
    expect(brokerArgsOutcome(["--cleanup"])).toMatchObject({ kind: "exit", code: 2 });
  });

  it("extra options of another daemon come back under `extra`", () => {
    const o = daemonArgsOutcome(
      "ovirt-ha-demo-daemon",
      ["--speed", "4"],
      [
        {
          flags: "--speed <n>",
          description: "time factor",
          parse: (v) => Number(v),
          defaultValue: 1,
        },
      ],
    );
    expect(o).toMatchObject({ kind: "run", options: { extra: { speed: 4 } } });
    expect(
      daemonArgsOutcome("x", [], [{ flags: "--speed <n>", description: "", defaultValue: 1 }]),
    ).toMatchObject({
      options: { extra: { speed: 1 } },
    });
  });

  it("parseAgentArgs in a real process: exit 0 for --version, 2 with a hint for bad usage", async () => {
    const mod = distFile("src/common/daemon-cli.js");
    const script = `import { parseAgentArgs } from ${JSON.stringify(mod)};
      console.log(JSON.stringify(parseAgentArgs(process.argv.slice(1))));`;
    const version = await runNode(script, { args: ["--version"] });
    expect(version).toEqual({
      code: 0,
      stdout: `ovirt-ha-agent ${pkgVersion} (hosted-engine-ha)\n`,
      stderr: "",
    });
    const bad = await runNode(script, { args: ["--no-such-flag"] });
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe("");
    expect(bad.stderr).toBe(
      "ovirt-ha-agent: error: unknown option '--no-such-flag'\nTry 'ovirt-ha-agent --help'.\n",
    );
    const ok = await runNode(script, { args: ["--cleanup", "--host-id", "7"] });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ cleanup: true, hostId: 7, root: "/" });
  });
});

describe("the built daemons", () => {
  for (const name of ["ovirt-ha-broker", "ovirt-ha-agent"] as const) {
    it(`${name}: --version, --help exit 0; a bad option exits 2`, async () => {
      const bin = productBin(name);
      const node = (args: string[]) =>
        runTool(process.execPath, [bin, ...args], { env: { PATH: process.env.PATH } });
      expect(await node(["--version"])).toEqual({
        code: 0,
        stdout: `${name} ${pkgVersion} (hosted-engine-ha)\n`,
        stderr: "",
      });
      const help = await node(["--help"]);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`^Usage: ${name} \\[options\\]`));
      expect(help.stdout).toContain("--log-level <level>");
      const bad = await node(["--frobnicate"]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain(`${name}: error: unknown option '--frobnicate'`);
      expect(bad.stdout).toBe("");
    });
  }
});
