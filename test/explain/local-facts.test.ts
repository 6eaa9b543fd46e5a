import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { gatherLocalFacts } from "../../src/explain/gather.js";

/**
 * The local facts the broker gathers on its schedule (ha.conf, the agent's vm.conf): read
 * from regular files only, so an odd file in their place (here a FIFO, which blocks an
 * open until a writer comes) never ties up the broker's file I/O or takes what was
 * written for the agent.
 */
describe("explain's local facts", () => {
  let dir = "";
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("read ha.conf's local maintenance and vm.conf's memory from regular files", async () => {
    dir = await mkdtemp(path.join(tmpdir(), "local-facts-"));
    const paths = { haConf: path.join(dir, "ha.conf"), vmConf: path.join(dir, "vm.conf") };
    await writeFile(paths.haConf, "local_maintenance=True\n");
    await writeFile(
      paths.vmConf,
      "vmId=50e59bbd-f829-4761-ba1b-6db1a6acc3b8\nvmName=HostedEngine\nmemSize=4096\nsmp=2\n",
    );
    expect(await gatherLocalFacts(paths)).toEqual({ localMaintenance: true, vmMemSizeMb: 4096 });
  });

  it("a FIFO in place of ha.conf or vm.conf reads as absent at once, never opened", async () => {
    dir = await mkdtemp(path.join(tmpdir(), "local-facts-"));
    const paths = { haConf: path.join(dir, "ha.conf"), vmConf: path.join(dir, "vm.conf") };
    await promisify(execFile)("mkfifo", [paths.haConf, paths.vmConf]);
    // an open of either would wait for a writer that never comes: the test would time out
    expect(await gatherLocalFacts(paths)).toEqual({ localMaintenance: false, vmMemSizeMb: null });
  });
});
