/**
 * Layout checks of a VDSM-shaped file storage domain, read by two implementations that
 * are not our storage code: python3-sanlock + the standard library
 * (test/python/read_domain.py) and the sanlock program (`sanlock direct read_leader`).
 * Used on the domains `he-ha storage init` makes and on those the VDSM-way helper
 * (vdsm-domain.ts) makes, so both pass the same checks.
 */
import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect } from "vitest";
import { productArgs } from "../../lab/children.js";
import { SanlockDaemon } from "../../lab/standins/sanlock-daemon.js";
import { lockspaceString, resourceString } from "../../src/sanlock/names.js";
import { removeDir, tempDir } from "../support/temp.js";

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const READ_DOMAIN = path.join(here, "../python/read_domain.py");
const MiB = 1024 * 1024;

interface FileInfo {
  size: number;
  mode: string;
}

export interface DomainReport {
  dom_md: { mode: string; files: Record<string, FileInfo> };
  metadata: {
    fields: Record<string, string>;
    checksum: string | null;
    checksum_ok: boolean;
    sorted: boolean;
  };
  ids: { lockspace?: string; iotimeout?: number; error?: number };
  sdm: { lockspace?: string; resource?: string; error?: number };
  xleases: {
    magic: number;
    version: string;
    lockspace: string;
    updating: string;
    records: Array<{ recnum: number; resource: string; offset: number }>;
    empty_records: number;
  };
  volumes: Record<
    string,
    {
      image: string;
      meta: Record<string, string>;
      volume: FileInfo;
      meta_file: FileInfo;
      lease_file: FileInfo;
      lease: { lockspace?: string; resource?: string; error?: number };
      he_lockspace?: { lockspace?: string; iotimeout?: number; error?: number };
    }
  >;
}

export interface ExpectedLayout {
  sdUUID: string;
  ioTimeout: number;
  /** metadata TYPE and REMOTE_PATH */
  type: string;
  remotePath: string;
  /** metadata DESCRIPTION (the domain's name) */
  description: string;
  /** the hosted-engine lockspace volume's UUID */
  heLockspaceVolume: string;
  /** its size (ours 1 MiB; the deployment's he_sanlock disk 1 GiB) */
  heLockspaceSize: number;
  /** VM leases expected in dom_md/xleases (default none) */
  xleases?: Array<{ resource: string; offset: number }>;
  engineDisk: { imageUUID: string; volumeUUID: string };
  /** every volume UUID expected under images/ (engine disk included) */
  volumes: string[];
}

/** python3-sanlock's view of the domain (needs a sanlock daemon: `sanlockEnv`). */
export async function readDomainWithPython(
  domain: string,
  sanlockEnv: NodeJS.ProcessEnv,
): Promise<DomainReport> {
  const { stdout } = await run("/usr/bin/python3", [READ_DOMAIN, domain], {
    env: sanlockEnv,
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout) as DomainReport;
}

async function readLeader(kind: "-s" | "-r", spec: string): Promise<Map<string, string>> {
  const { stdout } = await run("sanlock", ["direct", "read_leader", kind, spec]);
  const out = new Map<string, string>();
  for (const line of stdout.split("\n")) {
    const sp = line.indexOf(" ");
    if (sp > 0) out.set(line.slice(0, sp), line.slice(sp + 1));
  }
  return out;
}

/**
 * Asserts the VDSM file-domain layout: dom_md files and modes, metadata with a valid
 * checksum, lockspace `<sdUUID>` on ids, the SDM lease, an empty xleases index, every
 * volume with `.meta` and a `.lease` holding resource `<volume>` of lockspace `<sdUUID>`,
 * the engine disk, and lockspace `hosted-engine` at offset 0 of the HA lockspace volume.
 */
export async function checkDomainLayout(
  domain: string,
  want: ExpectedLayout,
  sanlockEnv: NodeJS.ProcessEnv,
): Promise<DomainReport> {
  const r = await readDomainWithPython(domain, sanlockEnv);
  const md = path.join(domain, "dom_md");

  expect(r.dom_md.mode).toBe("0775");
  expect(Object.keys(r.dom_md.files)).toEqual([
    "ids",
    "inbox",
    "leases",
    "metadata",
    "outbox",
    "xleases",
  ]);
  for (const [name, info] of Object.entries(r.dom_md.files)) expect(info.mode, name).toBe("0660");
  expect(r.dom_md.files.inbox!.size).toBe(16 * MiB);
  expect(r.dom_md.files.outbox!.size).toBe(16 * MiB);
  expect(r.dom_md.files.ids!.size).toBe(MiB);

  expect(r.metadata.checksum_ok).toBe(true);
  expect(r.metadata.sorted).toBe(true);
  expect(r.metadata.fields).toEqual({
    ALIGNMENT: "1048576",
    BLOCK_SIZE: "512",
    CLASS: "Data",
    DESCRIPTION: want.description,
    IOOPTIMEOUTSEC: "10",
    LEASERETRIES: "3",
    LEASETIMESEC: "60",
    LOCKPOLICY: "",
    LOCKRENEWALINTERVALSEC: "5",
    POOL_UUID: "",
    REMOTE_PATH: want.remotePath,
    ROLE: "Regular",
    SDUUID: want.sdUUID,
    TYPE: want.type,
    VERSION: "5",
  });

  expect(r.ids).toEqual({ lockspace: want.sdUUID, iotimeout: want.ioTimeout });
  expect(r.sdm).toMatchObject({ lockspace: want.sdUUID, resource: "SDM" });
  expect(r.xleases).toMatchObject({
    magic: 0x12152016,
    version: "0001",
    lockspace: want.sdUUID,
    updating: "-",
    empty_records: 3960 - (want.xleases ?? []).length,
  });
  expect(r.xleases.records.map(({ resource, offset }) => ({ resource, offset }))).toEqual(
    want.xleases ?? [],
  );

  expect(Object.keys(r.volumes).sort()).toEqual([...want.volumes].sort());
  for (const [vol, v] of Object.entries(r.volumes)) {
    expect(v.lease, vol).toMatchObject({ lockspace: want.sdUUID, resource: vol });
    expect(v.meta.DOMAIN, vol).toBe(want.sdUUID);
    expect(v.meta.IMAGE, vol).toBe(v.image);
    for (const f of [v.volume, v.meta_file, v.lease_file]) expect(f.mode, vol).toBe("0660");
  }
  const disk = r.volumes[want.engineDisk.volumeUUID];
  expect(disk?.image).toBe(want.engineDisk.imageUUID);
  expect(disk?.meta.DISKTYPE).toBe("DATA");
  const he = r.volumes[want.heLockspaceVolume];
  expect(he?.meta.DISKTYPE).toBe("HESD");
  expect(he?.volume.size).toBe(want.heLockspaceSize);
  expect(he?.he_lockspace).toEqual({ lockspace: "hosted-engine", iotimeout: want.ioTimeout });

  // the sanlock program agrees: ids, SDM, and every volume lease
  const ids = await readLeader("-s", lockspaceString(want.sdUUID, 1, path.join(md, "ids"), 0));
  expect(ids.get("space_name")).toBe(want.sdUUID);
  expect(ids.get("io_timeout")).toBe(String(want.ioTimeout));
  const sdm = await readLeader(
    "-r",
    resourceString(want.sdUUID, "SDM", path.join(md, "leases"), MiB),
  );
  expect(sdm.get("resource_name")).toBe("SDM");
  for (const [vol, v] of Object.entries(r.volumes)) {
    const lease = path.join(domain, "images", v.image, `${vol}.lease`);
    const leader = await readLeader("-r", resourceString(want.sdUUID, vol, lease, 0));
    expect(leader.get("space_name"), vol).toBe(want.sdUUID);
    expect(leader.get("resource_name"), vol).toBe(vol);
    expect(leader.get("owner_id"), vol).toBe("0");
  }
  return r;
}

/** The engine disk of test/fixtures/ovf/ovf_test_v4.2.xml (and its golden vm.conf). */
export const ENGINE42 = {
  vmId: "eccb9cb6-affd-4806-8200-708370581227",
  sdUUID: "ce880525-a44b-4248-8b63-d9e11b2f123a",
  imageUUID: "69a2b8c2-8d1c-4014-8f75-a85c16bc5b71",
  volumeUUID: "3ab9fff0-9aa1-4c2e-ad67-5e25d05cb86e",
} as const;

/** GNU tar lists the configuration archive's five members in order. */
export async function expectArchiveListing(confVolume: string): Promise<void> {
  const { stdout } = await run("tar", ["-tf", confVolume]);
  expect(stdout.trim().split("\n")).toEqual([
    "version",
    "fhanswers.conf",
    "hosted-engine.conf",
    "broker.conf",
    "vm.conf",
  ]);
}

/**
 * `he-ha metadata dump --json` (the built CLI) under a new HE_HA_ROOT `root` whose
 * hosted-engine.conf is `host_id=1` plus `confText`: the whiteboard path it resolved.
 * Asserts an empty, error-free whiteboard.
 */
export async function dumpEmptyWhiteboard(root: string, confText: string): Promise<string> {
  await mkdir(path.join(root, "etc/ovirt-hosted-engine"), { recursive: true });
  await writeFile(
    path.join(root, "etc/ovirt-hosted-engine/hosted-engine.conf"),
    `host_id=1\n${confText}`,
  );
  const { stdout, stderr } = await run(
    process.execPath,
    productArgs("he-ha", "metadata", "dump", "--json"),
    {
      env: { ...process.env, HE_HA_ROOT: root, HE_HA_LOG_LEVEL: "silent" },
    },
  );
  expect(stderr).toBe("");
  const dump = JSON.parse(stdout) as { path: string; hosts: object; errors: unknown[] };
  expect(dump.hosts).toEqual({});
  expect(dump.errors).toEqual([]);
  return dump.path;
}

/**
 * For a test file: a scratch directory and a sanlock daemon (python3-sanlock reads and
 * writes through one), made before the file's tests and removed after them (`tempDir(name)`).
 */
export function sanlockScratch(name: string): {
  dir: () => string;
  env: () => NodeJS.ProcessEnv;
} {
  let dir = "";
  let daemon: SanlockDaemon | undefined;
  beforeAll(async () => {
    dir = await tempDir(name);
    daemon = await SanlockDaemon.start({
      runDir: path.join(dir, "sanlock-run"),
      hostName: `he-ha-${name}-`,
    });
  });
  afterAll(async () => {
    await daemon?.stop();
    await removeDir(dir);
  });
  return { dir: () => dir, env: () => daemon!.env };
}
