/**
 * Which sanlock lease guards the engine VM: oVirt's own, resolved from vm.conf the way
 * VDSM resolves it when it starts a VM (behaviour.md §12), so that a host running these
 * services and a host running the Python services contend for the same resource.
 *
 * - vm.conf with `xmlBase64`: every `<lease>` of the engine's domain XML. The engine
 *   writes placeholders (`LEASE-PATH:<vol>:<sd>`, `LEASE-OFFSET:<vol>:<sd>`). A lease
 *   whose key and lockspace match a disk of the VM (its volume and storage domain) is
 *   that disk's *volume lease*: `<domain>/images/<image>/<volume>.lease` at offset 0
 *   (VDSM: domxml_preprocess.update_leases_xml_from_disk_objs, fileSD.getVolumeLease,
 *   fileVolume.LEASE_FILEOFFSET). Any other is a *VM lease*, found through the index of
 *   `<domain>/dom_md/xleases` (VDSM: vmdevices/lease.prepare, xlease.py).
 * - vm.conf without `xmlBase64`: the volume lease of every disk with `shared:exclusive`,
 *   as VDSM's drive code adds one for such drives.
 * - neither: no lease, and the VM is refused (EngineLeaseError); never started unguarded.
 *
 * The lockspace of every such lease is the storage domain UUID, joined on
 * `<domain>/dom_md/ids` with the host's id. The first lease guards the VM when the agent
 * takes it itself; libvirt's lock manager takes all of them. Python hosts take all of
 * them too, so any two hosts that may start the VM contend for the first one.
 *
 * Pure except `resolveEngineLeases`, which reads the xleases index for VM leases.
 */

import { domMdPaths } from "../common/domain-types.js";
import { SANLOCK_NAME_MAX } from "../sanlock/names.js";
import { VOLUME_LEASE_OFFSET, volumeLeasePath, volumePath } from "./domain.js";
import type { VmConf, VmConfDevice } from "./ovf/vmconf-types.js";
import {
  attr,
  childElements,
  descendants,
  parseXml,
  textOf,
  type XDocument,
  type XElement,
} from "./ovf/xml-dom.js";

/** Where a guard came from, as `he-ha lease status` shows it. */
export type EngineLeaseSource = "ovf-lease" | "exclusive-disk";

export interface EngineLease {
  /** sanlock lockspace: the storage domain UUID */
  lockspace: string;
  /** sanlock resource: the volume UUID (volume lease) or the VM UUID (VM lease) */
  resource: string;
  path: string;
  offset: number;
  /** volume lease (per disk volume) or VM lease (xleases) */
  kind: "volume" | "vm";
  source: EngineLeaseSource;
  /** human words: which element or disk it came from */
  from: string;
  /** a volume lease found from a disk: the disk's image and volume */
  disk?: { imageID: string; volumeID: string };
}

/** A lease still to be found in the xleases index (VM leases). */
export interface PendingVmLease extends Omit<EngineLease, "offset"> {
  kind: "vm";
  offset: null;
}

export interface EngineLeaseContext {
  /** the storage domain directory (`<mnt>/<server:_path>/<sdUUID>` or domain_path) */
  domainDir: string;
  /** hosted-engine.conf sdUUID: the domain the HA services join */
  sdUUID: string;
  /** where vm.conf came from, for error messages (file, or "OVF_STORE …") */
  vmConfSource: string;
  /** the domain's VM-lease volume; default `<domainDir>/dom_md/xleases` (file domains) */
  xleases?: string;
}

/**
 * Where a disk volume's lease is, asked of VDSM (Volume.getInfo `lease`) on VDSM hosts:
 * then it is never computed here.
 */
export type VolumeLeaseLookup = (
  imageID: string,
  volumeID: string,
) => Promise<{ path: string; offset: number }>;

/** The engine VM has no usable lease: it must not be started. */
export class EngineLeaseError extends Error {
  override name = "EngineLeaseError";
}

const IMAGE_PATH = /\/([0-9a-f-]{36})\/images\/([0-9a-f-]{36})\/([0-9a-f-]{36})$/i;

interface DiskRef {
  domainID: string;
  imageID: string;
  volumeID: string;
  name: string;
}

/**
 * The leases the engine VM's vm.conf asks for, in order; VM leases still to be looked
 * up in xleases. Throws EngineLeaseError when there is none or one cannot be used.
 */
export function engineLeaseRequests(
  vmConf: VmConf,
  ctx: EngineLeaseContext,
): Array<EngineLease | PendingVmLease> {
  const out = vmConf.xmlBase64
    ? fromEngineXml(vmConf.xmlBase64, ctx)
    : fromExclusiveDisks(vmConf, ctx);
  if (out.length === 0) {
    throw new EngineLeaseError(
      `${ctx.vmConfSource}: the engine VM has neither a <lease> in its EngineXml nor a disk ` +
        "with shared=exclusive, so no oVirt lease guards it: refusing to start it (the engine " +
        "writes one for the hosted-engine disk; check the OVF in the OVF_STORE)",
    );
  }
  for (const lease of out) checkLease(lease, ctx);
  return out;
}

/** engineLeaseRequests with VM leases looked up in `<domain>/dom_md/xleases`. */
export async function resolveEngineLeases(
  vmConf: VmConf,
  ctx: EngineLeaseContext,
  lookupVmLease: (xleasesPath: string, leaseId: string) => Promise<{ offset: number }>,
  lookupVolumeLease?: VolumeLeaseLookup,
): Promise<EngineLease[]> {
  const out: EngineLease[] = [];
  for (const req of engineLeaseRequests(vmConf, ctx)) {
    if (req.offset !== null && req.disk && lookupVolumeLease) {
      let at: { path: string; offset: number };
      try {
        at = await lookupVolumeLease(req.disk.imageID, req.disk.volumeID);
      } catch (e) {
        throw new EngineLeaseError(`${ctx.vmConfSource}: ${(e as Error).message}`);
      }
      out.push({ ...req, ...at, from: `${req.from}, located by VDSM (Volume.getInfo)` });
      continue;
    }
    if (req.offset !== null) {
      out.push(req);
      continue;
    }
    let offset: number;
    try {
      ({ offset } = await lookupVmLease(req.path, req.resource));
    } catch (e) {
      throw new EngineLeaseError(
        `${ctx.vmConfSource}: VM lease ${req.resource} of storage domain ${req.lockspace}: ${(e as Error).message}`,
      );
    }
    out.push({ ...req, offset });
  }
  return out;
}

function checkLease(lease: EngineLease | PendingVmLease, ctx: EngineLeaseContext): void {
  if (!ctx.sdUUID) {
    throw new EngineLeaseError(
      "hosted-engine.conf has no sdUUID: the engine VM's lease lives in the storage domain's lockspace, named by its UUID",
    );
  }
  if (lease.lockspace !== ctx.sdUUID) {
    throw new EngineLeaseError(
      `${ctx.vmConfSource}: the engine VM's lease ${lease.resource} (${lease.from}) is in storage domain ` +
        `${lease.lockspace}, but hosted-engine.conf names sdUUID=${ctx.sdUUID}: the HA services join only ` +
        "their own domain's lockspace",
    );
  }
  if (lease.lockspace.length > SANLOCK_NAME_MAX || lease.resource.length > SANLOCK_NAME_MAX) {
    throw new EngineLeaseError(
      `${ctx.vmConfSource}: lease ${lease.lockspace}:${lease.resource} has a name longer than sanlock's ${SANLOCK_NAME_MAX} characters`,
    );
  }
}

// ------------------------------------------------------------------ vm.conf devices

function str(dev: VmConfDevice, key: string): string {
  const v = dev[key];
  return typeof v === "string" ? v : "";
}

function fromExclusiveDisks(vmConf: VmConf, ctx: EngineLeaseContext): EngineLease[] {
  const out: EngineLease[] = [];
  for (const dev of vmConf.devices) {
    if (str(dev, "type") !== "disk" || str(dev, "device") !== "disk") continue;
    if (str(dev, "shared") !== "exclusive") continue;
    const [domainID, imageID, volumeID] = [
      str(dev, "domainID"),
      str(dev, "imageID"),
      str(dev, "volumeID"),
    ];
    if (!domainID || !imageID || !volumeID) {
      throw new EngineLeaseError(
        `${ctx.vmConfSource}: the exclusive disk ${str(dev, "deviceId") || "(no deviceId)"} lacks domainID, imageID or volumeID, so its volume lease cannot be found`,
      );
    }
    out.push({
      lockspace: domainID,
      resource: volumeID,
      path: volumeLeasePath(volumePath(ctx.domainDir, imageID, volumeID)),
      offset: VOLUME_LEASE_OFFSET,
      kind: "volume",
      source: "exclusive-disk",
      from: `volume lease of the shared=exclusive disk ${imageID}/${volumeID}`,
      disk: { imageID, volumeID },
    });
  }
  return out;
}

// ------------------------------------------------------------------ EngineXml

/** one `<lease>` of the engine's domain XML, as written */
export interface EngineXmlLease {
  key: string;
  lockspace: string;
  path: string;
  offset: string;
}

function fromEngineXml(
  xmlBase64: string,
  ctx: EngineLeaseContext,
): Array<EngineLease | PendingVmLease> {
  const xml = Buffer.from(xmlBase64, "base64").toString("utf8");
  let doc: XDocument;
  try {
    doc = parseXml(xml, "xmlBase64");
  } catch (e) {
    throw new EngineLeaseError(
      `${ctx.vmConfSource}: xmlBase64 is not XML: ${(e as Error).message}`,
    );
  }
  const disks = engineXmlDisks(doc.root);
  return engineXmlLeases(doc.root).map((lease) => resolveXmlLease(lease, disks, ctx));
}

function resolveXmlLease(
  lease: EngineXmlLease,
  disks: DiskRef[],
  ctx: EngineLeaseContext,
): EngineLease | PendingVmLease {
  const placeholders =
    lease.path.startsWith("LEASE-PATH") || lease.offset.startsWith("LEASE-OFFSET");
  const disk = disks.find((d) => d.volumeID === lease.key && d.domainID === lease.lockspace);
  if (!placeholders) {
    const offset = Number(lease.offset);
    if (!lease.path || lease.offset === "" || !Number.isSafeInteger(offset) || offset < 0) {
      throw new EngineLeaseError(
        `${ctx.vmConfSource}: EngineXml <lease> ${lease.key} has an invalid target (path "${lease.path}", offset "${lease.offset}")`,
      );
    }
    return {
      lockspace: lease.lockspace,
      resource: lease.key,
      path: lease.path,
      offset,
      kind: disk ? "volume" : "vm",
      source: "ovf-lease",
      from: "EngineXml <lease> with a resolved target",
    };
  }
  if (disk) {
    return {
      lockspace: lease.lockspace,
      resource: lease.key,
      path: volumeLeasePath(volumePath(ctx.domainDir, disk.imageID, disk.volumeID)),
      offset: VOLUME_LEASE_OFFSET,
      kind: "volume",
      source: "ovf-lease",
      from: `EngineXml <lease>: volume lease of disk ${disk.name} (${disk.imageID}/${disk.volumeID})`,
      disk: { imageID: disk.imageID, volumeID: disk.volumeID },
    };
  }
  return {
    lockspace: lease.lockspace,
    resource: lease.key,
    path: ctx.xleases ?? domMdPaths(ctx.domainDir).xleases,
    offset: null,
    kind: "vm",
    source: "ovf-lease",
    from: "EngineXml <lease>: VM lease in dom_md/xleases",
  };
}

const childText = (el: XElement, local: string): string => {
  const child = childElements(el).find((c) => c.local === local);
  return (child ? (textOf(child) ?? "") : "").trim();
};

/** every `<lease>` of `<devices>` */
export function engineXmlLeases(domain: XElement): EngineXmlLease[] {
  const devices = childElements(domain).find((c) => c.local === "devices");
  if (!devices) return [];
  return childElements(devices)
    .filter((c) => c.local === "lease")
    .map((lease) => {
      const target = childElements(lease).find((c) => c.local === "target");
      return {
        key: childText(lease, "key"),
        lockspace: childText(lease, "lockspace"),
        path: (target && attr(target, "path")) ?? "",
        offset: (target && attr(target, "offset")) ?? "",
      };
    });
}

/** the VM's disk volumes: the engine's `<ovirt-vm:device devtype="disk">` metadata, then disk source paths */
function engineXmlDisks(domain: XElement): DiskRef[] {
  const out: DiskRef[] = [];
  for (const el of descendants(domain)) {
    if (el.local === "device" && attr(el, "devtype") === "disk") {
      const ref = {
        domainID: childText(el, "domainID"),
        imageID: childText(el, "imageID"),
        volumeID: childText(el, "volumeID"),
        name: attr(el, "name") || "disk",
      };
      if (ref.domainID && ref.imageID && ref.volumeID) out.push(ref);
    } else if (el.local === "disk" && attr(el, "device") === "disk") {
      const source = childElements(el).find((c) => c.local === "source");
      const m = IMAGE_PATH.exec((source && attr(source, "file")) ?? "");
      if (!m) continue;
      const target = childElements(el).find((c) => c.local === "target");
      const name = (target && attr(target, "dev")) || "disk";
      out.push({ domainID: m[1]!, imageID: m[2]!, volumeID: m[3]!, name });
    }
  }
  return out;
}
