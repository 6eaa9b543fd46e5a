import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import {
  mkdir,
  readdir,
  readFile,
  readlink,
  realpath,
  rm,
  stat,
  writeFile,
} from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { productArgs } from "../../lab/children.js";
import { lockspaceString } from "../../src/sanlock/names.js";
import { readConfArchive } from "../../src/storage/archive/conf-archive.js";
import { initStorageDomain, StorageInitError } from "../../src/storage/init.js";
import { findOvfStoreVolumes, readOvfFromStore } from "../../src/storage/ovf/store.js";
import { readVolumeMeta } from "../../src/storage/volume-meta.js";
import { OVF_DIR } from "../fixtures/ovf-fixtures.js";
import {
  checkDomainLayout,
  dumpEmptyWhiteboard,
  ENGINE42,
  expectArchiveListing,
  sanlockScratch,
} from "./domain-layout.js";

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const FIXTURES = OVF_DIR;
const GOLDEN = path.join(here, "golden");
const OVF42 = path.join(FIXTURES, "ovf_test_v4.2.xml");
const { vmId: VM42, sdUUID: SD42, imageUUID: IMG42, volumeUUID: VOL42 } = ENGINE42;
/** the engine disk of ovf_test.xml / ovf_test.vm.conf */
const SD_TEST = "475e7578-33a2-474f-8647-aa46f01200f9";
const IMG_TEST = "1b52d184-a370-48a7-8335-a4755b01ec0a";
const VOL_TEST = "05f1031c-6c9a-48c3-9a62-930984e52e11";

/** python3-sanlock's read_lockspace/read_resource go through a daemon */
const scratch = sanlockScratch("storage-init");
let dir: string;

/** Runs the built `he-ha` under HE_HA_ROOT=root; never throws on a non-zero exit. */
async function heHa(
  args: string[],
  root = dir,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, productArgs("he-ha", ...args), {
      env: { ...process.env, HE_HA_ROOT: root, HE_HA_LOG_LEVEL: "silent" },
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

/** `key=value` lines of the output (comments skipped). */
function confLines(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of stdout.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0 && !line.startsWith("#")) out.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return out;
}

beforeAll(async () => {
  dir = scratch.dir();
});

describe("he-ha storage init", () => {
  it("creates a complete file domain whose printed hosted-engine.conf lines work", async () => {
    // a mount point name as VDSM makes them: the ":" must be escaped in sanlock's strings
    const domain = path.join(dir, "nfs.example.com:_he", "sd1");
    const hostConf = path.join(dir, "he1.conf");
    await writeFile(
      hostConf,
      "fqdn=engine.example.com\nstorage=nfs.example.com:/he\ndomainType=nfs\nhost_id=1\n",
    );
    const r = await heHa([
      "storage",
      "init",
      "--domain",
      domain,
      "--ovf",
      OVF42,
      "--host-conf",
      hostConf,
      "--io-timeout",
      "1",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = confLines(r.stdout);
    expect([...lines.keys()]).toEqual([
      "sdUUID",
      "spUUID",
      "vmid",
      "domain_path",
      "metadata_image_UUID",
      "metadata_volume_UUID",
      "lockspace_image_UUID",
      "lockspace_volume_UUID",
      "conf_image_UUID",
      "conf_volume_UUID",
      "sanlock_io_timeout",
    ]);
    expect(lines.get("sdUUID")).toBe(SD42); // the engine disk's domainID
    expect(lines.get("vmid")).toBe(VM42);
    expect(lines.get("domain_path")).toBe(domain);
    expect(lines.get("sanlock_io_timeout")).toBe("1");
    const vol = (what: string) =>
      path.join(
        domain,
        "images",
        lines.get(`${what}_image_UUID`)!,
        lines.get(`${what}_volume_UUID`)!,
      );
    const metadata = vol("metadata");
    const lockspace = vol("lockspace");
    const conf = vol("conf");
    expect((await stat(metadata)).size).toBe(8 * 1024 * 1024); // 2001 × 4096 rounded up to MiB
    expect((await stat(lockspace)).size).toBe(1024 * 1024);
    expect((await stat(conf)).size).toBe(1024 * 1024 * 1024);

    // sanlock: lockspace hosted-engine with io_timeout 1 at 0, nothing else on the volume
    const leader = await run("sanlock", [
      "direct",
      "read_leader",
      "-s",
      lockspaceString("hosted-engine", 1, lockspace, 0),
    ]);
    expect(leader.stdout).toMatch(/^space_name hosted-engine$/m);
    expect(leader.stdout).toMatch(/^io_timeout 1$/m);

    // the VDSM layout, read by python3-sanlock and by sanlock direct
    const stores = await findOvfStoreVolumes(domain);
    expect(stores).toHaveLength(1);
    await checkDomainLayout(
      domain,
      {
        sdUUID: SD42,
        ioTimeout: 1,
        type: "NFS",
        remotePath: "nfs.example.com:/he",
        description: "hosted_storage",
        heLockspaceVolume: lines.get("lockspace_volume_UUID")!,
        heLockspaceSize: 1024 * 1024,
        engineDisk: { imageUUID: IMG42, volumeUUID: VOL42 },
        volumes: [
          lines.get("metadata_volume_UUID")!,
          lines.get("lockspace_volume_UUID")!,
          lines.get("conf_volume_UUID")!,
          stores[0]!.volumeUUID,
          VOL42,
        ],
      },
      scratch.env(),
    );
    const engineDisk = path.join(domain, "images", IMG42, VOL42);
    expect((await stat(engineDisk)).size).toBe(1024 * 1024);
    expect(r.stdout).toContain(`# ids:         ${domain}/dom_md/ids (lockspace ${SD42})\n`);
    expect(r.stdout).toContain(`# engine disk: ${engineDisk}\n`);
    expect(r.stdout).toContain(
      `# note: VDSM finds this domain at <mount>/${SD42}; this directory is named otherwise`,
    );
    // sanlock's own string for the lease (the path's ":" escaped)
    expect(r.stdout).toContain(
      `# engine VM lease: ${SD42}:${VOL42}:${engineDisk.replaceAll(":", "\\:")}.lease:0\n`,
    );

    // the configuration archive: five members, GNU tar lists them, conf lines stored
    await expectArchiveListing(conf);
    const archive = await readConfArchive(conf);
    expect(archive.members["vm.conf"]).toBe(
      await readFile(path.join(GOLDEN, "ovf_test_v4.2.vm.conf"), "utf8"),
    );
    expect(archive.members["hosted-engine.conf"]).toMatch(/^fqdn=engine\.example\.com\n/);
    for (const [k, v] of lines)
      expect(archive.members["hosted-engine.conf"]).toContain(`\n${k}=${v}\n`);
    expect((await readVolumeMeta(conf)).get("DESCRIPTION")).toBe("HostedEngineConfigurationImage");

    // OVF_STORE: found by its description, holds <vmid>.ovf
    expect(await readOvfFromStore(stores[0]!.path, VM42)).toBe(await readFile(OVF42, "utf8"));

    // older layout links
    expect(await realpath(path.join(domain, "ha_agent/hosted-engine.metadata"))).toBe(
      await realpath(metadata),
    );
    expect(await realpath(path.join(domain, "ha_agent/hosted-engine.lockspace"))).toBe(
      await realpath(lockspace),
    );
    expect(
      path.isAbsolute(await readlink(path.join(domain, "ha_agent/hosted-engine.lockspace"))),
    ).toBe(false);

    // `metadata dump` on the result, with a host config made of the printed lines
    const dumped = await dumpEmptyWhiteboard(path.join(dir, "host1"), r.stdout);
    expect(await realpath(dumped)).toBe(await realpath(metadata));
  });

  it("--json, with a given vm.conf and no OVF (no OVF_STORE)", async () => {
    const domain = path.join(dir, "5f2b9c1e-3a4d-4e6f-8a9b-0c1d2e3f4a5b");
    const vmConf = path.join(GOLDEN, "ovf_test.vm.conf");
    const r = await heHa([
      "storage",
      "init",
      "--domain",
      domain,
      "--vm-conf",
      vmConf,
      "--io-timeout",
      "2",
      "--sd-uuid",
      SD_TEST,
      "--json",
    ]);
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout) as {
      sdUUID: string;
      vmId: string;
      volumes: Record<string, { path: string; volumeUUID: string; leasePath: string }>;
      engineDisk: { imageUUID: string; volumeUUID: string; path: string; leasePath: string };
      domMd: Record<string, string>;
      confLines: Record<string, string>;
    };
    // the engine disk's domainID names the domain, not the directory
    expect(out.sdUUID).toBe(SD_TEST);
    expect(out.engineDisk).toEqual({
      imageUUID: IMG_TEST,
      volumeUUID: VOL_TEST,
      path: path.join(domain, "images", IMG_TEST, VOL_TEST),
      leasePath: path.join(domain, "images", IMG_TEST, `${VOL_TEST}.lease`),
      leaseOffset: 0,
    });
    expect(out.domMd.ids).toBe(path.join(domain, "dom_md/ids"));
    expect(out.domMd.xleases).toBe(path.join(domain, "dom_md/xleases"));
    await checkDomainLayout(
      domain,
      {
        sdUUID: SD_TEST,
        ioTimeout: 2,
        type: "POSIXFS",
        remotePath: "",
        description: "hosted_storage",
        heLockspaceVolume: out.volumes.lockspace!.volumeUUID,
        heLockspaceSize: 1024 * 1024,
        engineDisk: { imageUUID: IMG_TEST, volumeUUID: VOL_TEST },
        volumes: [...Object.values(out.volumes).map((v) => v.volumeUUID), VOL_TEST],
      },
      scratch.env(),
    );
    expect(out.vmId).toBe("50e59bbd-f829-4761-ba1b-6db1a6acc3b8");
    expect(Object.keys(out.volumes).sort()).toEqual(["conf", "lockspace", "metadata"]);
    expect(out.confLines.sanlock_io_timeout).toBe("2");
    expect(await findOvfStoreVolumes(domain)).toEqual([]);
    const archive = await readConfArchive(out.volumes.conf!.path);
    expect(archive.members["vm.conf"]).toBe(await readFile(vmConf, "utf8"));
    expect(archive.members["broker.conf"]).toMatch(/^\[email\]\nsmtp-server = localhost\n/m);
    // dom_md/metadata names the domain: storage connect and the agent verify it
    const md = await readFile(path.join(domain, "dom_md", "metadata"), "utf8");
    expect(md).toContain(`\nSDUUID=${out.sdUUID}\n`);
    // VDSM writes its lease defaults there; the io timeout lives in the ids lockspace
    expect(md).toMatch(/^IOOPTIMEOUTSEC=10$/m);
  });

  it("refuses a domain that is already initialised, and VM ids that disagree", async () => {
    const domain = path.join(dir, "sd3");
    const vmConf = path.join(GOLDEN, "ovf_test.vm.conf");
    expect(
      (
        await heHa([
          "storage",
          "init",
          "--domain",
          domain,
          "--vm-conf",
          vmConf,
          "--io-timeout",
          "1",
        ])
      ).code,
    ).toBe(0);
    const again = await heHa(["storage", "init", "--domain", domain, "--vm-conf", vmConf]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(
      `${domain}/ha_agent exists: ${domain} is already a storage domain`,
    );
    // the links and dom_md gone, but images/ still hold the HE volumes: no second set
    await rm(path.join(domain, "ha_agent"), { recursive: true });
    await rm(path.join(domain, "dom_md"), { recursive: true });
    const orphans = await heHa(["storage", "init", "--domain", domain, "--vm-conf", vmConf]);
    expect(orphans.code).toBe(1);
    expect(orphans.stderr).toMatch(
      /already holds hosted-engine volumes \(.*hosted-engine\.metadata in .*\) although .*ha_agent is missing: refusing to create a second set/,
    );

    const hostConf = path.join(dir, "he3.conf");
    await writeFile(hostConf, "vmid=11111111-2222-3333-4444-555555555555\n");
    const clash = await heHa([
      "storage",
      "init",
      "--domain",
      path.join(dir, "sd4"),
      "--ovf",
      OVF42,
      "--host-conf",
      hostConf,
    ]);
    expect(clash.code).toBe(1);
    expect(clash.stderr).toContain(
      `engine VM id differs: the OVF says ${VM42}, hosted-engine.conf says 11111111-2222-3333-4444-555555555555`,
    );
    expect(existsSync(path.join(dir, "sd4"))).toBe(false);

    const usage = await heHa(["storage", "init", "--domain", path.join(dir, "sd5")]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("give --vm-conf or --ovf");
  });
});

describe("he-ha archive and ovf commands", () => {
  it("archive create, list, extract (plain and gzip), as GNU tar sees them", async () => {
    const from = path.join(dir, "members");
    await mkdir(from);
    const contents: Record<string, string> = {
      "fhanswers.conf": "[environment:default]\n",
      "hosted-engine.conf": "fqdn=engine.example.com\n",
      "broker.conf": "[email]\n",
      "vm.conf": await readFile(path.join(GOLDEN, "ovf_test.vm.conf"), "utf8"),
    };
    for (const [k, v] of Object.entries(contents)) await writeFile(path.join(from, k), v);
    for (const gzip of [false, true]) {
      const out = path.join(dir, gzip ? "a.tgz" : "a.tar");
      const created = await heHa([
        "archive",
        "create",
        "--from",
        from,
        "--out",
        out,
        ...(gzip ? ["--gzip"] : []),
      ]);
      expect(created.code).toBe(0);
      if (!gzip) expect((await stat(out)).size).toBe(20480);
      const { stdout: tarList } = await run("tar", [gzip ? "-tzf" : "-tf", out]);
      expect(tarList.trim().split("\n")).toEqual([
        "version",
        "fhanswers.conf",
        "hosted-engine.conf",
        "broker.conf",
        "vm.conf",
      ]);
      const list = await heHa(["archive", "list", out]);
      expect(list.code).toBe(0);
      expect(list.stdout).toContain(`valid configuration archive (${gzip ? "gzip" : "plain"})`);
      const listJson = JSON.parse((await heHa(["archive", "list", out, "--json"])).stdout) as {
        members: Array<{ name: string; size: number }>;
      };
      expect(listJson.members.find((m) => m.name === "vm.conf")?.size).toBe(
        Buffer.byteLength(contents["vm.conf"]!),
      );
      const ex = await heHa(["archive", "extract", out, "hosted-engine.conf"]);
      expect(ex.stdout).toBe(contents["hosted-engine.conf"]);
      expect((await heHa(["archive", "extract", out, "version"])).stdout).toBe("2.5.3");
    }
    const missing = await heHa(["archive", "extract", path.join(dir, "a.tar"), "nope.conf"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('the archive has no member "nope.conf"');

    // an archive without vm.conf lists, but exits 1 naming what is missing
    const partial = path.join(dir, "partial.tar");
    await run("tar", ["-cf", partial, "-C", from, "fhanswers.conf", "broker.conf"]);
    const bad = await heHa(["archive", "list", partial]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain(
      "not a valid configuration archive: missing version, hosted-engine.conf, vm.conf",
    );

    const noFile = await heHa([
      "archive",
      "create",
      "--from",
      path.join(dir, "nowhere"),
      "--out",
      path.join(dir, "x.tar"),
    ]);
    expect(noFile.code).toBe(1);
    expect(noFile.stderr).toContain(
      `${path.join(dir, "nowhere", "fhanswers.conf")}: cannot read member "fhanswers.conf"`,
    );
  });

  it("ovf to-vmconf prints what the original generates; malformed OVF fails naming the element", async () => {
    for (const name of ["ovf_test", "ovf_test_v4.2"]) {
      const r = await heHa(["ovf", "to-vmconf", path.join(FIXTURES, `${name}.xml`)]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(await readFile(path.join(GOLDEN, `${name}.vm.conf`), "utf8"));
    }
    const json = JSON.parse((await heHa(["ovf", "to-vmconf", OVF42, "--json"])).stdout) as {
      vmId: string;
      devices: unknown[];
    };
    expect(json.vmId).toBe(VM42);
    expect(json.devices).toHaveLength(10);
    const broken = path.join(dir, "broken.ovf");
    await writeFile(broken, "<ovf:Envelope><Content>");
    const r = await heHa(["ovf", "to-vmconf", broken]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`${broken}: OVF XML: malformed XML at line 1`));
  });
});

describe("initStorageDomain on failure", () => {
  it("removes what it created when sanlock fails, and names the command", async () => {
    const domain = path.join(dir, "sd-fail");
    await mkdir(domain);
    await writeFile(path.join(domain, "keep-me"), "x");
    const err = await initStorageDomain({
      domain,
      vmConf: await readFile(path.join(GOLDEN, "ovf_test.vm.conf"), "utf8"),
      sanlock: path.join(dir, "no-such-sanlock"),
    }).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect(err).toBeInstanceOf(StorageInitError);
    expect((err as Error).message).toContain(
      `${path.join(dir, "no-such-sanlock")} direct init -o 10 -Z 512 -A 1M -s ${SD_TEST}:0:${domain}/dom_md/ids:0 failed`,
    );
    expect(await readdir(domain)).toEqual(["keep-me"]);
  });
});

describe("initStorageDomain: which storage domain UUID, which engine disk", () => {
  const vmConfText = () => readFile(path.join(GOLDEN, "ovf_test.vm.conf"), "utf8");

  it("refuses an explicit sdUUID that differs from the engine disk's domainID, naming both", async () => {
    const domain = path.join(dir, "sd-clash");
    const other = "11111111-2222-3333-4444-555555555555";
    const err = await initStorageDomain({
      domain,
      vmConf: await vmConfText(),
      sdUUID: other,
      ioTimeout: 1,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageInitError);
    expect((err as Error).message).toBe(
      `storage domain UUID ${other} differs from the engine disk's domainID ${SD_TEST} (vm.conf devices): the engine VM's lease lockspace must be this domain`,
    );
    expect(existsSync(domain)).toBe(false);
  });

  it("refuses a vm.conf without an engine disk: the VM would have no lease", async () => {
    const domain = path.join(dir, "sd-nodisk");
    const err = await initStorageDomain({
      domain,
      vmConf: `vmId=${VM42}\nvmName=HostedEngine\nmemSize=64\nsmp=1\n`,
      ioTimeout: 1,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageInitError);
    expect((err as Error).message).toContain("vm.conf names no engine disk");
    expect(existsSync(domain)).toBe(false);
  });

  it("a disk without domainID: the directory name when it is a UUID; the EngineXml's disk when devices have none", async () => {
    const noDomainId = (await vmConfText()).replace(`domainID:${SD_TEST},`, "");
    expect(noDomainId).not.toContain(SD_TEST);
    const named = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
    const a = await initStorageDomain({
      domain: path.join(dir, named),
      vmConf: noDomainId,
      ioTimeout: 1,
    });
    expect(a.sdUUID).toBe(named);
    expect(a.engineDisk.volumeUUID).toBe(VOL_TEST);

    // v4.2 vm.conf with its disk device line removed: the EngineXml metadata names the disk
    const v42 = await readFile(path.join(GOLDEN, "ovf_test_v4.2.vm.conf"), "utf8");
    const noDisk = v42
      .split("\n")
      .filter((l) => !(l.startsWith("devices=") && l.includes("device:disk")))
      .join("\n");
    expect(noDisk).not.toContain(`volumeID:${VOL42}`);
    const b = await initStorageDomain({
      domain: path.join(dir, "sd-xml"),
      vmConf: noDisk,
      ioTimeout: 1,
    });
    expect(b.sdUUID).toBe(SD42);
    expect(b.engineDisk.path).toBe(path.join(dir, "sd-xml", "images", IMG42, VOL42));
    const { stdout } = await run("sanlock", [
      "direct",
      "read_leader",
      "-r",
      `${SD42}:${VOL42}:${b.engineDisk.leasePath}:0`,
    ]);
    expect(stdout).toMatch(new RegExp(`^resource_name ${VOL42}$`, "m"));
  });
});
