/**
 * The engine VM's disk as vm.conf names it: the device with `type: disk, device: disk`
 * and its `imageID`/`volumeID`/`domainID`, or, when vm.conf lists no such device, the
 * `<ovirt-vm:device devtype="disk">` metadata of the EngineXml (`xmlBase64`), which
 * carries the same ids. With several disks the one shared `exclusive` wins (the disk
 * whose volume lease guards the VM), else the first.
 */

import type { VmConf, VmConfDevice } from "./ovf/vmconf-types.js";
import { childElements, descendants, parseXml } from "./ovf/xml-dom.js";

const OVIRT_VM_NS = "http://ovirt.org/vm/1.0";

export interface EngineDiskIds {
  imageUUID: string;
  volumeUUID: string;
  /** the storage domain the disk lives on; undefined when vm.conf does not say */
  domainUUID: string | undefined;
  /** where the ids came from */
  source: "vm.conf devices" | "EngineXml metadata";
}

interface Candidate {
  imageID?: string;
  volumeID?: string;
  domainID?: string;
  shared?: string;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

function fromDevices(devices: VmConfDevice[]): Candidate[] {
  return devices
    .filter((d) => d.type === "disk" && d.device === "disk")
    .map((d) => ({
      imageID: str(d.imageID),
      volumeID: str(d.volumeID),
      domainID: str(d.domainID),
      shared: str(d.shared),
    }));
}

function fromEngineXml(xmlBase64: string): Candidate[] {
  const text = Buffer.from(xmlBase64, "base64").toString("utf8");
  const doc = parseXml(text, "vm.conf xmlBase64");
  const out: Candidate[] = [];
  for (const el of descendants(doc.root)) {
    if (el.local !== "device" || el.ns !== OVIRT_VM_NS) continue;
    if (el.attrs.find((a) => a.local === "devtype")?.value !== "disk") continue;
    const c: Candidate = {};
    for (const child of childElements(el)) {
      if (child.ns !== OVIRT_VM_NS) continue;
      const value = child.children.find((n) => n.kind === "text");
      const v = value?.kind === "text" ? value.value.trim() : "";
      if (child.local === "imageID") c.imageID = v || undefined;
      else if (child.local === "volumeID") c.volumeID = v || undefined;
      else if (child.local === "domainID") c.domainID = v || undefined;
      else if (child.local === "shared") c.shared = v || undefined;
    }
    out.push(c);
  }
  return out;
}

function pick(candidates: Candidate[]): Candidate | undefined {
  const usable = candidates.filter((c) => c.imageID && c.volumeID);
  return usable.find((c) => c.shared === "exclusive") ?? usable[0];
}

/** The engine disk's ids, or null when neither vm.conf's devices nor its EngineXml name one. */
export function engineDiskOf(conf: VmConf): EngineDiskIds | null {
  let chosen = pick(fromDevices(conf.devices));
  let source: EngineDiskIds["source"] = "vm.conf devices";
  if (!chosen && conf.xmlBase64) {
    chosen = pick(fromEngineXml(conf.xmlBase64));
    source = "EngineXml metadata";
  }
  if (!chosen) return null;
  return {
    imageUUID: chosen.imageID!,
    volumeUUID: chosen.volumeID!,
    domainUUID: chosen.domainID,
    source,
  };
}
