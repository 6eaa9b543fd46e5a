import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scriptArgs } from "../../lab/children.js";
import { startHostInfra } from "../../lab/standins/host-infra.js";
import {
  initLeaseVolume,
  initResourceLease,
  readLeaseOwnerFromDisk,
} from "../../lab/standins/lease-volume.js";
import { Libvirtd } from "../../lab/standins/libvirtd.js";
import { isAlive } from "../../lab/standins/processes.js";
import { SanlockDaemon } from "../../lab/standins/sanlock-daemon.js";
import { removeDir, tempDir } from "../support/temp.js";

const VM_ID = "7d6c5b4a-3e2f-4a1b-8c9d-0e1f2a3b4c5d";

/** alive and not a zombie */
async function running(pid: number): Promise<boolean> {
  if (!isAlive(pid)) return false;
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  return stat !== "" && !/^\d+ \(.*\) Z /.test(stat);
}

async function childPids(pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, "utf8").catch(() => "");
  return text.trim().split(/\s+/).filter(Boolean).map(Number);
}

describe("a lab host's stand-ins", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir("standins");
  });
  afterAll(() => removeDir(dir));

  it("starts a sanlock daemon per host and stops it, helper process included", async () => {
    const d = await SanlockDaemon.start({ runDir: join(dir, "s1"), hostName: "lab-host-1" });
    const helpers = await childPids(d.pid);
    expect(await running(d.pid)).toBe(true);
    const { output } = await d.client(["client", "status", "-D"]);
    expect(output).toContain("our_host_name=lab-host-1");
    await d.stop();
    expect(d.running).toBe(false);
    expect(await running(d.pid)).toBe(false);
    for (const h of helpers) expect(await running(h)).toBe(false);
    await d.stop();
  });

  it("kills a sanlock daemon hard (kill9) for failure scenarios", async () => {
    const d = await SanlockDaemon.start({ runDir: join(dir, "s2"), hostName: "lab-host-2" });
    await d.kill9();
    expect(await running(d.pid)).toBe(false);
  });

  it("reads the VM lease owner from the volume without a daemon", async () => {
    const volume = join(dir, "lease.vol");
    await initLeaseVolume(volume);
    await initResourceLease(volume, "hosted-engine", VM_ID, 1_048_576);
    expect(
      await readLeaseOwnerFromDisk({
        lockspace: "hosted-engine",
        resource: VM_ID,
        path: volume,
        offset: 1_048_576,
      }),
    ).toBeNull();
    await expect(
      readLeaseOwnerFromDisk({
        lockspace: "hosted-engine",
        resource: VM_ID,
        path: join(dir, "missing.vol"),
        offset: 1_048_576,
      }),
    ).rejects.toThrow(/read_leader/);
  });

  it("runs libvirtd in its own mount namespace, leaving the machine's mounts untouched", async () => {
    const before = await readFile("/proc/self/mounts", "utf8");
    const libvirtd = await Libvirtd.start({ dir: join(dir, "lv") });
    try {
      const pid = libvirtd.pid!;
      expect(await readFile(join(dir, "lv", "libvirtd.pid"), "utf8")).toBe(String(pid));
      const inside = await readFile(`/proc/${pid}/mounts`, "utf8");
      expect(inside).toMatch(/ \/run\/libvirt tmpfs /);
      expect(await readFile("/proc/self/mounts", "utf8")).toBe(before);
      expect(libvirtd.keeperPid).not.toBeNull();
    } finally {
      await libvirtd.stop();
    }
    expect(libvirtd.running).toBe(false);
    expect(libvirtd.keeperPid).toBeNull();
  });

  it("starts a host's sanlock and hypervisor together and kills both for a hard failure", async () => {
    const host = await startHostInfra({ dir: join(dir, "host3"), hostName: "host3" });
    expect(host.env.SANLOCK_RUN_DIR).toBe(join(dir, "host3", "sanlock"));
    expect(host.hypervisorUri).toBe(
      `test+unix:///default?socket=${join(dir, "host3", "libvirt", "libvirt-sock")}`,
    );
    const pids = [host.sanlock.pid, host.libvirtd.pid!, host.libvirtd.keeperPid!];
    await host.kill9();
    for (const pid of pids) expect(await running(pid)).toBe(false);
    await host.stop();
  });

  it("ends every daemon it started when the starting process exits without stopping them", async () => {
    const script = join(dir, "leaky.mts");
    const srcDir = fileURLToPath(new URL("../../lab/standins/", import.meta.url));
    await writeFile(
      script,
      [
        `import { SanlockDaemon } from ${JSON.stringify(join(srcDir, "sanlock-daemon.ts"))};`,
        `import { Libvirtd } from ${JSON.stringify(join(srcDir, "libvirtd.ts"))};`,
        `const s = await SanlockDaemon.start({ runDir: ${JSON.stringify(join(dir, "leak-s"))}, hostName: "leaky" });`,
        `const l = await Libvirtd.start({ dir: ${JSON.stringify(join(dir, "leak-l"))} });`,
        "console.log(JSON.stringify([s.pid, l.pid, l.keeperPid]));",
        "process.exit(0);",
      ].join("\n"),
    );
    const child = spawn(process.execPath, scriptArgs(script), {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    await new Promise((resolve) => child.once("exit", resolve));
    const pids = JSON.parse(out) as number[];
    expect(pids).toHaveLength(3);
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const pid of pids) expect(await running(pid)).toBe(false);
  });
});
