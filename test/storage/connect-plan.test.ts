import { describe, expect, it } from "vitest";
import type { DomainType } from "../../src/common/domain-types.js";
import { StorageConnectError } from "../../src/storage/connect/errors.js";
import {
  type ConnectionConf,
  mountPlan,
  nfsMountOptions,
  nfsProtocolVersion,
} from "../../src/storage/connect/mount-plan.js";
import { mountAt, parseMountinfo } from "../../src/storage/connect/mountinfo.js";
import {
  fileDomainMetadata,
  formatDomainMetadata,
  metadataSdUuid,
} from "../../src/storage/domain-metadata.js";

const SD = "7e2f6c1a-3b4d-4e5f-8a9b-0c1d2e3f4a5b";
const MNT = "/rhev/data-center/mnt";

function conf(over: Partial<ConnectionConf>): ConnectionConf {
  return {
    domainType: "nfs",
    storage: "nfs.example.com:/exports/he",
    sdUUID: SD,
    mntOptions: "",
    nfsVersion: "",
    vfsType: "",
    ...over,
  };
}

describe("mount plan: where and how VDSM mounts each domain type", () => {
  it("NFS auto-negotiated: VDSM's defaults, nolock, at <mnt>/<server:_path>", () => {
    const p = mountPlan(conf({}), MNT);
    expect(p.mountPoint).toBe("/rhev/data-center/mnt/nfs.example.com:_exports_he");
    expect(p.domainDir).toBe(`/rhev/data-center/mnt/nfs.example.com:_exports_he/${SD}`);
    expect(p.argv).toEqual([
      "mount",
      "-t",
      "nfs",
      "-o",
      "soft,nosharecache,timeo=100,retrans=3,nolock",
      "nfs.example.com:/exports/he",
      "/rhev/data-center/mnt/nfs.example.com:_exports_he",
    ]);
  });

  it("NFS path normalised before escaping; underscores doubled (VDSM bz 1300749)", () => {
    const p = mountPlan(conf({ storage: "srv:/a_b//c/" }), MNT);
    expect(p.source).toBe("srv:/a_b/c");
    expect(p.mountPoint).toBe("/rhev/data-center/mnt/srv:_a__b_c");
  });

  it.each<[DomainType, string, string | null, string]>([
    ["nfs", "v4_1", "4.1", "soft,nosharecache,timeo=100,retrans=3,nfsvers=4,minorversion=1"],
    ["nfs", "v4", "4", "soft,nosharecache,timeo=100,retrans=3,nfsvers=4"],
    ["nfs", "v3", "3", "soft,nosharecache,timeo=100,retrans=3,nfsvers=3,nolock"],
    ["nfs", "auto", null, "soft,nosharecache,timeo=100,retrans=3,nolock"],
    ["nfs3", "", "3", "soft,nosharecache,timeo=100,retrans=3,nfsvers=3,nolock"],
    ["nfs4", "v3", "4", "soft,nosharecache,timeo=100,retrans=3,nfsvers=4"],
  ])("domainType=%s nfs_version=%s → version %s, -o %s", (type, nv, version, options) => {
    expect(nfsProtocolVersion(type, nv)).toBe(version);
    expect(mountPlan(conf({ domainType: type, nfsVersion: nv }), MNT).options).toBe(options);
  });

  it("NFS mnt_options are appended; `lock` or `nolock` given by the user wins", () => {
    expect(nfsMountOptions("3", "lock,rsize=65536")).toBe(
      "soft,nosharecache,timeo=100,retrans=3,nfsvers=3,lock,rsize=65536",
    );
    expect(nfsMountOptions(null, "nolock")).toBe("soft,nosharecache,timeo=100,retrans=3,nolock");
    expect(nfsMountOptions("4.2", "sec=krb5")).toBe(
      "soft,nosharecache,timeo=100,retrans=3,nfsvers=4,minorversion=2,sec=krb5",
    );
  });

  it("a bad NFS version is refused, naming it", () => {
    expect(() => mountPlan(conf({ nfsVersion: "v4_x" }), MNT)).toThrow(/invalid NFS version "4.x"/);
    expect(() => mountPlan(conf({ nfsVersion: "4.1.2" }), MNT)).toThrow(StorageConnectError);
  });

  it("GlusterFS: -t glusterfs under glusterSD/, backup-volfile-servers from mnt_options", () => {
    const p = mountPlan(
      conf({
        domainType: "glusterfs",
        storage: "gl1.example.com:/he_vol",
        mntOptions: "backup-volfile-servers=gl2.example.com:gl3.example.com",
      }),
      MNT,
    );
    expect(p.mountPoint).toBe("/rhev/data-center/mnt/glusterSD/gl1.example.com:_he__vol");
    expect(p.argv).toEqual([
      "mount",
      "-t",
      "glusterfs",
      "-o",
      "backup-volfile-servers=gl2.example.com:gl3.example.com",
      "gl1.example.com:/he_vol",
      "/rhev/data-center/mnt/glusterSD/gl1.example.com:_he__vol",
    ]);
  });

  it("GlusterFS without options: no -o at all", () => {
    const p = mountPlan(conf({ domainType: "glusterfs", storage: "localhost:/v1" }), MNT);
    expect(p.argv).toEqual([
      "mount",
      "-t",
      "glusterfs",
      "localhost:/v1",
      "/rhev/data-center/mnt/glusterSD/localhost:_v1",
    ]);
  });

  it("posixfs: a device path, vfs_type as -t, mnt_options as -o", () => {
    const p = mountPlan(
      conf({
        domainType: "posixfs",
        storage: "/dev/loop7",
        vfsType: "ext4",
        mntOptions: "noatime",
      }),
      MNT,
    );
    expect(p.argv).toEqual([
      "mount",
      "-t",
      "ext4",
      "-o",
      "noatime",
      "/dev/loop7",
      "/rhev/data-center/mnt/_dev_loop7",
    ]);
  });

  it.each<DomainType>(["iscsi", "fc"])("domainType=%s is refused with the reason", (type) => {
    expect(() => mountPlan(conf({ domainType: type }), MNT)).toThrow(
      /block storage domains are connected by VDSM/,
    );
  });

  it("unknown types, missing storage or sdUUID, malformed specs are named", () => {
    expect(() => mountPlan(conf({ storage: "" }), MNT)).toThrow(/no storage=/);
    expect(() => mountPlan(conf({ sdUUID: "" }), MNT)).toThrow(/no sdUUID=/);
    expect(() => mountPlan(conf({ storage: "/just/a/path" }), MNT)).toThrow(/server:\/path/);
    expect(() => mountPlan(conf({ domainType: "glusterfs", storage: "host:" }), MNT)).toThrow(
      /server:\/volume/,
    );
  });
});

describe("mountinfo", () => {
  const text = [
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw",
    "42 27 0:39 / /rhev/data-center/mnt/glusterSD/localhost:_v1 rw,relatime shared:9 - fuse.glusterfs localhost:/v1 rw,user_id=0",
    "43 27 0:40 / /mnt/with\\040space rw - nfs4 srv:/x\\040y rw",
    "44 27 0:41 / /rhev/data-center/mnt/glusterSD/g:_r rw - fuse.glusterfs g:/r.rdma rw",
    "garbage line",
  ].join("\n");

  it("parses mount point, type and source; unescapes octal; drops gluster's .rdma", () => {
    const recs = parseMountinfo(text);
    expect(recs).toHaveLength(4);
    expect(recs[2]).toEqual({ mountPoint: "/mnt/with space", fsType: "nfs4", source: "srv:/x y" });
    expect(mountAt(recs, "/rhev/data-center/mnt/glusterSD/g:_r")?.source).toBe("g:/r");
    expect(mountAt(recs, "/rhev/data-center/mnt/glusterSD/localhost:_v1")?.fsType).toBe(
      "fuse.glusterfs",
    );
    expect(mountAt(recs, "/nowhere")).toBeUndefined();
  });
});

describe("dom_md/metadata as connecting reads it", () => {
  it("finds the SDUUID of a VDSM-format metadata text (checksum: domain-metadata.test.ts)", () => {
    const text = formatDomainMetadata(
      fileDomainMetadata({
        sdUUID: SD,
        remotePath: "localhost:/v1",
        type: "GLUSTERFS",
        description: "hosted_storage",
      }),
    );
    expect(metadataSdUuid(text)).toBe(SD);
    expect(metadataSdUuid(formatDomainMetadata(new Map([["CLASS", "Data"]])))).toBeNull();
  });
});
