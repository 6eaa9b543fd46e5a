import { execFile } from "node:child_process";
import { stat } from "node:fs/promises";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { killScriptText, writeKillScript } from "../../src/agent/kill-path.js";
import { removeDir, tempDir } from "../support/temp.js";

const run = promisify(execFile);

describe("engine VM kill script (sanlock kill path)", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await removeDir(d);
  });

  it("destroys the engine VM through virsh, with the URI quoted for the shell", async () => {
    const dir = await tempDir("kill-path");
    dirs.push(dir);
    const uri = "test+unix:///default?socket=/tmp/it's here/libvirt-sock";
    const kp = await writeKillScript(dir, uri, "50e59bbd-f829-4761-ba1b-6db1a6acc3b8");
    expect(kp.args).toEqual([]);
    expect((await stat(kp.path)).mode & 0o777).toBe(0o700);
    // run the script with a stand-in virsh that prints its arguments, one per line
    const text = killScriptText(uri, "50e59bbd-f829-4761-ba1b-6db1a6acc3b8", "printf '%s\\n'");
    const { stdout } = await run("sh", ["-c", text]);
    expect(stdout.split("\n").filter(Boolean)).toEqual([
      "-c",
      uri,
      "destroy",
      "50e59bbd-f829-4761-ba1b-6db1a6acc3b8",
    ]);
  });

  it("refuses a vmid that is not a UUID (nothing to inject into the script)", () => {
    expect(() => killScriptText("qemu:///system", "x; rm -rf /")).toThrow(/not a UUID/);
  });
});
