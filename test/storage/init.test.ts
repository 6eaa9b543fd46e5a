import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import {
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  realpath,
  rm,
  stat,
  writeFile,
} from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readConfArchive } from "../../src/storage/archive/conf-archive.js";
import { initStorageDomain } from "../../src/storage/init.js";
import { findOvfStoreVolumes, readOvfFromStore } from "../../src/storage/ovf/store.js";
import { readVolumeMeta } from "../../src/storage/volume-meta.js";
import { OVF_DIR } from "../fixtures/ovf-fixtures.js";

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const HE_HA = path.join(repo, "dist/src/bin/he-ha.js");
const FIXTURES = OVF_DIR;
const GOLDEN = path.join(here, "golden");
const OVF42 = path.join(FIXTURES, "ovf_test_v4.2.xml");
const VM42 = "eccb9cb6-affd-4806-8200-708370581227";

let dir: string;

/** Runs the built `he-ha` under HE_HA_ROOT=root; never throws on a non-zero exit. */
async function heHa(
  args: string[],
  root = dir,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [HE_HA, ...args], {
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
  if (!existsSync(HE_HA))
    throw new Error(`${HE_HA} is missing: run npx tsc -p tsconfig.build.json (npm test does)`);
  dir = await mkdtemp(path.join(os.tmpdir(), "he-ha-storage-init-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("he-ha storage init", () => {
  it("creates a complete file domain whose printed hosted-engine.conf lines work", async () => {
    const domain = path.join(dir, "sd1");
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
    expect((await stat(lockspace)).size).toBe(2 * 1024 * 1024);
    expect((await stat(conf)).size).toBe(1024 * 1024 * 1024);

    // sanlock: lockspace hosted-engine with io_timeout 1 at 0, the VM lease area at 1 MiB
    const leader = await run("sanlock", [
      "direct",
      "read_leader",
      "-s",
      `hosted-engine:1:${lockspace}:0`,
    ]);
    expect(leader.stdout).toMatch(/^space_name hosted-engine$/m);
    expect(leader.stdout).toMatch(/^io_timeout 1$/m);
    const dump = await run("sanlock", ["direct", "dump", `${lockspace}:0`]);
    expect(dump.stdout).toMatch(new RegExp(`^01048576\\s+hosted-engine\\s+${VM42}\\s`, "m"));

    // the configuration archive: five members, GNU tar lists them, conf lines stored
    const { stdout: listing } = await run("tar", ["-tf", conf]);
    expect(listing.trim().split("\n")).toEqual([
      "version",
      "fhanswers.conf",
      "hosted-engine.conf",
      "broker.conf",
      "vm.conf",
    ]);
    const archive = await readConfArchive(conf);
    expect(archive.members["vm.conf"]).toBe(
      await readFile(path.join(GOLDEN, "ovf_test_v4.2.vm.conf"), "utf8"),
    );
    expect(archive.members["hosted-engine.conf"]).toMatch(/^fqdn=engine\.example\.com\n/);
    for (const [k, v] of lines)
      expect(archive.members["hosted-engine.conf"]).toContain(`\n${k}=${v}\n`);
    expect((await readVolumeMeta(conf)).get("DESCRIPTION")).toBe("HostedEngineConfigurationImage");

    // OVF_STORE: found by its description, holds <vmid>.ovf
    const stores = await findOvfStoreVolumes(domain);
    expect(stores).toHaveLength(1);
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
    const root = path.join(dir, "host1");
    await mkdir(path.join(root, "etc/ovirt-hosted-engine"), { recursive: true });
    await writeFile(
      path.join(root, "etc/ovirt-hosted-engine/hosted-engine.conf"),
      `host_id=1\n${r.stdout}`,
    );
    const md = await heHa(["metadata", "dump", "--json"], root);
    expect(md.stderr).toBe("");
    expect(md.code).toBe(0);
    const parsed = JSON.parse(md.stdout) as {
      path: string;
      hosts: Record<string, unknown>;
      errors: unknown[];
    };
    expect(await realpath(parsed.path)).toBe(await realpath(metadata));
    expect(parsed.hosts).toEqual({});
    expect(parsed.errors).toEqual([]);
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
      "--json",
    ]);
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout) as {
      sdUUID: string;
      vmId: string;
      volumes: Record<string, { path: string }>;
      confLines: Record<string, string>;
    };
    expect(out.sdUUID).toBe("5f2b9c1e-3a4d-4e6f-8a9b-0c1d2e3f4a5b");
    expect(out.vmId).toBe("50e59bbd-f829-4761-ba1b-6db1a6acc3b8");
    expect(Object.keys(out.volumes).sort()).toEqual(["conf", "lockspace", "metadata"]);
    expect(out.confLines.sanlock_io_timeout).toBe("2");
    expect(await findOvfStoreVolumes(domain)).toEqual([]);
    const archive = await readConfArchive(out.volumes.conf!.path);
    expect(archive.members["vm.conf"]).toBe(await readFile(vmConf, "utf8"));
    expect(archive.members["broker.conf"]).toMatch(/^\[email\]\nsmtp-server = localhost\n/m);
    // dom_md/metadata names the domain: storage connect and the agent verify it
    const md = await readFile(path.join(domain, "dom_md", "metadata"), "utf8");
    expect(md).toMatch(/^SDUUID=5f2b9c1e-3a4d-4e6f-8a9b-0c1d2e3f4a5b$/m);
    expect(md).toMatch(/^IOOPTIMEOUTSEC=2$/m);
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
      `${domain}/ha_agent exists: ${domain} is already a hosted-engine domain`,
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
    expect((err as Error).message).toContain(
      `${path.join(dir, "no-such-sanlock")} direct init -o 10 -s hosted-engine:0:`,
    );
    expect((await readdir(domain)).sort()).toEqual(["images", "keep-me"]);
    expect(await readdir(path.join(domain, "images"))).toEqual([]);
  });
});
