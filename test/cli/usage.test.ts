import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeDir, tempDir } from "../support/temp.js";
import { runHeHa } from "./harness.js";

let root: string;

describe("he-ha usage", () => {
  beforeAll(async () => {
    root = await tempDir("cli-usage");
  });
  afterAll(() => removeDir(root));

  it.each([
    ["status"],
    ["maintenance"],
    ["vm", "start"],
    ["vm", "shutdown"],
    ["vm", "poweroff"],
    ["liveliness"],
    ["lockspace", "reinit"],
    ["metadata", "clean"],
    ["config", "get"],
    ["config", "set"],
    ["completion"],
  ])("he-ha %s ... --help prints its usage and exits 0", async (...words) => {
    const r = await runHeHa(root, [...words, "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: he-ha ${words.join(" ")} `));
  });

  it("the hosted-engine spelling of a command shows that command's help", async () => {
    const r = await runHeHa(root, ["--vm-status", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: he-ha status \[options\]/);
    expect(r.stdout).toContain("--table");
  });

  it.each([
    [["no-such-command"], "error: unknown command 'no-such-command'"],
    [["status", "--bogus"], "error: unknown option '--bogus'"],
    [["vm", "reboot"], "error: unknown command 'reboot'"],
    [["--set-maintenance", "--mode"], "error: option '--mode <mode>' argument missing"],
    [["config", "get"], "error: missing required argument 'key'"],
  ])("%j is a usage error: exit 2 with commander's message", async (args, message) => {
    const r = await runHeHa(root, args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
