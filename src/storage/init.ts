import { randomUUID } from "node:crypto";
import { constants } from "node:fs";
import { chmod, mkdir, open, rm, stat, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  type DomMdPaths,
  domainTypeRule,
  domMdPaths,
  isBlockDomain,
  isDomainType,
} from "../common/domain-types.js";
import { parseKeyValue, splitKeyValue } from "../common/keyvalue.js";
import type { Logger } from "../common/log.js";
import {
  blockVolumeLeaseOffset,
  DEFAULT_GEOMETRY,
  describeGeometry,
  type SectorGeometry,
} from "../common/sector-geometry.js";
import { directInitLockspace, directInitResource } from "../sanlock/direct-init.js";
import { HE_LOCKSPACE } from "../sanlock/names.js";
import {
  type ConfContents,
  DEFAULT_VERSION_MEMBER,
  writeConfArchive,
} from "./archive/conf-archive.js";
import { buildTar } from "./archive/tar.js";
import { writeAtStart } from "./archive/volume.js";
import { alignedBuffer } from "./direct-io.js";
import { haAgentLinks, VOLUME_LEASE_OFFSET, volumeLeasePath, volumePath } from "./domain.js";
import {
  DOMAIN_ALIGNMENT,
  domainTypeName,
  fileDomainMetadata,
  formatDomainMetadata,
} from "./domain-metadata.js";
import { type EngineDiskIds, engineDiskOf } from "./engine-disk.js";
import { refuseOrphanHeVolumes } from "./init-guard.js";
import { formatVmParams, ovfToVmParams } from "./ovf/ovf-to-vmconf.js";
import { parseVmConf } from "./ovf/vmconf.js";
import { blockDeviceSectorSize } from "./sector-probe.js";
import { BLANK_UUID, ovfStoreDescription, volumeMetaPath, writeVolumeMeta } from "./volume-meta.js";
import { volumeBytes } from "./volume-size.js";
import { writeXleasesIndex } from "./xleases.js";

const MiB = 1024 * 1024;
/** 2001 whiteboard segments of 4096 bytes, rounded up to whole MiB */
export const METADATA_VOLUME_SIZE = Math.ceil((2001 * 4096) / MiB) * MiB;
/**
 * the delta leases of lockspace `hosted-engine`: one alignment slot (2000 hosts × 512
 * bytes at 512/1M; 250 × 4096 at 4K/1M …)
 */
export const LOCKSPACE_VOLUME_SIZE = MiB;
export const CONF_VOLUME_SIZE = 1024 * MiB;
export const OVF_STORE_VOLUME_SIZE = 128 * MiB;
/** the engine disk volume this command creates: sparse and small (it only has to exist) */
export const ENGINE_DISK_VOLUME_SIZE = MiB;
/** dom_md/inbox and dom_md/outbox (VDSM SPECIAL_VOLUME_SIZES_MIB) */
export const MAILBOX_SIZE = 16 * MiB;
/** mode of dom_md files and volume files (VDSM METADATA_PERMISSIONS, FILE_VOLUME_PERMISSIONS) */
export const DOMAIN_FILE_MODE = 0o660;
/** mode of dom_md/ (VDSM creates it 0775) */
export const DOM_MD_DIR_MODE = 0o775;
/** VDSM's SDM lease: resource `SDM` in dom_md/leases at slot 1 (one alignment in) */
export const SDM_LEASE_NAME = "SDM";
export const SDM_LEASE_OFFSET = 1 * DOMAIN_ALIGNMENT;
/** DESCRIPTION of the domain (hosted-engine setup's default storage domain name) */
export const DEFAULT_DOMAIN_DESCRIPTION = "hosted_storage";
/** the engine disk's description, as the engine writes one */
export const ENGINE_DISK_DESCRIPTION = JSON.stringify({
  DiskAlias: "he_virtio_disk",
  DiskDescription: "Hosted-Engine disk",
});

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
  /** sanlock io timeout written in both lockspaces (seconds, default 10) */
  ioTimeout?: number;
  brokerConf?: string;
  fhanswers?: string;
  version?: string;
  /**
   * storage domain UUID; default: the engine disk's domainID, else the directory name
   * when it is a UUID, else a new one. Must agree with the engine disk's domainID.
   */
  sdUUID?: string;
  /** the sanlock program (default `sanlock`) */
  sanlock?: string;
  logger?: Logger;
  /**
   * the domain's sector size and alignment (default 512/1M): written in dom_md/metadata
   * (BLOCK_SIZE, ALIGNMENT) and passed to every `sanlock direct init` (-Z, -A)
   */
  geometry?: SectorGeometry;
  /**
   * block devices standing in for the LVs of a block domain (loop devices here; no
   * device-mapper): each named area is a symlink to its device, as VDSM links
   * `dom_md/<lv>` and `images/<img>/<vol>` to `/dev/<sd>/<lv>`. With `leases` given,
   * the volume leases live on it at `(100 + slot) × alignment` (VDSM blockSD) instead of
   * in `.lease` files. Each device's logical sector size must be the domain's.
   */
  devices?: InitDevices;
}

/** The areas `storage init` can put on block devices. */
export interface InitDevices {
  ids?: string;
  leases?: string;
  xleases?: string;
  /** the HA metadata volume (the whiteboard) */
  heMetadata?: string;
  /** the HA lockspace volume (`hosted-engine`) */
  heLockspace?: string;
}

export interface InitVolume {
  imageUUID: string;
  volumeUUID: string;
  path: string;
  /**
   * the volume lease, resource `<volumeUUID>` of lockspace `<sdUUID>`: `<path>.lease` at
   * offset 0, or on a block-style domain the `leases` device at `(100 + slot) × alignment`
   */
  leasePath: string;
  leaseOffset: number;
}

export interface StorageInitResult {
  domain: string;
  sdUUID: string;
  vmId: string;
  ioTimeout: number;
  geometry: SectorGeometry;
  domMd: DomMdPaths;
  volumes: { metadata: InitVolume; lockspace: InitVolume; conf: InitVolume; ovfStore?: InitVolume };
  /** the engine VM's disk (from vm.conf); its volume lease guards the engine VM */
  engineDisk: InitVolume;
  /** the hosted-engine.conf keys pointing at the new volumes, in print order */
  confLines: Array<[string, string]>;
}

export type { DomMdPaths };

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** A new zero-filled (sparse) file of `size` bytes with `mode`; refuses to overwrite. */
async function createSparse(file: string, size: number, mode = DOMAIN_FILE_MODE): Promise<void> {
  const fh = await open(file, "wx", mode);
  try {
    await fh.truncate(size);
    await fh.chmod(mode); // the umask may have taken bits away
  } finally {
    await fh.close();
  }
}

interface Ctx {
  domain: string;
  sdUUID: string;
  sanlock: string;
  created: string[];
  geometry: SectorGeometry;
  /** the `leases` device of a block-style domain (volume leases by slot) */
  leasesDevice: string | undefined;
  /** the next volume metadata slot (block-style: its lease slot) */
  nextSlot: number;
}

/**
 * `file` as a symlink to block device `device` (a stand-in LV): refuses a device that is
 * not a block device, has another sector size than the domain, or is smaller than `size`.
 */
async function linkDevice(ctx: Ctx, file: string, device: string, size: number): Promise<void> {
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(device);
  } catch (e) {
    throw new StorageInitError(`device ${device}: ${(e as Error).message}`);
  }
  if (!st.isBlockDevice()) throw new StorageInitError(`device ${device} is not a block device`);
  const sector = await blockDeviceSectorSize(device);
  if (sector !== ctx.geometry.sectorSize)
    throw new StorageInitError(
      `device ${device} has ${sector}-byte sectors; the domain is ${describeGeometry(ctx.geometry)}`,
    );
  const bytes = await volumeBytes(device, st);
  if (bytes < size)
    throw new StorageInitError(`device ${device} has ${bytes} bytes; ${file} needs ${size}`);
  await symlink(device, file);
}

/** Zeroes the first `size` bytes of a device with O_DIRECT, whole MiB at a time. */
async function zeroDevice(device: string, size: number): Promise<void> {
  const chunk = alignedBuffer(MiB).fill(0);
  const fh = await open(device, constants.O_WRONLY | constants.O_DIRECT | constants.O_SYNC);
  try {
    for (let at = 0; at < size; at += MiB) await fh.write(chunk, 0, MiB, at);
  } finally {
    await fh.close();
  }
}

/** A new area: a sparse file, or a link to its device (zeroed when `zero`). */
async function createArea(
  ctx: Ctx,
  file: string,
  size: number,
  device: string | undefined,
  zero = false,
): Promise<void> {
  if (device === undefined) return createSparse(file, size);
  await linkDevice(ctx, file, device, size);
  if (zero) await zeroDevice(device, size);
}

/** Image directory + volume path for the given (or new) UUIDs. */
async function newVolume(
  ctx: Ctx,
  ids?: { imageUUID: string; volumeUUID: string },
): Promise<InitVolume> {
  const imageUUID = ids?.imageUUID ?? randomUUID();
  const volumeUUID = ids?.volumeUUID ?? randomUUID();
  const imageDir = path.join(ctx.domain, "images", imageUUID);
  if (await exists(imageDir))
    throw new StorageInitError(`${imageDir} exists: image ${imageUUID} is already on the domain`);
  await mkdir(imageDir, { recursive: true });
  ctx.created.push(imageDir);
  const p = volumePath(ctx.domain, imageUUID, volumeUUID);
  if (ctx.leasesDevice === undefined)
    return { imageUUID, volumeUUID, path: p, leasePath: volumeLeasePath(p), leaseOffset: 0 };
  const slot = ctx.nextSlot++;
  return {
    imageUUID,
    volumeUUID,
    path: p,
    leasePath: domMdPaths(ctx.domain).leases,
    leaseOffset: blockVolumeLeaseOffset(slot, ctx.geometry),
  };
}

interface VolumeSpec {
  size: number;
  description: string;
  /** VDSM DISKTYPE */
  diskType: string;
  /** writes the volume's contents once the sparse file exists */
  fill?: (volumePath: string) => Promise<void>;
  /** a block device standing in for the volume's LV (zeroed first) */
  device?: string;
}

/**
 * Creates a volume as VDSM does on a file domain: the sparse file (0660), its contents,
 * its `.meta` (0660), and its `.lease`: resource `<volume UUID>` in lockspace
 * `<sdUUID>` at offset 0.
 */
async function createVolume(ctx: Ctx, vol: InitVolume, spec: VolumeSpec): Promise<void> {
  await createArea(ctx, vol.path, spec.size, spec.device, true);
  await spec.fill?.(vol.path);
  await writeVolumeMeta(vol.path, {
    domainUUID: ctx.sdUUID,
    imageUUID: vol.imageUUID,
    description: spec.description,
    capacity: spec.size,
    diskType: spec.diskType,
  });
  await chmod(volumeMetaPath(vol.path), DOMAIN_FILE_MODE);
  if (ctx.leasesDevice === undefined) await createSparse(vol.leasePath, 0);
  await sanlockStep(() =>
    directInitResource(
      ctx.sdUUID,
      vol.volumeUUID,
      vol.leasePath,
      ctx.leasesDevice === undefined ? VOLUME_LEASE_OFFSET : vol.leaseOffset,
      { sanlock: ctx.sanlock, geometry: ctx.geometry },
    ),
  );
}

async function sanlockStep(step: () => Promise<void>): Promise<void> {
  try {
    await step();
  } catch (e) {
    throw new StorageInitError((e as Error).message, { cause: e });
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
    const kv = line.trim().startsWith("#") ? null : splitKeyValue(line);
    const key = kv?.key.trim();
    if (key === undefined || !pending.has(key)) return line;
    const v = pending.get(key)!;
    pending.delete(key);
    return `${key}=${v}`;
  });
  for (const [k, v] of pending) out.push(`${k}=${v}`);
  return `${out.join("\n")}\n`;
}

function resolveSdUUID(explicit: string | undefined, disk: EngineDiskIds, domain: string): string {
  const fromDisk = disk.domainUUID;
  if (explicit !== undefined) {
    if (!UUID_RE.test(explicit))
      throw new StorageInitError(`storage domain UUID "${explicit}" is not a UUID`);
    if (fromDisk !== undefined && fromDisk.toLowerCase() !== explicit.toLowerCase())
      throw new StorageInitError(
        `storage domain UUID ${explicit} differs from the engine disk's domainID ${fromDisk} (${disk.source}): the engine VM's lease lockspace must be this domain`,
      );
    return explicit;
  }
  if (fromDisk !== undefined) {
    if (!UUID_RE.test(fromDisk))
      throw new StorageInitError(`the engine disk's domainID "${fromDisk}" is not a UUID`);
    return fromDisk;
  }
  const base = path.basename(domain);
  return UUID_RE.test(base) ? base : randomUUID();
}

/**
 * Creates a complete hosted-engine file storage domain under `opts.domain`, shaped as
 * VDSM lays one out:
 * - `dom_md/`: `metadata` (VDSM keys, checksum), `ids` (lockspace `<sdUUID>`), `leases`
 *   (the SDM resource at 1 MiB), `xleases` (an empty index at 1 MiB), `inbox`, `outbox`;
 * - the HA volumes: metadata (zeros), lockspace (lockspace `hosted-engine` at 0),
 *   configuration (archive at 0), an OVF_STORE when an OVF is given;
 * - the engine VM's disk volume (ids from vm.conf), 1 MiB sparse;
 * - beside each volume its `.meta` and its `.lease` (resource `<volume UUID>` of lockspace
 *   `<sdUUID>`), so the engine VM's lease (its disk's volume lease) exists;
 * - the older `ha_agent/` links.
 */
export async function initStorageDomain(opts: StorageInitOptions): Promise<StorageInitResult> {
  const created: string[] = [];
  try {
    return await populate(opts, created);
  } catch (e) {
    // leave the directory as it was: remove what this run created
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
  const disk = engineDiskOf(parseVmConf(vmConf));
  if (!disk)
    throw new StorageInitError(
      "vm.conf names no engine disk (a device with type disk, device disk, imageID and volumeID): the engine VM's lease is its disk's volume lease",
    );
  const sdUUID = resolveSdUUID(opts.sdUUID, disk, domain);
  let type: string;
  const requested = (hostConf.get("domainType") || "posixfs").toLowerCase();
  try {
    // a block-style domain (its leases on a device) may say iscsi or fc: its metadata
    // file stands in for the VG tags, where VDSM writes TYPE=ISCSI|FCP
    type =
      opts.devices?.leases !== undefined && isDomainType(requested) && isBlockDomain(requested)
        ? domainTypeRule(requested).vdsmTypeName
        : domainTypeName(requested);
  } catch (e) {
    throw new StorageInitError(`hosted-engine.conf: ${(e as Error).message}`);
  }
  const links = haAgentLinks(domain);
  const md = domMdPaths(domain);
  for (const dir of [path.dirname(links.metadata), md.dir]) {
    if (await exists(dir))
      throw new StorageInitError(`${dir} exists: ${domain} is already a storage domain`);
  }
  try {
    await refuseOrphanHeVolumes(domain);
  } catch (e) {
    throw new StorageInitError((e as Error).message);
  }
  const geometry = opts.geometry ?? DEFAULT_GEOMETRY;
  const dev = opts.devices ?? {};
  const ctx: Ctx = {
    domain,
    sdUUID,
    sanlock: opts.sanlock ?? "sanlock",
    created,
    geometry,
    leasesDevice: dev.leases,
    nextSlot: 1,
  };
  const sanlockOpts = { sanlock: ctx.sanlock, geometry };
  const log = opts.logger;
  if (path.basename(domain) !== sdUUID)
    log?.warn(
      { domain, sd_uuid: sdUUID },
      "the domain directory is not named by its UUID: VDSM finds a file domain at <mount>/<sdUUID>; hosts need domain_path",
    );

  await mkdir(domain, { recursive: true });
  await mkdir(md.dir);
  created.push(md.dir);
  await chmod(md.dir, DOM_MD_DIR_MODE);
  await createArea(ctx, md.ids, 0, dev.ids);
  await sanlockStep(() => directInitLockspace(sdUUID, md.ids, 0, ioTimeout, sanlockOpts));
  await createArea(ctx, md.leases, 0, dev.leases);
  await sanlockStep(() =>
    directInitResource(sdUUID, SDM_LEASE_NAME, md.leases, geometry.alignment, sanlockOpts),
  );
  await createArea(ctx, md.xleases, 0, dev.xleases);
  await writeXleasesIndex(md.xleases, sdUUID, geometry.alignment);
  await createSparse(md.inbox, MAILBOX_SIZE);
  await createSparse(md.outbox, MAILBOX_SIZE);
  const metadataText = formatDomainMetadata(
    fileDomainMetadata({
      sdUUID,
      type,
      remotePath: hostConf.get("storage") ?? "",
      description: DEFAULT_DOMAIN_DESCRIPTION,
      geometry,
    }),
  );
  await writeFile(md.metadata, metadataText, { mode: DOMAIN_FILE_MODE, flag: "wx" });
  await chmod(md.metadata, DOMAIN_FILE_MODE);
  log?.info(
    { path: md.dir, sd_uuid: sdUUID, io_timeout: ioTimeout, geometry: describeGeometry(geometry) },
    "dom_md initialised",
  );

  const metadata = await newVolume(ctx);
  await createVolume(ctx, metadata, {
    size: METADATA_VOLUME_SIZE,
    description: "hosted-engine.metadata",
    diskType: "HEMD",
    ...(dev.heMetadata ? { device: dev.heMetadata } : {}),
  });
  log?.info({ path: metadata.path }, "metadata volume created");

  const lockspace = await newVolume(ctx);
  await createVolume(ctx, lockspace, {
    size: Math.max(LOCKSPACE_VOLUME_SIZE, geometry.alignment),
    description: "hosted-engine.lockspace",
    diskType: "HESD",
    fill: (p) => sanlockStep(() => directInitLockspace(HE_LOCKSPACE, p, 0, ioTimeout, sanlockOpts)),
    ...(dev.heLockspace ? { device: dev.heLockspace } : {}),
  });
  log?.info({ path: lockspace.path, io_timeout: ioTimeout }, "lockspace volume initialised");

  const conf = await newVolume(ctx);
  let ovfStore: InitVolume | undefined;
  if (opts.ovf !== undefined) {
    ovfStore = await newVolume(ctx);
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
  await createVolume(ctx, conf, {
    size: CONF_VOLUME_SIZE,
    description: CONF_IMAGE_DESCRIPTION,
    diskType: "HECI",
    fill: (p) => writeConfArchive(p, contents),
  });
  log?.info({ path: conf.path }, "configuration volume written");

  if (ovfStore && opts.ovf !== undefined) {
    const tar = buildTar([{ name: `${vmId}.ovf`, data: Buffer.from(opts.ovf, "utf8") }]);
    await createVolume(ctx, ovfStore, {
      size: OVF_STORE_VOLUME_SIZE,
      description: ovfStoreDescription(sdUUID, tar.length),
      diskType: "OVFS",
      fill: (p) => writeAtStart(p, tar),
    });
    log?.info({ path: ovfStore.path }, "OVF_STORE volume written");
  }

  const engineDisk = await newVolume(ctx, disk);
  await createVolume(ctx, engineDisk, {
    size: ENGINE_DISK_VOLUME_SIZE,
    description: ENGINE_DISK_DESCRIPTION,
    diskType: "DATA",
  });
  log?.info(
    { path: engineDisk.path, lease: engineDisk.leasePath, source: disk.source },
    "engine disk volume and its lease created",
  );

  await mkdir(path.dirname(links.metadata), { recursive: true });
  created.push(path.dirname(links.metadata));
  const rel = (target: string) => path.relative(path.dirname(links.metadata), target);
  await symlink(rel(metadata.path), links.metadata);
  await symlink(rel(lockspace.path), links.lockspace);

  const volumes: StorageInitResult["volumes"] = { metadata, lockspace, conf };
  if (ovfStore) volumes.ovfStore = ovfStore;
  return { domain, sdUUID, vmId, ioTimeout, geometry, domMd: md, volumes, engineDisk, confLines };
}
