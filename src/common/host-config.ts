import { readFile } from "node:fs/promises";
import path from "node:path";
import { type DomainType, DomainTypeError, parseDomainType } from "./domain-types.js";
import { ConfigSyntaxError, parseBool, parseKeyValue } from "./keyvalue.js";
import { OVIRT_AUTHFILE, OVIRT_AUTHFILE_NAME, withAuthfile } from "./libvirt-auth-uri.js";
import { configText } from "./strict-ini.js";

/** hosted-engine.conf (behaviour.md §2, interfaces.md extra keys), typed. */
export interface HostConfig {
  /** every key as written, for `config get` and forward compatibility */
  raw: Map<string, string>;
  hostId: number;
  sdUUID: string;
  spUUID: string;
  /** `domainType` (default nfs), parsed once: see src/common/domain-types.ts */
  domainType: DomainType;
  storage: string;
  vmId: string;
  fqdn: string;
  gateway: string;
  bridge: string;
  metadataImageUUID: string;
  metadataVolumeUUID: string;
  lockspaceImageUUID: string;
  lockspaceVolumeUUID: string;
  confImageUUID: string;
  confVolumeUUID: string;
  networkTest: "ping" | "dns" | "tcp" | "none";
  tcpTAddress: string;
  tcpTPort: number;
  /**
   * the libvirt URI every connection of ours opens: `libvirt_uri` with
   * `authfile=<libvirt_authfile>` added (see src/libvirt/auth-uri.ts)
   */
  libvirtUri: string;
  /** `libvirt_authfile`: SASL credentials for libvirtd; "" = none */
  libvirtAuthfile: string;
  domainPath: string | undefined;
  sanlockIoTimeout: number;
  metricsListen: string;
  /**
   * who takes the engine VM's sanlock lease (`vm_lease_holder`): the agent itself, or
   * libvirt's sanlock lock manager for the qemu process; `auto` reads qemu.conf
   */
  vmLeaseHolder: "auto" | "agent" | "libvirt";
}

export class HostConfigError extends Error {
  override name = "HostConfigError";
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`${file}: ${reason}`);
  }
}

const NETWORK_TESTS = new Set(["ping", "dns", "tcp", "none"]);
const LEASE_HOLDERS = new Set(["auto", "agent", "libvirt"]);

/**
 * Builds a HostConfig from parsed pairs. Throws HostConfigError when HA is not
 * configured (no host_id, or configured=False) or a value is malformed.
 */
export function hostConfigFrom(raw: Map<string, string>, file: string): HostConfig {
  const get = (k: string, d = "") => raw.get(k) ?? d;
  const configured = raw.has("configured") ? parseBool(raw.get("configured")) : true;
  if (!raw.get("host_id"))
    throw new HostConfigError(file, "HA is not configured: host_id is not set");
  if (configured !== true) {
    throw new HostConfigError(file, `HA is not configured: configured=${raw.get("configured")}`);
  }
  const hostId = Number(raw.get("host_id"));
  if (!Number.isInteger(hostId) || hostId < 1 || hostId > 2000) {
    throw new HostConfigError(file, `host_id="${raw.get("host_id")}" is not an integer in 1..2000`);
  }
  const networkTest = get("network_test", "ping");
  if (!NETWORK_TESTS.has(networkTest)) {
    throw new HostConfigError(
      file,
      `network_test="${networkTest}" is not one of ping, dns, tcp, none`,
    );
  }
  const ioTimeout = Number(get("sanlock_io_timeout", "10"));
  if (!Number.isFinite(ioTimeout) || ioTimeout <= 0) {
    throw new HostConfigError(
      file,
      `sanlock_io_timeout="${get("sanlock_io_timeout")}" is not a positive number`,
    );
  }
  const vmLeaseHolder = get("vm_lease_holder", "auto");
  if (!LEASE_HOLDERS.has(vmLeaseHolder))
    throw new HostConfigError(
      file,
      `vm_lease_holder="${vmLeaseHolder}" is not one of auto, agent, libvirt`,
    );
  const tcpPort = raw.has("tcp_t_port") ? Number(raw.get("tcp_t_port")) : 0;
  if (!Number.isInteger(tcpPort) || tcpPort < 0 || tcpPort > 65535) {
    throw new HostConfigError(file, `tcp_t_port="${raw.get("tcp_t_port")}" is not a port number`);
  }
  const domainPath = raw.get("domain_path") || undefined;
  if (domainPath !== undefined && !path.isAbsolute(domainPath)) {
    throw new HostConfigError(
      file,
      `domain_path="${domainPath}" is relative; it must be the absolute path of the storage domain directory`,
    );
  }
  let domainType: DomainType;
  try {
    domainType = parseDomainType(get("domainType", "nfs"));
  } catch (e) {
    if (!(e instanceof DomainTypeError)) throw e;
    throw new HostConfigError(file, e.message);
  }
  const libvirtAuthfile = get("libvirt_authfile", defaultAuthfile(file));
  return {
    raw,
    hostId,
    sdUUID: get("sdUUID"),
    spUUID: get("spUUID", "00000000-0000-0000-0000-000000000000"),
    domainType,
    storage: get("storage"),
    vmId: get("vmid"),
    fqdn: get("fqdn"),
    gateway: get("gateway"),
    bridge: get("bridge", "ovirtmgmt"),
    metadataImageUUID: get("metadata_image_UUID"),
    metadataVolumeUUID: get("metadata_volume_UUID"),
    lockspaceImageUUID: get("lockspace_image_UUID"),
    lockspaceVolumeUUID: get("lockspace_volume_UUID"),
    confImageUUID: get("conf_image_UUID"),
    confVolumeUUID: get("conf_volume_UUID"),
    networkTest: networkTest as HostConfig["networkTest"],
    tcpTAddress: get("tcp_t_address"),
    tcpTPort: tcpPort,
    libvirtUri: withAuthfile(get("libvirt_uri", "qemu:///system"), libvirtAuthfile),
    libvirtAuthfile,
    domainPath,
    sanlockIoTimeout: ioTimeout,
    metricsListen: get("metrics_listen"),
    vmLeaseHolder: vmLeaseHolder as HostConfig["vmLeaseHolder"],
  };
}

/** A key hosted-engine.conf may hold: letters, digits, `_`, `.`, `-` (no sections). */
const KEY = /^[A-Za-z0-9_.-]+$/;

/** Refuses a key that no writer of hosted-engine.conf produces, naming its line. */
function checkKeys(raw: Map<string, string>, file: string, text: string): void {
  for (const key of raw.keys()) {
    if (KEY.test(key)) continue;
    const lines = text.split(/\r?\n/);
    const no = lines.findIndex((l) => l.trim().startsWith(key)) + 1;
    throw new ConfigSyntaxError(
      file,
      no,
      `"${key.slice(0, 60)}" is not a key (letters, digits, "_", ".", "-"), expected key=value`,
    );
  }
}

/**
 * oVirt's virsh_auth.conf beside hosted-engine.conf (so `$HE_HA_ROOT` moves it too);
 * /etc/ovirt-hosted-engine/virsh_auth.conf when the file name is not a path.
 */
function defaultAuthfile(file: string): string {
  return path.isAbsolute(file)
    ? path.join(path.dirname(file), OVIRT_AUTHFILE_NAME)
    : OVIRT_AUTHFILE;
}

/** Reads and validates hosted-engine.conf; every failure is a HostConfigError naming the file. */
export async function loadHostConfig(file: string): Promise<HostConfig> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (e) {
    throw new HostConfigError(file, `cannot read: ${(e as Error).message}`);
  }
  try {
    const text = configText(buf, file);
    const raw = parseKeyValue(text, file);
    checkKeys(raw, file, text);
    return hostConfigFrom(raw, file);
  } catch (e) {
    if (e instanceof HostConfigError) throw e;
    if (e instanceof ConfigSyntaxError)
      throw new HostConfigError(file, `line ${e.line}: ${e.reason}`);
    throw new HostConfigError(file, (e as Error).message);
  }
}
