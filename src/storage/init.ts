import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdir, open, rm, stat, symlink } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { parseKeyValue } from "../common/keyvalue.js";
import type { Logger } from "../common/log.js";
import {
  type ConfContents,
  DEFAULT_VERSION_MEMBER,
  writeConfArchive,
} from "./archive/conf-archive.js";
import { buildTar } from "./archive/tar.js";
import { writeAtStart } from "./archive/volume.js";
import { writeDomainMetadataIfAbsent } from "./connect/domain-metadata.js";
import { haAgentLinks, volumePath } from "./domain.js";
import { formatVmParams, ovfToVmParams } from "./ovf/ovf-to-vmconf.js";
import { parseVmConf } from "./ovf/vmconf.js";
import { BLANK_UUID, ovfStoreDescription, writeVolumeMeta } from "./volume-meta.js";

const execFileAsync = promisify(execFile);

/** sanlock lockspace of hosted-engine (behaviour.md §12) */
export const LOCKSPACE_NAME = "hosted-engine";
/** where the engine VM's resource lease lives on the lockspace volume (see sanlock/vm-lease.ts) */
export const VM_LEASE_AREA_OFFSET = 1_048_576;

const MiB = 1024 * 1024;
/** 2001 whiteboard segments of 4096 bytes, rounded up to whole MiB */
export const METADATA_VOLUME_SIZE = Math.ceil((2001 * 4096) / MiB) * MiB;
/** delta leases at 0 (1 MiB) + the VM lease area at 1 MiB */
export const LOCKSPACE_VOLUME_SIZE = 2 * MiB;
export const CONF_VOLUME_SIZE = 1024 * MiB;
export const OVF_STORE_VOLUME_SIZE = 128 * MiB;

export const CONF_IMAGE_DESCRIPTION = "HostedEngineConfigurationImage";

export const DEFAULT_BROKER_CONF = `[email]
smtp-server = localhost
smtp-port = 25
source-email = root@localhost
destination-emails = root@localhost

[notify]
state_transition = maintenance|start|stop|migrate|up|down
`;

export const DEFAULT_FHANSWERS = "[environment:default]\n";

/** `storage init` cannot build the domain; names what is wrong. */
export class StorageInitError extends Error {
  override name = "StorageInitError";
}

export interface StorageInitOptions {
  /** the domain directory to populate */
  domain: string;
  /** hosted-engine.conf text to store in the archive (its UUID keys are replaced) */
  hostConf?: string;
  /** vm.conf text; default: generated from `ovf` */
  vmConf?: string;
  /** the engine VM's OVF text: generates vm.conf and an OVF_STORE volume */
  ovf?: string;
  /** sanlock io timeout written in the lockspace (seconds, default 10) */
  ioTimeout?: number;
  brokerConf?: string;
  fhanswers?: string;
  version?: string;
  /** storage domain UUID; default: the directory name when it is a UUID, else a new one */
  sdUUID?: string;
  /** the sanlock program (default `sanlock`) */
  sanlock?: string;
  logger?: Logger;
}

export interface InitVolume {
  imageUUID: string;
  volumeUUID: string;
  path: string;
}

export interface StorageInitResult {
  domain: string;
  sdUUID: string;
  vmId: string;
  ioTimeout: number;
  volumes: { metadata: InitVolume; lockspace: InitVolume; conf: InitVolume; ovfStore?: InitVolume };
  /** the hosted-engine.conf keys pointing at the new volumes, in print order */
  confLines: Array<[string, string]>;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** A new zero-filled (sparse) file of `size` bytes; refuses to overwrite. */
async function createSparse(file: string, size: number): Promise<void> {
  const fh = await open(file, "wx");
  try {
    await fh.truncate(size);
  } finally {
    await fh.close();
  }
}

async function newVolume(domain: string, created: string[]): Promise<InitVolume> {
  const imageUUID = randomUUID();
  const volumeUUID = randomUUID();
  const imageDir = path.join(domain, "images", imageUUID);
  await mkdir(imageDir, { recursive: true });
  created.push(imageDir);
  return { imageUUID, volumeUUID, path: volumePath(domain, imageUUID, volumeUUID) };
}

async function runSanlock(bin: string, args: string[]): Promise<void> {
  try {
    await execFileAsync(bin, args, { timeout: 60_000 });
  } catch (e) {
    const err = e as Error & { stderr?: string; stdout?: string };
    const detail = (err.stderr || err.stdout || err.message).trim();
    throw new StorageInitError(`${bin} ${args.join(" ")} failed: ${detail}`);
  }
}

/** The engine VM id: from the OVF, else vm.conf, else hosted-engine.conf; they must agree. */
function resolveVmId(opts: StorageInitOptions, hostConf: Map<string, string>): string {
  const candidates: Array<[string, string]> = [];
  if (opts.ovf !== undefined)
    candidates.push(["the OVF", ovfToVmParams(opts.ovf).entries.find(([k]) => k === "vmId")![1]]);
  if (opts.vmConf !== undefined) candidates.push(["vm.conf", parseVmConf(opts.vmConf).vmId]);
  const fromHost = hostConf.get("vmid");
  if (fromHost) candidates.push(["hosted-engine.conf", fromHost]);
  if (candidates.length === 0) {
    throw new StorageInitError(
      "no engine VM id: give an OVF, a vm.conf, or vmid= in hosted-engine.conf",
    );
  }
  const [firstSource, vmId] = candidates[0]!;
  for (const [source, id] of candidates.slice(1)) {
    if (id !== vmId)
      throw new StorageInitError(
        `engine VM id differs: ${firstSource} says ${vmId}, ${source} says ${id}`,
      );
  }
  if (vmId.length > 48)
    throw new StorageInitError(
      `engine VM id "${vmId}" is longer than sanlock's 48-byte resource names`,
    );
  return vmId;
}

/** hosted-engine.conf text with `updates` replacing (or appended after) existing keys. */
function withKeys(text: string, updates: Array<[string, string]>): string {
  const pending = new Map(updates);
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  const out = lines.map((line) => {
    const eq = line.indexOf("=");
    const key = eq > 0 && !line.trim().startsWith("#") ? line.slice(0, eq).trim() : undefined;
    if (key === undefined || !pending.has(key)) return line;
    const v = pending.get(key)!;
    pending.delete(key);
    return `${key}=${v}`;
  });
  for (const [k, v] of pending) out.push(`${k}=${v}`);
  return `${out.join("\n")}\n`;
}

/**
 * Creates a complete hosted-engine file storage domain under `opts.domain`: metadata
 * volume (zeros), lockspace volume (sanlock lockspace `hosted-engine` at 0 with the io
 * timeout, VM lease area at 1 MiB), configuration volume (archive at offset 0), optional
 * OVF_STORE volume, `.meta` files, and the older `ha_agent/` links.
 */
export async function initStorageDomain(opts: StorageInitOptions): Promise<StorageInitResult> {
  const created: string[] = [];
  try {
    return await populate(opts, created);
  } catch (e) {
    // leave the directory as it was: remove the images and links this run created
    for (const p of created.reverse()) await rm(p, { recursive: true, force: true });
    throw e;
  }
}

async function populate(opts: StorageInitOptions, created: string[]): Promise<StorageInitResult> {
  const domain = path.resolve(opts.domain);
  const ioTimeout = opts.ioTimeout ?? 10;
  if (!Number.isInteger(ioTimeout) || ioTimeout < 1 || ioTimeout > 300) {
    throw new StorageInitError(
      `io timeout ${ioTimeout} is not a whole number of seconds in 1..300`,
    );
  }
  const hostConfText = opts.hostConf ?? "";
  const hostConf = parseKeyValue(hostConfText, "hosted-engine.conf");
  const vmId = resolveVmId(opts, hostConf);
  let vmConf = opts.vmConf;
  if (vmConf === undefined) {
    if (opts.ovf === undefined)
      throw new StorageInitError("no vm.conf: give a vm.conf or an OVF to generate it from");
    vmConf = formatVmParams(ovfToVmParams(opts.ovf));
  }
  const base = path.basename(domain);
  const sdUUID = opts.sdUUID ?? (UUID_RE.test(base) ? base : randomUUID());
  const links = haAgentLinks(domain);
  if (await exists(path.dirname(links.metadata))) {
    throw new StorageInitError(
      `${path.dirname(links.metadata)} exists: ${domain} is already a hosted-engine domain`,
    );
  }
  const sanlock = opts.sanlock ?? "sanlock";
  const log = opts.logger;

  await mkdir(domain, { recursive: true });
  const metadata = await newVolume(domain, created);
  await createSparse(metadata.path, METADATA_VOLUME_SIZE);
  await writeVolumeMeta(metadata.path, {
    domainUUID: sdUUID,
    imageUUID: metadata.imageUUID,
    description: "hosted-engine.metadata",
    capacity: METADATA_VOLUME_SIZE,
    diskType: "HEMD",
  });
  log?.info({ path: metadata.path }, "metadata volume created");

  const lockspace = await newVolume(domain, created);
  await createSparse(lockspace.path, LOCKSPACE_VOLUME_SIZE);
  await runSanlock(sanlock, [
    "direct",
    "init",
    "-o",
    String(ioTimeout),
    "-s",
    `${LOCKSPACE_NAME}:0:${lockspace.path}:0`,
  ]);
  await runSanlock(sanlock, [
    "direct",
    "init",
    "-r",
    `${LOCKSPACE_NAME}:${vmId}:${lockspace.path}:${VM_LEASE_AREA_OFFSET}`,
  ]);
  await writeVolumeMeta(lockspace.path, {
    domainUUID: sdUUID,
    imageUUID: lockspace.imageUUID,
    description: "hosted-engine.lockspace",
    capacity: LOCKSPACE_VOLUME_SIZE,
    diskType: "HESD",
  });
  log?.info({ path: lockspace.path, io_timeout: ioTimeout }, "lockspace volume initialised");

  const conf = await newVolume(domain, created);
  let ovfStore: InitVolume | undefined;
  if (opts.ovf !== undefined) {
    ovfStore = await newVolume(domain, created);
  }
  const confLines: Array<[string, string]> = [
    ["sdUUID", sdUUID],
    ["spUUID", BLANK_UUID],
    ["vmid", vmId],
    ["domain_path", domain],
    ["metadata_image_UUID", metadata.imageUUID],
    ["metadata_volume_UUID", metadata.volumeUUID],
    ["lockspace_image_UUID", lockspace.imageUUID],
    ["lockspace_volume_UUID", lockspace.volumeUUID],
    ["conf_image_UUID", conf.imageUUID],
    ["conf_volume_UUID", conf.volumeUUID],
    ["sanlock_io_timeout", String(ioTimeout)],
  ];
  const contents: ConfContents = {
    version: opts.version ?? DEFAULT_VERSION_MEMBER,
    "fhanswers.conf": opts.fhanswers ?? DEFAULT_FHANSWERS,
    "hosted-engine.conf": withKeys(hostConfText, confLines),
    "broker.conf": opts.brokerConf ?? DEFAULT_BROKER_CONF,
    "vm.conf": vmConf,
  };
  await createSparse(conf.path, CONF_VOLUME_SIZE);
  await writeConfArchive(conf.path, contents);
  await writeVolumeMeta(conf.path, {
    domainUUID: sdUUID,
    imageUUID: conf.imageUUID,
    description: CONF_IMAGE_DESCRIPTION,
    capacity: CONF_VOLUME_SIZE,
    diskType: "HECI",
  });
  log?.info({ path: conf.path }, "configuration volume written");

  if (ovfStore && opts.ovf !== undefined) {
    const tar = buildTar([{ name: `${vmId}.ovf`, data: Buffer.from(opts.ovf, "utf8") }]);
    await createSparse(ovfStore.path, OVF_STORE_VOLUME_SIZE);
    await writeAtStart(ovfStore.path, tar);
    await writeVolumeMeta(ovfStore.path, {
      domainUUID: sdUUID,
      imageUUID: ovfStore.imageUUID,
      description: ovfStoreDescription(sdUUID, tar.length),
      capacity: OVF_STORE_VOLUME_SIZE,
      diskType: "OVFS",
    });
    log?.info({ path: ovfStore.path }, "OVF_STORE volume written");
  }

  await mkdir(path.dirname(links.metadata), { recursive: true });
  created.push(path.dirname(links.metadata));
  const rel = (target: string) => path.relative(path.dirname(links.metadata), target);
  await symlink(rel(metadata.path), links.metadata);
  await symlink(rel(lockspace.path), links.lockspace);

  // issue 12: dom_md/metadata names the domain, verified before a connected domain is used
  const mdDir = await writeDomainMetadataIfAbsent(domain, {
    sdUUID,
    domainType: hostConf.get("domainType") ?? "",
    storage: hostConf.get("storage") ?? "",
    ioTimeout,
  });
  if (mdDir) created.push(mdDir);

  const volumes: StorageInitResult["volumes"] = { metadata, lockspace, conf };
  if (ovfStore) volumes.ovfStore = ovfStore;
  return { domain, sdUUID, vmId, ioTimeout, volumes, confLines };
}
