import { describe, expect, it } from "vitest";
import {
  blockSpecialVolumes,
  DOMAIN_TYPES,
  domainTypeRule,
  domMdPaths,
  mountParent,
  parseDomainType,
  preparedVolumePath,
} from "../../src/common/domain-types.js";
import { HostConfigError, hostConfigFrom } from "../../src/common/host-config.js";
import { describeConnection } from "../../src/vdsm/host-storage.js";

const SD = "5f2b9c1e-3a4d-4e6f-8a9b-0c1d2e3f4a5b";

describe("storage types: one record each", () => {
  it("file or block, and VDSM's storage type id and TYPE name (vdsm sd.py)", () => {
    expect(
      DOMAIN_TYPES.map((t) => {
        const r = domainTypeRule(t);
        return [t, r.kind, r.vdsmStorageType, r.vdsmTypeName];
      }),
    ).toEqual([
      ["nfs", "file", 1, "NFS"],
      ["nfs3", "file", 1, "NFS"],
      ["nfs4", "file", 1, "NFS"],
      ["glusterfs", "file", 7, "GLUSTERFS"],
      ["posixfs", "file", 6, "POSIXFS"],
      ["iscsi", "block", 3, "ISCSI"],
      ["fc", "block", 2, "FCP"],
    ]);
  });

  it("only GlusterFS mounts below glusterSD/", () => {
    const parents = DOMAIN_TYPES.map((t) => mountParent(t, "/mnt"));
    expect(parents).toEqual(["/mnt", "/mnt", "/mnt", "/mnt/glusterSD", "/mnt", "/mnt", "/mnt"]);
  });

  it("special volumes: dom_md/* on a file domain, /dev/<sd>/* LVs on a block domain", () => {
    expect(domMdPaths("/m/sd")).toMatchObject({
      ids: "/m/sd/dom_md/ids",
      leases: "/m/sd/dom_md/leases",
      xleases: "/m/sd/dom_md/xleases",
      metadata: "/m/sd/dom_md/metadata",
    });
    expect(blockSpecialVolumes(SD)).toEqual({
      dir: `/dev/${SD}`,
      metadata: `/dev/${SD}/metadata`,
      ids: `/dev/${SD}/ids`,
      leases: `/dev/${SD}/leases`,
      xleases: `/dev/${SD}/xleases`,
      inbox: `/dev/${SD}/inbox`,
      outbox: `/dev/${SD}/outbox`,
    });
    expect(preparedVolumePath("/run", SD, "img", "vol")).toBe(`/run/vdsm/storage/${SD}/img/vol`);
  });

  it("a bad domainType is refused once, naming the value and the file", () => {
    expect(() => parseDomainType("NFS")).toThrow('domainType="NFS" is not one of nfs, nfs3');
    const parse = () =>
      hostConfigFrom(
        new Map([
          ["host_id", "1"],
          ["domainType", "cephfs"],
        ]),
        "/etc/ovirt-hosted-engine/hosted-engine.conf",
      );
    expect(parse).toThrow(HostConfigError);
    expect(parse).toThrow(
      '/etc/ovirt-hosted-engine/hosted-engine.conf: domainType="cephfs" is not one of nfs, nfs3, nfs4, glusterfs, posixfs, iscsi, fc',
    );
  });
});

describe("the storage line he-ha status --json and he-ha lease status print (describeConnection)", () => {
  const conf = (over: Record<string, string>) =>
    hostConfigFrom(
      new Map(
        Object.entries({
          host_id: "1",
          sdUUID: "5b2a1c2e-0000-4000-8000-00000000a001",
          spUUID: "00000000-0000-0000-0000-000000000000",
          vmid: "50e59bbd-f829-4761-ba1b-6db1a6acc3b8",
          ...over,
        }),
      ),
      "hosted-engine.conf",
    );

  it("an iSCSI domain by its block keys: iqn, portal addresses, ports, tpgt; never the CHAP password", () => {
    const line = describeConnection(
      conf({
        domainType: "iscsi",
        storage: "192.0.2.10,192.0.2.11",
        port: "3260,3260",
        iqn: "iqn.2026-12.example:he",
        portal: "1",
        user: "chap",
        password: "secret",
      }),
    );
    expect(line).toBe(
      "iSCSI target iqn=iqn.2026-12.example:he at portal address storage=192.0.2.10,192.0.2.11 port=3260,3260 (tpgt portal=1)",
    );
    expect(line).not.toContain("secret");
  });

  it("an FC domain by its storage domain; a file domain by its share", () => {
    expect(describeConnection(conf({ domainType: "fc" }))).toBe(
      "Fibre Channel storage domain 5b2a1c2e-0000-4000-8000-00000000a001",
    );
    expect(describeConnection(conf({ domainType: "nfs", storage: "nfs.example.com:/he" }))).toBe(
      "nfs.example.com:/he",
    );
  });
});
