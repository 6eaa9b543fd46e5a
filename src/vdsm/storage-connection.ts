import { randomUUID } from "node:crypto";
import path from "node:path";
import { domainTypeRule } from "../common/domain-types.js";
import type { HostConfig } from "../common/host-config.js";

/** One entry of StoragePool.connectStorageServer's `connectionParams` for a file domain. */
export interface FileConnectionParams {
  connection: string;
  user: "kvm";
  id: string;
  protocol_version?: string;
  vfs_type?: "glusterfs";
  mnt_options?: string;
}

/**
 * One entry for an iSCSI domain, as the original's `_get_conlist_iscsi` builds it: one per
 * (iSCSI interface, portal address) pair. `tpgt` is hosted-engine.conf `portal` (the
 * target portal group tag), `port` its `port`; `netIfaceName`/`ifaceName` only when the
 * host has iSCSI bond interfaces (`iscsiadm -m iface`).
 */
export interface IscsiConnectionParams {
  connection: string;
  iqn: string;
  tpgt: string;
  user: string;
  password: string;
  id: string;
  port: string;
  netIfaceName?: string;
  ifaceName?: string;
  mnt_options?: string;
}

export type ConnectionParams = FileConnectionParams | IscsiConnectionParams;

/** An iSCSI interface of `iscsiadm -m iface`: null names = the default path (no bond). */
export interface IscsiIface {
  ifaceName: string | null;
  netIfaceName: string | null;
}

/** The original's `_get_iscsi_ifaces` when `iscsiadm -m iface` lists no usable interface. */
export const DEFAULT_ISCSI_IFACE: IscsiIface = { ifaceName: null, netIfaceName: null };

/** iscsiadm's reserved interfaces, never used as bond paths (storage_server._RESERVED_INTERFACES) */
const RESERVED_IFACES = new Set(["default", "iser"]);

/**
 * The iSCSI bond interfaces of `iscsiadm -m iface` output (lines `<iface> tcp,<hw>,<ip>,
 * <net iface>,<initiator>`), as the original's `_get_iscsi_ifaces` parses them: the
 * reserved `default` and `iser` and interfaces without a network interface (`<empty>`)
 * left out; none → the default path.
 */
export function parseIscsiIfaces(stdout: string): IscsiIface[] {
  const out: IscsiIface[] = [];
  for (const line of stdout.split(/\r?\n/)) {
    const m = /^(.*) tcp,(.*),(.*),(.*),(.*)$/.exec(line);
    if (!m) continue;
    const [ifaceName, netIfaceName] = [m[1]!, m[4]!];
    if (!RESERVED_IFACES.has(ifaceName) && netIfaceName !== "<empty>")
      out.push({ ifaceName, netIfaceName });
  }
  return out.length > 0 ? out : [DEFAULT_ISCSI_IFACE];
}

/**
 * `iscsi_paths_blacklist` (`iface<>portal,iface<>portal`): the (interface, portal address)
 * pairs not to connect. An entry without `<>` is named in the error.
 */
export function parseIscsiBlacklist(value: string | undefined): Array<[string, string]> {
  if (value === undefined || value.trim() === "") return [];
  return value
    .trim()
    .split(",")
    .map((entry) => {
      const parts = entry.split("<>");
      if (parts.length < 2)
        throw new StorageConnectionError(
          `iscsi_paths_blacklist: "${entry}" is not <iSCSI interface><><portal address>`,
        );
      return [parts[0]!, parts[1]!] as [string, string];
    });
}

export class StorageConnectionError extends Error {
  override name = "StorageConnectionError";
}

/**
 * Python's `os.path.normpath` of a connection string (`server:/he/` → `server:/he`,
 * `a//b` → `a/b`), as the original's `_fix_filebased_connection_path` applies it before
 * connecting.
 */
export function pyNormpath(p: string): string {
  if (p === "") return ".";
  const n = path.posix.normalize(p);
  return n.length > 1 && n.endsWith("/") ? n.slice(0, -1) : n;
}

/**
 * `domainType` and `connectionParams` for StoragePool.(dis)connectStorageServer from
 * hosted-engine.conf, as the original's storage_server.py `_get_conlist` builds them:
 * - NFS and GlusterFS (`_get_conlist_nfs_gluster`): `connection` = `storage`, `user` =
 *   kvm, `id` = `connectionUUID`; NFS with `protocol_version` (auto, or nfs_version with
 *   "v" dropped and "_" → "."; nfs3 → 3, nfs4 → 4), GlusterFS with `vfs_type` glusterfs.
 *   `normalizePath` (the original's connect; its disconnect sends `storage` as written,
 *   "to be sure we really disconnect from where we were connected"): through pyNormpath.
 * - iSCSI (`_get_conlist_iscsi`): see iscsiConnections.
 * - FC (`_get_conlist_fc`): no connection at all (the LUNs are already visible); the
 *   caller then makes no connectStorageServer call.
 * - posixfs: refused, as the original refuses it.
 * `mnt_options`, when set, goes on the first connection (the original does so for every type).
 */
export function storageConnection(
  conf: HostConfig,
  opts: { normalizePath: boolean; iscsiIfaces?: IscsiIface[]; newId?: () => string },
): {
  domainType: number;
  connectionParams: ConnectionParams[];
} {
  const raw = conf.raw;
  const rule = domainTypeRule(conf.domainType);
  if (!rule.connectedThroughVdsm)
    throw new StorageConnectionError(
      `domainType=${conf.domainType}: the original connects only nfs, nfs3, nfs4, glusterfs, iscsi and fc storage through VDSM`,
    );
  let list: ConnectionParams[];
  if (rule.connection === "iscsi") {
    list = iscsiConnections(conf, opts.iscsiIfaces ?? [DEFAULT_ISCSI_IFACE], opts.newId);
  } else if (rule.connection === "fc") {
    list = [];
  } else {
    const con: FileConnectionParams = {
      connection: opts.normalizePath ? pyNormpath(conf.storage) : conf.storage,
      user: "kvm",
      id: raw.get("connectionUUID") ?? "",
    };
    if (rule.connection === "nfs") {
      const v = raw.get("nfs_version");
      con.protocol_version = rule.nfsVersion ?? (v ? v.replace("v", "").replace("_", ".") : "auto");
    } else con.vfs_type = "glusterfs";
    if (!con.id)
      throw new StorageConnectionError("connectionUUID is not set in hosted-engine.conf");
    list = [con];
  }
  const mnt = raw.get("mnt_options");
  if (mnt && list[0]) list[0].mnt_options = mnt;
  return { domainType: rule.vdsmStorageType, connectionParams: list };
}

/** The hosted-engine.conf keys of an iSCSI domain (the original's ISCSI_* constants). */
export const ISCSI_KEYS = ["storage", "port", "iqn", "portal", "user", "password"] as const;

/**
 * The original's `_get_conlist_iscsi`: `storage` holds the portal addresses and `port`
 * their ports, comma-separated and zipped (first with first). With one `iqn`, every
 * address gets it with `portal` (the TPGT), `user` and `password`; with several
 * (comma in `iqn`), `iqn`, `portal`, `user` and `password` are zipped too (a password
 * cannot hold a comma then). Python's zip: the shortest list wins. One connection per
 * (bond interface, address), a fresh UUID each; pairs in `iscsi_paths_blacklist` are
 * left out. Missing keys are named.
 */
export function iscsiConnections(
  conf: HostConfig,
  ifaces: IscsiIface[],
  newId: () => string = randomUUID,
): IscsiConnectionParams[] {
  const get = (k: string) => conf.raw.get(k) ?? "";
  for (const k of ["storage", "iqn", "port"] as const)
    if (!get(k))
      throw new StorageConnectionError(
        `domainType=iscsi: hosted-engine.conf has no ${k}= (${k === "storage" ? "the portal address" : k === "port" ? "the portal port, e.g. 3260" : "the target name"})`,
      );
  const blacklist = parseIscsiBlacklist(conf.raw.get("iscsi_paths_blacklist"));
  const split = (k: string) => get(k).split(",");
  const multi = get("iqn").includes(",");
  const columns = multi
    ? [
        split("storage"),
        split("port"),
        split("iqn"),
        split("portal"),
        split("user"),
        split("password"),
      ]
    : [split("storage"), split("port")];
  const n = Math.min(...columns.map((c) => c.length));
  const targets = Array.from({ length: n }, (_, i) => ({
    ip: columns[0]![i]!,
    port: columns[1]![i]!,
    iqn: multi ? columns[2]![i]! : get("iqn"),
    tpgt: multi ? columns[3]![i]! : get("portal"),
    user: multi ? columns[4]![i]! : get("user"),
    password: multi ? columns[5]![i]! : get("password"),
  }));
  for (const t of targets) {
    const port = Number(t.port);
    if (!/^\d+$/.test(t.port) || port < 1 || port > 65535)
      throw new StorageConnectionError(
        `domainType=iscsi: port="${get("port")}" in hosted-engine.conf: "${t.port}" (for portal address ${t.ip}) is not a port number`,
      );
    if (!/^\d+$/.test(t.tpgt))
      throw new StorageConnectionError(
        `domainType=iscsi: portal="${get("portal")}" in hosted-engine.conf: "${t.tpgt}" (for portal address ${t.ip}) is not a target portal group tag (an integer)`,
      );
  }
  const out: IscsiConnectionParams[] = [];
  for (const iface of ifaces) {
    for (const t of targets) {
      const con: IscsiConnectionParams = {
        connection: t.ip,
        iqn: t.iqn,
        tpgt: t.tpgt,
        user: t.user,
        password: t.password,
        id: newId(),
        port: t.port,
      };
      if (iface.netIfaceName !== null && iface.ifaceName !== null) {
        con.netIfaceName = iface.netIfaceName;
        con.ifaceName = iface.ifaceName;
        if (blacklist.some(([i, p]) => i === con.ifaceName && p === con.connection)) continue;
      }
      out.push(con);
    }
  }
  return out;
}
