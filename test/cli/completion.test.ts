import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runTool } from "../support/run.js";
import { removeDir, tempDir } from "../support/temp.js";
import { runHeHa } from "./harness.js";

let dir: string;
let script: string;

/** What bash offers for `he-ha <words...>` (the last word is the one being completed). */
async function complete(words: string[]): Promise<string[]> {
  const line = ["he-ha", ...words];
  const prog = `source ${JSON.stringify(script)}
COMP_WORDS=(${line.map((w) => `'${w}'`).join(" ")})
COMP_CWORD=${line.length - 1}
_he_ha_complete
printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = await runTool("bash", ["--norc", "--noprofile", "-c", prog]);
  if (r.code !== 0 || r.stderr) throw new Error(`bash exited ${r.code}: ${r.stderr}`);
  return r.stdout
    .split("\n")
    .filter((l) => l !== "")
    .sort();
}

describe("he-ha completion bash", () => {
  beforeAll(async () => {
    dir = await tempDir("completion");
    const r = await runHeHa(dir, ["completion", "bash"]);
    expect(r.code).toBe(0);
    script = path.join(dir, "he-ha.bash");
    await writeFile(script, r.stdout);
  });
  afterAll(() => removeDir(dir));

  it("offers the top-level commands and the hosted-engine spellings", async () => {
    const top = await complete([""]);
    for (const c of [
      "completion",
      "liveliness",
      "metadata",
      "--vm-status",
      "--set-maintenance",
      "--help",
    ]) {
      expect(top).toContain(c);
    }
    expect(await complete(["li"])).toEqual(["liveliness"]);
    expect(await complete(["--vm-s"])).toEqual(["--vm-shutdown", "--vm-start", "--vm-status"]);
  });

  it("offers sub-commands and their options, wherever global options sit", async () => {
    expect(await complete(["metadata", "cl"])).toEqual(["clean"]);
    expect(await complete(["lockspace", ""])).toEqual(["--help", "reinit"]);
    expect(await complete(["metadata", "clean", "--"])).toEqual([
      "--force",
      "--help",
      "--host-id",
      "--json",
    ]);
    expect(await complete(["--json", "metadata", "clean", "--f"])).toEqual(["--force"]);
  });

  it("offers an argument's fixed choices", async () => {
    expect(await complete(["completion", ""])).toEqual(["--help", "bash"]);
    expect(await complete(["liveliness", "--t"])).toEqual(["--timeout"]);
    expect(await complete(["maintenance", "--mode", ""])).toEqual(["global", "local", "none"]);
    expect(await complete(["config", "get", "--type", "he"])).toEqual(["he_local", "he_shared"]);
    expect(await complete(["vm", ""])).toEqual([
      "--help",
      "poweroff",
      "shutdown",
      "start",
      "status",
    ]);
  });

  it("an unknown shell is a usage error", async () => {
    const r = await runHeHa(dir, ["completion", "fish"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      "error: command-argument value 'fish' is invalid for argument 'shell'",
    );
  });
});
