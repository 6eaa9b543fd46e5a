import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GlusterService, GlusterVolume, uniqueVolumeName } from "../../lab/standins/gluster.js";
import { runCommand } from "../../lab/standins/processes.js";
import { hostConfigFrom } from "../../src/common/host-config.js";
import { formatKeyValue } from "../../src/common/keyvalue.js";
import { haPaths } from "../../src/common/paths.js";
import { MountNotPermittedError, storageConnectorFor } from "../../src/storage/connect/index.js";
import { MountConnector } from "../../src/storage/connect/mount-connector.js";
import { connectionConf, mountPlan } from "../../src/storage/connect/mount-plan.js";
import { mountAt, parseMountinfo } from "../../src/storage/connect/mountinfo.js";
import { fileDomainMetadata, formatDomainMetadata } from "../../src/storage/domain-metadata.js";
import { runHeHa } from "../cli/harness.js";
import { removeDir, tempDir } from "../support/temp.js";

const SD = "5d1c0b2a-1111-4222-8333-444455556666";
/** a directory named like another domain whose metadata names SD (a copied domain) */
const OTHER = "00000000-aaaa-4bbb-8ccc-dddddddddddd";

async function mountsAt(mountPoint: string): Promise<number> {
  const recs = parseMountinfo(await readFile("/proc/self/mountinfo", "utf8"));
  return recs.filter((r) => r.mountPoint === mountPoint).length;
}

async function run(cmd: string, args: string[]): Promise<string> {
  const r = await runCommand(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.output}`);
  return r.output.trim();
}

/** Puts dom_md/metadata naming `sdUUID` at the root of whatever is mounted at `dir`. */
async function writeDomain(dir: string, sdUUID: string, type: "GLUSTERFS" | "POSIXFS") {
  await mkdir(path.join(dir, sdUUID, "dom_md"), { recursive: true });
  await writeFile(
    path.join(dir, sdUUID, "dom_md", "metadata"),
    formatDomainMetadata(
      fileDomainMetadata({ sdUUID, remotePath: "x", type, description: "hosted_storage" }),
    ),
  );
}

async function writeHostConf(root: string, lines: Record<string, string>) {
  const p = haPaths(root);
  await mkdir(path.dirname(p.hostConf), { recursive: true });
  const all = { host_id: "1", sdUUID: SD, ...lines };
  await writeFile(p.hostConf, formatKeyValue(Object.entries(all)));
  return hostConfigFrom(new Map(Object.entries(all)), p.hostConf);
}

describe("storage connect with a real GlusterFS volume", () => {
  let base = "";
  let gd: GlusterService;
  let vol: GlusterVolume;
  let root = "";

  beforeAll(async () => {
    base = await tempDir("connect");
    gd = await GlusterService.ensure(path.join(base, "glusterd"));
    vol = await GlusterVolume.create({
      name: uniqueVolumeName("hetest"),
      brickDir: path.join(base, "brick"),
    });
    // the domain is created on the volume through a scratch mount, as deployment would
    const scratch = path.join(base, "scratch");
    await mkdir(scratch);
    await run("mount", ["-t", "glusterfs", vol.spec, scratch]);
    await writeDomain(scratch, SD, "GLUSTERFS");
    await mkdir(path.join(scratch, OTHER, "dom_md"), { recursive: true });
    await writeFile(
      path.join(scratch, OTHER, "dom_md", "metadata"),
      await readFile(path.join(scratch, SD, "dom_md", "metadata")),
    );
    await run("umount", [scratch]);
    root = path.join(base, "host1");
  });

  afterAll(async () => {
    const mnt = haPaths(root).mountRoot;
    const out = (await runCommand("findmnt", ["-rn", "-o", "TARGET"])).output;
    for (const t of out.split("\n").filter((l) => l.startsWith(mnt)))
      await runCommand("umount", ["-l", t]);
    await vol?.destroy();
    await gd?.release();
    await removeDir(base);
  });

  it("he-ha --connect-storage mounts at VDSM's glusterSD point; again reuses it; the agent's connector sees it", async () => {
    const conf = await writeHostConf(root, { domainType: "glusterfs", storage: vol.spec });
    const mountPoint = path.join(
      haPaths(root).mountRoot,
      "glusterSD",
      `localhost:_${vol.name.replaceAll("_", "__")}`,
    );
    const first = await runHeHa(root, ["--connect-storage", "--json"]);
    expect(first.stderr).toBe("");
    expect(JSON.parse(first.stdout)).toMatchObject({
      outcome: "mounted",
      domain: path.join(mountPoint, SD),
    });
    const rec = mountAt(parseMountinfo(await readFile("/proc/self/mountinfo", "utf8")), mountPoint);
    expect(rec).toMatchObject({ fsType: "fuse.glusterfs", source: vol.spec });
    const again = await runHeHa(root, ["storage", "connect"]);
    expect(again.stdout).toMatch(/already connected/);
    expect(await mountsAt(mountPoint)).toBe(1);
    const c = storageConnectorFor(conf, haPaths(root));
    expect(await c.check()).toEqual({ state: "ok", domainDir: path.join(mountPoint, SD) });
  });

  it("a stopped volume answers ENOTCONN: unreachable, no second mount; started again it is ok", async () => {
    const conf = await writeHostConf(root, { domainType: "glusterfs", storage: vol.spec });
    const c = storageConnectorFor(conf, haPaths(root));
    const mountPoint = path.dirname(c.domainDir);
    await vol.stop();
    const down = await c.check();
    expect(down.state).toBe("unreachable");
    expect(down.state !== "ok" && down.why).toMatch(/Transport endpoint is not connected/);
    await expect(c.connect()).rejects.toThrow(/mounted, but .*not connected/);
    expect(await mountsAt(mountPoint)).toBe(1);
    await vol.start();
    let back = await c.check();
    for (let i = 0; i < 50 && back.state !== "ok"; i++) {
      await new Promise((r) => setTimeout(r, 200));
      back = await c.check();
    }
    expect(back.state).toBe("ok");
  });

  it("another sdUUID in hosted-engine.conf: refused, naming both, and nothing left mounted by us", async () => {
    await runHeHa(root, ["--disconnect-storage"]);
    await writeHostConf(root, { domainType: "glusterfs", storage: vol.spec, sdUUID: OTHER });
    const r = await runHeHa(root, ["storage", "connect"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `${OTHER}/dom_md/metadata names storage domain ${SD}, hosted-engine.conf sdUUID=${OTHER}`,
    );
    const mountPoint = path.join(haPaths(root).mountRoot, "glusterSD", `localhost:_${vol.name}`);
    expect(await mountsAt(mountPoint)).toBe(0);
  });

  it("a mount made by someone else is reused and never unmounted by disconnect", async () => {
    await writeHostConf(root, { domainType: "glusterfs", storage: vol.spec });
    const mountPoint = path.join(haPaths(root).mountRoot, "glusterSD", `localhost:_${vol.name}`);
    await mkdir(mountPoint, { recursive: true });
    await run("mount", ["-t", "glusterfs", vol.spec, mountPoint]);
    const c = await runHeHa(root, ["storage", "connect", "--json"]);
    expect(JSON.parse(c.stdout).outcome).toBe("already-connected");
    const d = await runHeHa(root, ["storage", "disconnect", "--json"]);
    expect(JSON.parse(d.stdout).outcome).toBe("not-ours");
    expect(await mountsAt(mountPoint)).toBe(1);
    await run("umount", [mountPoint]);
  });

  it("disconnect unmounts what he-ha mounted", async () => {
    await writeHostConf(root, { domainType: "glusterfs", storage: vol.spec });
    const mountPoint = path.join(haPaths(root).mountRoot, "glusterSD", `localhost:_${vol.name}`);
    expect((await runHeHa(root, ["storage", "connect"])).code).toBe(0);
    const d = await runHeHa(root, ["--disconnect-storage", "--json"]);
    expect(JSON.parse(d.stdout).outcome).toBe("unmounted");
    expect(await mountsAt(mountPoint)).toBe(0);
    const again = await runHeHa(root, ["storage", "disconnect"]);
    expect(again.stdout).toMatch(/not connected/);
  });
});

describe("storage connect: posixfs on a real loop device (ext4)", () => {
  let base = "";
  let dev = "";

  beforeAll(async () => {
    base = await tempDir("posix");
    const img = path.join(base, "disk.img");
    await run("truncate", ["-s", "64M", img]);
    await run("mkfs.ext4", ["-q", img]);
    dev = await run("losetup", ["-f", "--show", img]);
    const scratch = path.join(base, "scratch");
    await mkdir(scratch);
    await run("mount", ["-t", "ext4", dev, scratch]);
    await writeDomain(scratch, SD, "POSIXFS");
    await run("umount", [scratch]);
  });

  afterAll(async () => {
    const out = (await runCommand("findmnt", ["-rn", "-o", "TARGET", "-S", dev])).output;
    for (const t of out.split("\n").filter(Boolean)) await runCommand("umount", ["-l", t]);
    if (dev) await runCommand("losetup", ["-d", dev]);
    await removeDir(base);
  });

  it("mounts the device with vfs_type at <mnt>/_dev_loopN, verifies, unmounts", async () => {
    const root = path.join(base, "host1");
    const conf = await writeHostConf(root, {
      domainType: "posixfs",
      storage: dev,
      vfs_type: "ext4",
      mnt_options: "noatime",
    });
    const c = storageConnectorFor(conf, haPaths(root));
    const mountPoint = path.join(haPaths(root).mountRoot, dev.replaceAll("/", "_"));
    expect(c.domainDir).toBe(path.join(mountPoint, SD));
    expect(await c.check()).toMatchObject({ state: "missing" });
    expect(await c.connect()).toBe("mounted");
    const rec = mountAt(parseMountinfo(await readFile("/proc/self/mountinfo", "utf8")), mountPoint);
    expect(rec?.fsType).toBe("ext4");
    expect(await c.connect()).toBe("already-connected");
    expect(await c.check()).toMatchObject({ state: "ok" });
    expect(await c.disconnect()).toBe("unmounted");
    expect(await mountsAt(mountPoint)).toBe(0);
  });

  it("a process that may not mount (the agent as vdsm) is told so, naming the unit's ExecStartPre; nothing is mounted", async () => {
    const root = path.join(base, "host2");
    const conf = await writeHostConf(root, {
      domainType: "posixfs",
      storage: dev,
      vfs_type: "ext4",
    });
    const c = new MountConnector({
      plan: mountPlan(connectionConf(conf), haPaths(root).mountRoot),
      sdUUID: SD,
      stateDir: haPaths(root).runDir,
      mayMount: false,
    });
    const err = await c.connect().catch((e: Error) => e);
    expect(err).toBeInstanceOf(MountNotPermittedError);
    expect((err as Error).message).toMatch(
      /only root may mount it .*ExecStartPre=\+he-ha storage connect/,
    );
    expect(await mountsAt(path.dirname(c.domainDir))).toBe(0);
  });
});
