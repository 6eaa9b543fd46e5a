import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { productBin } from "../../lab/children.js";
import { holdHint } from "../../lab/demo/hold-hint.js";
import { DemoHost } from "../../lab/demo/host.js";
import { shellQuote } from "../../src/common/shell-quote.js";
import { runTool } from "../support/run.js";
import { removeDir, tempDir } from "../support/temp.js";
import { type BrokerHost, startBrokerHost } from "./cluster.js";

/**
 * The demo's `--hold` hint runs as printed, from any directory of a checkout where
 * `he-ha` is not on PATH (here: through `sh -c` in `/`, against a real broker), and the
 * demo's hosts publish distinct names.
 */
describe("demo --hold hint", () => {
  let host: BrokerHost;
  beforeAll(async () => {
    host = await startBrokerHost(1);
  });
  afterAll(async () => {
    await host?.stop();
  });

  it("quotes what the shell would split", () => {
    expect(shellQuote("/tmp/a b")).toBe("'/tmp/a b'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote("/usr/bin/node")).toBe("/usr/bin/node");
  });

  it("prints one line per host whose command runs as printed, from /, with no he-ha on PATH", async () => {
    const lines = holdHint(
      [
        { name: "host1", root: host.root, sanlockRunDir: path.join(host.root, "sanlock") },
        { name: "host2", root: "/tmp/demo x/host2", sanlockRunDir: "/tmp/demo x/host2/sanlock" },
      ],
      process.execPath,
      productBin("he-ha"),
    );
    expect(lines[2]).toContain(
      "HE_HA_ROOT='/tmp/demo x/host2' SANLOCK_RUN_DIR='/tmp/demo x/host2/sanlock'",
    );
    const command = lines[1]!.replace(/^ {2}host1: /, "");
    expect(command).toMatch(/ status$/);
    const r = await runTool("/bin/sh", ["-c", `cd / && ${command} --summary`], {
      env: { PATH: "/usr/bin:/bin" },
    });
    // the command ran he-ha against that host's broker: the summary is printed, and, as
    // no host of this bare broker host has published yet, status says so and exits 1
    // (docs/cli.md: one exit-code rule in every output form)
    expect(r.stdout).toMatch(/^engine: .* \| maintenance: none \| live hosts: /);
    expect(r.stderr).toBe("he-ha: no host has published a valid metadata block yet\n");
    expect(r.code).toBe(1);
  });

  it("gives every demo host its own published hostname", async () => {
    const dir = await tempDir("demo-names");
    try {
      const names: string[] = [];
      for (const id of [1, 2, 3]) {
        const h = new DemoHost({
          id,
          dir: path.join(dir, `host${id}`),
          netPrefix: "hhx",
          sharedConf: [],
          domain: dir,
          storage: "local",
          agentConf: "",
        });
        await mkdir(path.dirname(h.paths.hostConf), { recursive: true });
        await mkdir(path.dirname(h.paths.agentConf), { recursive: true });
        await h.writeConfig();
        const conf = await readFile(h.paths.hostConf, "utf8");
        names.push(/^hostname=(.*)$/m.exec(conf)?.[1] ?? "");
      }
      expect(names).toEqual(["host1", "host2", "host3"]);
    } finally {
      await removeDir(dir);
    }
  });
});
