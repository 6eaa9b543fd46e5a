import { existsSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { hostConfigFrom } from "../../src/common/host-config.js";
import { type IscsiIface, storageConnection } from "../../src/vdsm/storage-connection.js";
import { REPO, runTool } from "../support/run.js";
import { UPSTREAM_DIR } from "../support/upstream.js";

/**
 * Our connectStorageServer parameters against the original's own code: its
 * lib/storage_server.py `_get_conlist` (with `_get_conlist_iscsi`, `_get_conlist_fc`,
 * `_get_conlist_nfs_gluster`) run by python3 from the checkout at
 * $HE_HA_UPSTREAM/ovirt-hosted-engine-ha (test/support/upstream.ts) on the same
 * hosted-engine.conf and iSCSI interfaces (test/python/original_conlist.py).
 */
const ORIGINAL = path.join(UPSTREAM_DIR, "ovirt-hosted-engine-ha");
const HAVE = existsSync(path.join(ORIGINAL, "ovirt_hosted_engine_ha/lib/storage_server.py"));
const TITLE = "connection parameters: ours equal the original's storage_server.py";

/** keys the original's Config reads for every type (deployment writes them all) */
const BASE = {
  host_id: "1",
  spUUID: "00000000-0000-0000-0000-000000000000",
  sdUUID: "9d1d8a5c-4b4f-4e8e-9a57-0c6f1b2d3e4f",
  connectionUUID: "e29cf818-5ee5-46e1-85c1-8aeefa33e95d",
  storage: "",
  iqn: "",
  portal: "",
  user: "",
  password: "",
  port: "",
};

async function original(conf: Record<string, string>, ifaces: IscsiIface[]) {
  const r = await runTool(
    "python3",
    [path.join(REPO, "test/python/original_conlist.py"), ORIGINAL],
    { stdin: JSON.stringify({ conf, ifaces }) },
  );
  expect(r.stderr).toBe("");
  const out = JSON.parse(r.stdout) as { storageType: number; conList: object[] };
  return { domainType: out.storageType, connectionParams: out.conList };
}

function ours(pairs: Record<string, string>, ifaces: IscsiIface[]) {
  let n = 0;
  return storageConnection(hostConfigFrom(new Map(Object.entries(pairs)), "hosted-engine.conf"), {
    normalizePath: false,
    iscsiIfaces: ifaces,
    newId: () => String(++n),
  });
}

const BONDS: IscsiIface[] = [
  { ifaceName: "bond0", netIfaceName: "eth0" },
  { ifaceName: "bond1", netIfaceName: "eth1" },
];
const NO_BOND: IscsiIface[] = [{ ifaceName: null, netIfaceName: null }];

describe.skipIf(!HAVE)(
  HAVE
    ? TITLE
    : `${TITLE}: skipped, no checkout of the original at ${ORIGINAL} (set HE_HA_UPSTREAM to a directory holding one)`,
  () => {
    it.each<[string, Record<string, string>, IscsiIface[]]>([
      [
        "iSCSI, one target, two portals, two bond interfaces, one path blacklisted",
        {
          domainType: "iscsi",
          storage: "192.0.2.10,192.0.2.11",
          port: "3260,3261",
          iqn: "iqn.2026-12.example:he",
          portal: "1",
          user: "chap",
          password: "secret",
          iscsi_paths_blacklist: "bond1<>192.0.2.11",
        },
        BONDS,
      ],
      [
        "iSCSI, several targets zipped with their portals, users and passwords; no bond; mnt_options",
        {
          domainType: "iscsi",
          storage: "192.0.2.10,192.0.2.11,192.0.2.12",
          port: "3260,3260,3260",
          iqn: "iqn.a:one,iqn.b:two",
          portal: "1,2",
          user: "u1,u2",
          password: "p1,p2",
          mnt_options: "x",
        },
        NO_BOND,
      ],
      ["FC: no connection", { domainType: "fc" }, NO_BOND],
      [
        "NFS with nfs_version v4_1",
        { domainType: "nfs", storage: "nfs.example.com:/he/", nfs_version: "v4_1" },
        NO_BOND,
      ],
      ["GlusterFS", { domainType: "glusterfs", storage: "gluster:/engine" }, NO_BOND],
    ])(
      "%s",
      async (_what, pairs, ifaces) => {
        const conf = { ...BASE, ...pairs };
        expect(ours(conf, ifaces)).toEqual(await original(conf, ifaces));
      },
      60_000,
    );
  },
);
