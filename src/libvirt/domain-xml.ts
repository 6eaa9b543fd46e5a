/**
 * The engine VM's libvirt domain XML, from vm.conf (behaviour.md §9).
 *
 * - vm.conf with `xmlBase64` (engine 4.2+): that XML is used as written, with the domain
 *   type set for the connection, the engine's lease placeholders (LEASE-PATH:...,
 *   LEASE-OFFSET:...) replaced by the resolved path and offset of that same lease
 *   (src/storage/engine-lease.ts: oVirt's lease, as VDSM resolves it), and disk images
 *   resolved in `domainDir`.
 * - otherwise the XML is built from the vm.conf keys and devices: name, uuid, memory,
 *   vCPUs, CPU model, machine type, disks at `<domainDir>/images/<imageID>/<volumeID>`,
 *   NICs on the bridge with their MACs, console, graphics, video, rng, controllers, and a
 *   `<lease>` per resolved lease (the exclusive disks' volume leases).
 *
 * libvirt's test driver (`type='test'`) accepts this same XML; it was checked by
 * starting every fixture's domain on it (test/libvirt/domain-xml.test.ts).
 */
import { join } from "node:path";
import type { VmConf, VmConfDevice, VmConfValue } from "../storage/ovf/vmconf-types.js";
import {
  attrOf,
  buildXml,
  childNamed,
  childrenOf,
  el,
  parseXmlTree,
  setAttr,
  tagOf,
  type XmlNode,
} from "./xml-tree.js";

/** a resolved sanlock lease (src/storage/engine-lease.ts EngineLease fits) */
export interface DomainLease {
  lockspace: string;
  resource: string;
  path: string;
  offset: number;
}

export interface DomainXmlOptions {
  /** `test` for libvirt's test driver, `kvm` for QEMU/KVM */
  domainType: "test" | "kvm" | "qemu";
  /** storage domain directory: disks live at `<domainDir>/images/<imageID>/<volumeID>` */
  domainDir: string;
  /** management bridge for the VM's NICs (normally `ovirtmgmt`) */
  bridge: string;
  /** the engine VM's sanlock leases, resolved (engine-lease.ts resolveEngineLeases) */
  leases?: readonly DomainLease[];
}

/** vm.conf could not be turned into a domain */
export class DomainXmlError extends Error {
  constructor(message: string) {
    super(`cannot build the engine VM domain XML: ${message}`);
    this.name = "DomainXmlError";
  }
}

export function domainXmlFromVmConf(vmConf: VmConf, opts: DomainXmlOptions): string {
  if (vmConf.xmlBase64) return rewriteEngineXml(vmConf, opts);
  return buildXml([el("domain", { type: opts.domainType }, domainChildren(vmConf, opts))]);
}

// ---------------------------------------------------------------- from vm.conf keys

function domainChildren(conf: VmConf, opts: DomainXmlOptions): XmlNode[] {
  if (!conf.vmId) throw new DomainXmlError("vm.conf has no vmId");
  if (!(conf.memSize > 0)) throw new DomainXmlError(`invalid memSize ${conf.memSize}`);
  if (!(conf.smp > 0)) throw new DomainXmlError(`invalid smp ${conf.smp}`);
  const maxVcpus = conf.maxVCpus && conf.maxVCpus >= conf.smp ? conf.maxVCpus : conf.smp;
  return [
    el("name", {}, conf.vmName || "HostedEngine"),
    el("uuid", {}, conf.vmId),
    el("memory", { unit: "MiB" }, conf.memSize),
    el("currentMemory", { unit: "MiB" }, conf.memSize),
    el("vcpu", { placement: "static", current: conf.smp }, maxVcpus),
    el("os", {}, [
      el("type", { arch: "x86_64", machine: conf.emulatedMachine || undefined }, "hvm"),
    ]),
    el("features", {}, [el("acpi")]),
    ...(conf.cpuType
      ? [el("cpu", { mode: "custom", match: "exact" }, [el("model", {}, conf.cpuType)])]
      : []),
    el("clock", { offset: "variable", adjustment: "0" }, [
      el("timer", { name: "rtc", tickpolicy: "catchup" }),
      el("timer", { name: "pit", tickpolicy: "delay" }),
      el("timer", { name: "hpet", present: "no" }),
    ]),
    el("on_poweroff", {}, "destroy"),
    el("on_reboot", {}, "destroy"),
    el("on_crash", {}, "destroy"),
    el("devices", {}, devices(conf, opts)),
  ];
}

function devices(conf: VmConf, opts: DomainXmlOptions): XmlNode[] {
  const out: XmlNode[] = [];
  const targets = new TargetNames();
  let graphics = false;
  let consoleSeen = false;
  for (const dev of conf.devices) {
    const type = str(dev, "type");
    const device = str(dev, "device");
    if (type === "disk" && device === "cdrom") out.push(cdrom(dev, targets));
    else if (type === "disk") out.push(disk(dev, opts, targets));
    else if (type === "interface") {
      const nic = networkInterface(dev, opts);
      if (nic) out.push(nic);
    } else if (type === "graphics") {
      graphics = true;
      out.push(graphicsDevice(device ?? conf.display ?? "vnc"));
    } else if (type === "video") out.push(video(dev));
    else if (type === "controller") out.push(controller(dev));
    else if (type === "rng") out.push(rng(dev));
    else if (type === "console" && !consoleSeen) {
      consoleSeen = true;
      out.push(el("console", { type: "pty" }, [el("target", { type: "virtio", port: 0 })]));
    }
  }
  if (!graphics && conf.display) out.push(graphicsDevice(conf.display));
  for (const lease of opts.leases ?? []) out.push(leaseElement(lease));
  return out;
}

const DISK_BUSES: Record<string, { prefix: string; bus: string }> = {
  virtio: { prefix: "vd", bus: "virtio" },
  ide: { prefix: "hd", bus: "ide" },
  scsi: { prefix: "sd", bus: "scsi" },
  sata: { prefix: "sd", bus: "sata" },
};

/** vda, vdb, ... per bus prefix; hdc stays reserved for the CD-ROM */
class TargetNames {
  private readonly used = new Set<string>(["hdc"]);
  next(prefix: string, index: number | undefined): string {
    if (index !== undefined && index >= 0 && index < 26) {
      const wanted = prefix + String.fromCharCode(97 + index);
      if (!this.used.has(wanted)) {
        this.used.add(wanted);
        return wanted;
      }
    }
    for (let i = 0; i < 26; i++) {
      const name = prefix + String.fromCharCode(97 + i);
      if (!this.used.has(name)) {
        this.used.add(name);
        return name;
      }
    }
    throw new DomainXmlError(`too many disks on bus ${prefix}`);
  }
}

function disk(dev: VmConfDevice, opts: DomainXmlOptions, targets: TargetNames): XmlNode {
  const imageID = str(dev, "imageID");
  const volumeID = str(dev, "volumeID");
  const path =
    imageID && volumeID ? join(opts.domainDir, "images", imageID, volumeID) : str(dev, "path");
  if (!path) throw new DomainXmlError("a disk device has neither imageID/volumeID nor path");
  const bus = DISK_BUSES[str(dev, "iface") ?? "virtio"] ?? DISK_BUSES.virtio!;
  const index = str(dev, "index");
  const bootOrder = str(dev, "bootOrder");
  return el("disk", { type: "file", device: "disk", snapshot: "no" }, [
    el("driver", {
      name: "qemu",
      type: str(dev, "format") === "cow" ? "qcow2" : "raw",
      cache: "none",
      error_policy: str(dev, "propagateErrors") === "on" ? "enospace" : "stop",
      io: "threads",
    }),
    el("source", { file: path }),
    el("target", {
      dev: targets.next(bus.prefix, index ? Number(index) : undefined),
      bus: bus.bus,
    }),
    ...(imageID ? [el("serial", {}, imageID)] : []),
    ...(bootOrder && /^\d+$/.test(bootOrder) ? [el("boot", { order: bootOrder })] : []),
    ...(str(dev, "readonly") === "true" ? [el("readonly")] : []),
  ]);
}

function cdrom(dev: VmConfDevice, targets: TargetNames): XmlNode {
  const path = str(dev, "path");
  targets.next("hd", 2);
  return el("disk", { type: "file", device: "cdrom" }, [
    el("driver", { name: "qemu", type: "raw" }),
    ...(path ? [el("source", { file: path, startupPolicy: "optional" })] : []),
    el("target", { dev: "hdc", bus: "ide" }),
    el("readonly"),
  ]);
}

const NIC_MODELS: Record<string, string> = {
  pv: "virtio",
  rtl8139: "rtl8139",
  rtl8139_pv: "rtl8139",
  e1000: "e1000",
  spaprVlan: "spapr-vlan",
};

function networkInterface(dev: VmConfDevice, opts: DomainXmlOptions): XmlNode | null {
  const mac = str(dev, "macAddr");
  if (!mac) return null;
  const network = str(dev, "network");
  const bridge = !network || network === "ovirtmgmt" ? opts.bridge : network;
  const link = str(dev, "linkActive");
  return el("interface", { type: "bridge" }, [
    el("mac", { address: mac }),
    el("source", { bridge }),
    el("model", { type: NIC_MODELS[str(dev, "nicModel") ?? "pv"] ?? "virtio" }),
    ...(link ? [el("link", { state: link === "false" ? "down" : "up" })] : []),
  ]);
}

function graphicsDevice(kind: string): XmlNode {
  const type = kind === "spice" || kind === "qxl" ? "spice" : "vnc";
  return el("graphics", { type, port: -1, autoport: "yes" }, [
    el("listen", { type: "address", address: "0" }),
  ]);
}

function video(dev: VmConfDevice): XmlNode {
  const spec = obj(dev, "specParams");
  const model = str(dev, "device") ?? "vga";
  return el("video", {}, [
    el("model", {
      type: model,
      vram: spec?.vram,
      ram: spec?.ram,
      vgamem: spec?.vgamem,
      heads: spec?.heads ?? "1",
    }),
  ]);
}

function controller(dev: VmConfDevice): XmlNode {
  const device = str(dev, "device") ?? "scsi";
  const spec = obj(dev, "specParams");
  const model = str(dev, "model") ?? spec?.model;
  return el("controller", {
    type: device,
    index: spec?.index ?? "0",
    model: device === "usb" || device === "scsi" ? model : undefined,
  });
}

const RNG_SOURCES: Record<string, string> = {
  urandom: "/dev/urandom",
  random: "/dev/random",
  hwrng: "/dev/hwrng",
};

function rng(dev: VmConfDevice): XmlNode {
  const source = obj(dev, "specParams")?.source ?? "urandom";
  return el("rng", { model: str(dev, "model") ?? "virtio" }, [
    el("backend", { model: "random" }, RNG_SOURCES[source] ?? "/dev/urandom"),
  ]);
}

function leaseElement(lease: DomainLease): XmlNode {
  return el("lease", {}, [
    el("lockspace", {}, lease.lockspace),
    el("key", {}, lease.resource),
    el("target", { path: lease.path, offset: lease.offset }),
  ]);
}

function str(dev: VmConfDevice, key: string): string | undefined {
  const v = dev[key];
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** a nested dict of strings (specParams) */
function obj(dev: VmConfDevice, key: string): Record<string, string> | undefined {
  const v: VmConfValue | undefined = dev[key];
  if (!v || typeof v !== "object" || Array.isArray(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) if (typeof val === "string") out[k] = val;
  return out;
}

// ---------------------------------------------------------------- from xmlBase64

const IMAGE_PATH = /\/images\/([0-9a-f-]{36})\/([0-9a-f-]{36})$/i;

function rewriteEngineXml(conf: VmConf, opts: DomainXmlOptions): string {
  const text = Buffer.from(conf.xmlBase64 ?? "", "base64").toString("utf8");
  let tree: XmlNode[];
  try {
    tree = parseXmlTree(text);
  } catch (err) {
    throw new DomainXmlError(`xmlBase64 is not XML: ${(err as Error).message}`);
  }
  const domain = tree.find((n) => tagOf(n) === "domain");
  if (!domain) throw new DomainXmlError("xmlBase64 has no <domain> element");
  setAttr(domain, "type", opts.domainType);
  const devicesNode = childNamed(domain, "devices");
  if (devicesNode) {
    for (const node of childrenOf(devicesNode)) {
      if (tagOf(node) === "disk" && attrOf(node, "device") === "disk") resolveDiskPath(node, opts);
      if (tagOf(node) === "lease") resolveLeaseTarget(node, opts.leases ?? []);
    }
  }
  // the declaration is rebuilt by the builder from the parsed "?xml" node
  return buildXml(tree.filter((n) => tagOf(n) === "domain"));
}

const textIn = (node: XmlNode, name: string): string => {
  const child = childNamed(node, name);
  const t = child ? childrenOf(child).find((c) => "#text" in c) : undefined;
  return t ? String(t["#text"]).trim() : "";
};

/**
 * The engine's `<lease>` stays; a placeholder target (LEASE-PATH:…, LEASE-OFFSET:…)
 * gets the path and offset resolved for that lease (same key and lockspace), as VDSM
 * does before libvirt sees the XML. A placeholder left unresolved is an error: libvirt
 * would refuse it, and the VM must never start without its lease.
 */
function resolveLeaseTarget(leaseNode: XmlNode, leases: readonly DomainLease[]): void {
  const key = textIn(leaseNode, "key");
  const lockspace = textIn(leaseNode, "lockspace");
  const target = childNamed(leaseNode, "target");
  const path = target ? (attrOf(target, "path") ?? "") : "";
  const offset = target ? (attrOf(target, "offset") ?? "") : "";
  if (!path.startsWith("LEASE-PATH") && !offset.startsWith("LEASE-OFFSET")) return;
  const resolved = leases.find((l) => l.resource === key && l.lockspace === lockspace);
  if (!target || !resolved)
    throw new DomainXmlError(`the <lease> ${lockspace}:${key} of xmlBase64 is not resolved`);
  setAttr(target, "path", resolved.path);
  setAttr(target, "offset", String(resolved.offset));
}

function resolveDiskPath(diskNode: XmlNode, opts: DomainXmlOptions): void {
  const source = childNamed(diskNode, "source");
  const file = source ? attrOf(source, "file") : undefined;
  const m = file ? IMAGE_PATH.exec(file) : null;
  if (source && m) setAttr(source, "file", join(opts.domainDir, "images", m[1]!, m[2]!));
}
