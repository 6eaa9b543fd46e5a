import { INPUT_LIMITS } from "../archive/limits.js";
import { OvfError } from "./errors.js";
import { deviceLiteral, type PyDict, type PyValue } from "./py-repr.js";
import {
  attr,
  childElements,
  descendants,
  find,
  findAll,
  isNamed,
  parseXml,
  textNodes,
  textOf,
  type XElement,
} from "./xml-dom.js";
import { serializeLikeLxml } from "./xml-serialize.js";

/**
 * OVF (from the engine's OVF_STORE) → vm.conf, exactly as the original agent converts it
 * (behaviour.md §9): same keys, order, device dicts and quirks.
 */

const DEFAULT_OVF_NS = "http://schemas.dmtf.org/ovf/envelope/1/";
const RASD_NS =
  "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData";
const XSI_NS = "http://www.w3.org/2001/XMLSchema-instance";
const OVIRT_VM_NS = "http://ovirt.org/vm/1.0";
const BLANK_UUID = "00000000-0000-0000-0000-000000000000";
const CDROM_DEVICE_ID = "8c3179ac-b322-4f5c-9449-c52e3665e0ae";

const DISPLAY_TYPES: Record<number, string> = { 0: "vnc", 1: "qxl", 2: "vnc" };
const NIC_MODELS: Record<number, string> = {
  0: "rtl8139_pv",
  1: "rtl8139",
  2: "e1000",
  3: "pv",
  4: "spaprVlan",
  5: "pciPassthrough",
};

export const SPICE_SECURE_CHANNELS =
  "smain,sdisplay,sinputs,scursor,splayback,srecord,ssmartcard,susbredir";

/** Top-level vm.conf values in file order; `devices` are the device dicts in OVF order. */
export interface VmParams {
  entries: Array<[string, string]>;
  devices: PyDict[];
}

/** Python int() of a string: optional sign, digits, surrounding whitespace. */
function pyInt(value: string | null, element: string): number {
  if (value === null) throw new OvfError(element, "element is missing or empty");
  const t = value.trim().replaceAll("_", "");
  if (!/^[+-]?\d+$/.test(t)) throw new OvfError(element, `"${value}" is not an integer`);
  return Number.parseInt(t, 10);
}

const childText = (el: XElement, local: string, ns?: string): string | null => {
  const c = childElements(el).find((e) => isNamed(e, local, ns));
  return c ? textOf(c) : null;
};

const addressOf = (device: XElement): string | null => {
  const a = childText(device, "Address", RASD_NS);
  return a === null ? null : a.replaceAll("=", ":");
};

function buildDevice(device: XElement): PyDict {
  const dev: PyDict = new Map<string, PyValue>([
    ["type", childText(device, "Type")],
    ["device", childText(device, "Device")],
    ["deviceId", childText(device, "InstanceId", RASD_NS)],
    ["address", addressOf(device)],
  ]);
  const spec = childElements(device).find((e) => isNamed(e, "SpecParams"));
  if (spec) {
    const params: PyDict = new Map();
    for (const p of childElements(spec)) {
      const t = textOf(p);
      if (t !== null) params.set(p.ns ? `{${p.ns}}${p.local}` : p.local, t);
    }
    if (params.size > 0) dev.set("specParams", params);
  }
  return dev;
}

function diskFromElements(device: XElement, disk: XElement, index: number, ovfNs: string): PyDict {
  const need = (name: string): string => {
    const v = attr(disk, name, ovfNs);
    if (v === undefined) throw new OvfError(`Disk/@ovf:${name}`, "attribute is missing");
    return v;
  };
  const fileRef = need("fileRef").split("/");
  if (fileRef.length < 2)
    throw new OvfError("Disk/@ovf:fileRef", `"${need("fileRef")}" is not <image>/<volume>`);
  const out: PyDict = new Map<string, PyValue>([
    ["index", String(index === 2 ? 3 : index)],
    ["type", childText(device, "Type")],
    ["device", childText(device, "Device")],
    ["iface", need("disk-interface").toLowerCase()],
    ["format", need("volume-format").toLowerCase()],
    ["poolID", BLANK_UUID],
    ["domainID", childText(device, "StorageId", RASD_NS)],
    ["imageID", fileRef[0]!],
    ["volumeID", fileRef[1]!],
    ["deviceId", fileRef[0]!],
    ["readonly", childText(device, "IsReadOnly")],
    ["address", addressOf(device)],
    ["bootOrder", String(pyInt(childText(device, "BootOrder"), "Item/BootOrder") + 1)],
    ["propagateErrors", "off"],
    ["shared", "exclusive"],
  ]);
  return out;
}

function buildCdrom(device: XElement): PyDict {
  const cdrom = buildDevice(device);
  cdrom.set("index", "2");
  cdrom.set("iface", "ide");
  cdrom.set("address", "{ controller:0, target:0,unit:0, bus:1, type:drive}");
  cdrom.set("readonly", "true");
  cdrom.set("deviceId", CDROM_DEVICE_ID);
  cdrom.set("path", "");
  cdrom.set("device", "cdrom");
  cdrom.set("shared", "false");
  cdrom.set("type", "disk");
  return cdrom;
}

function buildNic(device: XElement): PyDict | null {
  const nic = buildDevice(device);
  const model = childText(device, "ResourceSubType", RASD_NS);
  if (model !== null) {
    const name = NIC_MODELS[pyInt(model, "Item/rasd:ResourceSubType")];
    if (name === undefined)
      throw new OvfError("Item/rasd:ResourceSubType", `unknown NIC model "${model}"`);
    nic.set("nicModel", name);
  }
  const mac = childText(device, "MACAddress", RASD_NS);
  nic.set("macAddr", mac);
  nic.set("network", childText(device, "Connection", RASD_NS));
  nic.set("linkActive", childText(device, "Linked", RASD_NS));
  return mac === null || mac === "None" ? null : nic;
}

function buildController(device: XElement): PyDict {
  const c = buildDevice(device);
  if (c.get("device") === "virtio-scsi") c.set("device", "scsi");
  if (c.get("device") === "scsi") c.set("model", "virtio-scsi");
  return c;
}

function buildRng(device: XElement | null): PyDict {
  let rng: PyDict;
  if (device) {
    rng = buildDevice(device);
    rng.set("alias", childText(device, "Alias"));
  } else {
    rng = new Map<string, PyValue>([
      ["type", "rng"],
      ["device", "virtio"],
      ["model", "virtio"],
      ["specParams", new Map([["source", "urandom"]])],
    ]);
  }
  if (!rng.has("model")) rng.set("model", rng.get("device") ?? null);
  return rng;
}

function buildVideo(device: XElement): PyDict {
  const v = buildDevice(device);
  v.set("alias", "video0");
  return v;
}

/**
 * `xmlBase64`: the engine's libvirt XML (EngineXml), only when its disk is `exclusive`
 * and it has a `<lease>`; the pty console alias is cut to 24 characters first.
 */
function engineXmlBase64(all: readonly XElement[]): string | undefined {
  const holder = all.find((e) => isNamed(e, "EngineXml"));
  const text = holder ? textNodes(holder)[0] : undefined;
  if (text === undefined) return undefined;
  const doc = parseXml(text, "EngineXml");
  const inner = [...descendants(doc.root)];
  const devicesEls = inner.filter((e) => isNamed(e, "devices"));
  const underDevices = (local: string) =>
    devicesEls.flatMap((d) => childElements(d).filter((c) => isNamed(c, local)));
  const lease = underDevices("lease");
  const shared = inner
    .filter((e) => isNamed(e, "device", OVIRT_VM_NS) && attr(e, "devtype") === "disk")
    .flatMap((d) => childElements(d).filter((c) => isNamed(c, "shared", OVIRT_VM_NS)))
    .flatMap((s) => textNodes(s));
  const alias = underDevices("console")
    .filter((c) => attr(c, "type") === "pty")
    .flatMap((c) => childElements(c).filter((a) => isNamed(a, "alias")))[0];
  const nameAttr = alias?.attrs.find((a) => a.local === "name" && a.ns === undefined);
  if (nameAttr) {
    const chars = Array.from(nameAttr.value);
    if (chars.length > 24) nameAttr.value = chars.slice(0, 24).join("");
  }
  if (shared[0] === "exclusive" && lease.length > 0) {
    return Buffer.from(serializeLikeLxml(doc), "utf8").toString("base64");
  }
  return undefined;
}

/** The OVF namespace in use: the one of the root's `version` attribute when it has one. */
function ovfNamespace(root: XElement): string {
  for (const a of root.attrs) {
    if (a.local === "version" && a.ns?.startsWith("http://schemas.dmtf.org/ovf/envelope/1"))
      return a.ns;
  }
  return DEFAULT_OVF_NS;
}

function textAt(root: XElement, path: ReadonlyArray<[string, string?]>): string | null {
  const el = find(root, path);
  return el ? textOf(el) : null;
}

/**
 * Refuses an OVF larger than INPUT_LIMITS.ovf, or with a run of more than
 * INPUT_LIMITS.ovfElement characters between two `<` (one element's text or one tag),
 * before any parsing: one pass, no allocation.
 */
export function checkOvfBounds(ovf: string): void {
  if (ovf.length > INPUT_LIMITS.ovf)
    throw new OvfError(
      "document",
      `${ovf.length} characters, more than the limit of ${INPUT_LIMITS.ovf}`,
    );
  let at = 0;
  while (at < ovf.length) {
    const next = ovf.indexOf("<", at + 1);
    const end = next === -1 ? ovf.length : next;
    if (end - at > INPUT_LIMITS.ovfElement) {
      throw new OvfError(
        "element",
        `${end - at} characters without markup from offset ${at}, more than the limit of ${INPUT_LIMITS.ovfElement}`,
      );
    }
    at = end;
  }
}

/** Converts an OVF document to vm.conf parameters (the original's toDict). */
export function ovfToVmParams(ovf: string): VmParams {
  checkOvfBounds(ovf);
  const { root } = parseXml(ovf, "XML");
  const ovfNs = ovfNamespace(root);
  const entries: Array<[string, string | null]> = [];

  const all = [...descendants(root)];
  const xmlBase64 = engineXmlBase64(all);
  if (xmlBase64 !== undefined) entries.push(["xmlBase64", xmlBase64]);

  const vmId = all
    .filter((e) => isNamed(e, "Content"))
    .flatMap((c) => childElements(c).filter((s) => isNamed(s, "Section")))
    .filter((s) => attr(s, "type", XSI_NS) === "ovf:OperatingSystemSection_Type")
    .map((s) => attr(s, "id", ovfNs))
    .find((id) => id !== undefined);
  if (vmId === undefined) {
    throw new OvfError(
      "Content/Section[@xsi:type='ovf:OperatingSystemSection_Type']/@ovf:id",
      "not found",
    );
  }
  entries.push(["vmId", vmId]);
  entries.push(["vmName", textAt(root, [["Content"], ["Name"]])]);
  const display = pyInt(
    textAt(root, [["Content"], ["DefaultDisplayType"]]),
    "Content/DefaultDisplayType",
  );
  entries.push(["display", DISPLAY_TYPES[display] ?? null]);
  entries.push(["cpuType", textAt(root, [["Content"], ["CustomCpuName"]])]);
  entries.push(["emulatedMachine", textAt(root, [["Content"], ["CustomEmulatedMachine"]])]);

  const itemPath = (local: string): Array<[string, string?]> => [
    ["Content"],
    ["Section"],
    ["Item"],
    [local, RASD_NS],
  ];
  const sockets = pyInt(
    textAt(root, itemPath("num_of_sockets")),
    "Content/Section/Item/rasd:num_of_sockets",
  );
  const perSocket = pyInt(
    textAt(root, itemPath("cpu_per_socket")),
    "Content/Section/Item/rasd:cpu_per_socket",
  );
  entries.push(["smp", String(sockets * perSocket)]);
  if (find(root, itemPath("max_num_of_vcpus"))) {
    entries.push(["maxVCpus", textAt(root, itemPath("max_num_of_vcpus"))]);
  }

  const memSize = all
    .filter((e) => isNamed(e, "Item"))
    .filter((item) =>
      childElements(item).some(
        (c) => isNamed(c, "ResourceType", RASD_NS) && textNodes(c).includes("4"),
      ),
    )
    .flatMap((item) => childElements(item).filter((c) => isNamed(c, "VirtualQuantity", RASD_NS)))
    .flatMap((q) => textNodes(q))[0];
  if (memSize === undefined) {
    throw new OvfError("Item[rasd:ResourceType=4]/rasd:VirtualQuantity", "memory size not found");
  }
  entries.push(["memSize", memSize]);

  const content = childElements(root).find((e) => isNamed(e, "Content"));
  if (!content) throw new OvfError("Content", "element is missing");
  const diskElements = findAll(root, [["Section"], ["Disk"]]);
  const devices: Array<PyDict | null> = [];
  let cdromBuilt = false;
  let rngBuilt = false;
  let consoleBuilt = false;
  for (const device of descendants(content)) {
    if (!isNamed(device, "Item")) continue;
    if (!childElements(device).some((c) => isNamed(c, "Type"))) continue;
    const t = childText(device, "Type");
    const d = childText(device, "Device");
    if (t === "disk" && d === "disk") {
      // every disk starts from index 0, as in the original (its counter is local)
      let index = 0;
      const instanceId = childText(device, "InstanceId", RASD_NS);
      for (const disk of diskElements) {
        if (attr(disk, "diskId", ovfNs) === instanceId) {
          devices.push(diskFromElements(device, disk, index, ovfNs));
          index++;
        }
      }
    } else if (t === "disk" && d === "cdrom" && !cdromBuilt) {
      devices.push(buildCdrom(device));
      cdromBuilt = true;
    } else if (t === "interface") {
      devices.push(buildNic(device));
    } else if (t === "controller") {
      devices.push(buildController(device));
    } else if (t === "console") {
      devices.push(buildDevice(device));
      consoleBuilt = true;
    } else if (t === "video") {
      devices.push(buildVideo(device));
    } else if (t === "rng") {
      devices.push(buildRng(device));
      rngBuilt = true;
    } else if (t === "graphics") {
      devices.push(buildDevice(device));
    }
  }
  if (!rngBuilt) devices.push(buildRng(null));
  if (!consoleBuilt)
    devices.push(
      new Map([
        ["type", "console"],
        ["device", "console"],
      ]),
    );

  entries.push(["spiceSecureChannels", SPICE_SECURE_CHANNELS]);
  return {
    entries: entries.filter((e): e is [string, string] => e[1] !== null),
    devices: devices.filter((d): d is PyDict => d !== null),
  };
}

/** vm.conf text of VmParams: `key=value` lines, then one `devices=` line per device. */
export function formatVmParams(p: VmParams): string {
  let s = "";
  for (const [k, v] of p.entries) s += `${k}=${v}\n`;
  for (const d of p.devices) s += `devices=${deviceLiteral(d)}\n`;
  return s;
}

/** OVF text → vm.conf text (the original's confFromOvf, without the agent's header). */
export function ovfToVmConf(ovf: string): string {
  return formatVmParams(ovfToVmParams(ovf));
}
