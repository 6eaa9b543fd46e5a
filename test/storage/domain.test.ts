import { describe, expect, it } from "vitest";
import { hostConfigFrom } from "../../src/common/host-config.js";
import { DomainPathError, domainDir, haVolumes, volumePath } from "../../src/storage/domain.js";

const SD = "5f2b9c1e-3a4d-4e6f-8a9b-0c1d2e3f4a5b";
const MNT = "/rhev/data-center/mnt";
const ROOTS = { root: "/", mountRoot: MNT };
const conf = (pairs: Record<string, string>) =>
  hostConfigFrom(
    new Map(Object.entries({ host_id: "1", sdUUID: SD, ...pairs })),
    "hosted-engine.conf",
  );

describe("domainDir", () => {
  it.each([
    ["nfs", "nfs.example.com:/export/he", `${MNT}/nfs.example.com:_export_he/${SD}`],
    ["nfs3", "10.0.0.1:/export/he/", `${MNT}/10.0.0.1:_export_he/${SD}`],
    ["nfs4", "server://export//hosted_engine", `${MNT}/server:_export_hosted__engine/${SD}`],
    [
      "glusterfs",
      "gluster.example.com:/engine",
      `${MNT}/glusterSD/gluster.example.com:_engine/${SD}`,
    ],
    ["posixfs", "/dev/shared_fs/he", `${MNT}/_dev_shared__fs_he/${SD}`],
    ["posixfs", "cephmon:/he", `${MNT}/cephmon:_he/${SD}`],
    ["nfs", "[fd00::1]:/he", `${MNT}/[fd00::1]:_he/${SD}`],
  ])("%s %s", (domainType, storage, expected) => {
    expect(domainDir(conf({ domainType, storage }), MNT)).toBe(expected);
  });

  it("domain_path wins, for every type", () => {
    for (const domainType of ["nfs", "glusterfs", "posixfs", "iscsi", "fc"]) {
      expect(domainDir(conf({ domainType, storage: "x:/y", domain_path: "/srv/sd" }), MNT)).toBe(
        "/srv/sd",
      );
    }
  });

  it("block domains need domain_path", () => {
    for (const domainType of ["iscsi", "fc"]) {
      expect(() => domainDir(conf({ domainType, storage: "" }), MNT)).toThrow(DomainPathError);
      expect(() => domainDir(conf({ domainType, storage: "" }), MNT)).toThrow(
        /a block storage domain has no directory .*Image\.prepare/,
      );
    }
  });

  it("unknown type, missing storage or sdUUID are named", () => {
    expect(() => domainDir(conf({ domainType: "ceph", storage: "a:/b" }), MNT)).toThrow(
      /domainType="ceph"/,
    );
    expect(() => domainDir(conf({ domainType: "nfs" }), MNT)).toThrow(/no storage=/);
    expect(() => domainDir(conf({ domainType: "nfs", storage: "a:/b", sdUUID: "" }), MNT)).toThrow(
      /no sdUUID=/,
    );
  });
});

describe("haVolumes", () => {
  it("resolves the three volumes", () => {
    const c = conf({
      domainType: "nfs",
      storage: "s:/he",
      metadata_image_UUID: "mi",
      metadata_volume_UUID: "mv",
      lockspace_image_UUID: "li",
      lockspace_volume_UUID: "lv",
      conf_image_UUID: "ci",
      conf_volume_UUID: "cv",
    });
    const d = `${MNT}/s:_he/${SD}`;
    expect(haVolumes(c, ROOTS)).toEqual({
      domain: d,
      metadata: `${d}/images/mi/mv`,
      lockspace: `${d}/images/li/lv`,
      conf: `${d}/images/ci/cv`,
      ids: `${d}/dom_md/ids`,
      xleases: `${d}/dom_md/xleases`,
    });
    expect(volumePath("/d", "i", "v")).toBe("/d/images/i/v");
  });

  it("falls back to the older ha_agent links, and conf to '' when not configured", () => {
    expect(haVolumes(conf({ domain_path: "/srv/sd" }), ROOTS)).toEqual({
      domain: "/srv/sd",
      metadata: "/srv/sd/ha_agent/hosted-engine.metadata",
      lockspace: "/srv/sd/ha_agent/hosted-engine.lockspace",
      conf: "",
      ids: "/srv/sd/dom_md/ids",
      xleases: "/srv/sd/dom_md/xleases",
    });
  });

  it("block domains: Image.prepare's run-directory paths and the /dev/<sd> LVs, under the host root; every volume UUID required", () => {
    const pairs = {
      storage: "192.0.2.10",
      metadata_image_UUID: "mi",
      metadata_volume_UUID: "mv",
      lockspace_image_UUID: "li",
      lockspace_volume_UUID: "lv",
      conf_image_UUID: "ci",
      conf_volume_UUID: "cv",
    };
    for (const domainType of ["iscsi", "fc"])
      expect(haVolumes(conf({ domainType, ...pairs }), { root: "/h", mountRoot: MNT })).toEqual({
        domain: `/h/dev/${SD}`,
        metadata: `/h/run/vdsm/storage/${SD}/mi/mv`,
        lockspace: `/h/run/vdsm/storage/${SD}/li/lv`,
        conf: `/h/run/vdsm/storage/${SD}/ci/cv`,
        ids: `/h/dev/${SD}/ids`,
        xleases: `/h/dev/${SD}/xleases`,
      });
    expect(() =>
      haVolumes(
        conf({ domainType: "iscsi", ...pairs, conf_image_UUID: "", conf_volume_UUID: "" }),
        ROOTS,
      ),
    ).toThrow(
      "domainType=iscsi: hosted-engine.conf has no conf_image_UUID and conf_volume_UUID; a block storage domain has no ha_agent/ links to fall back to",
    );
  });

  it("half-configured volume UUIDs are an error", () => {
    expect(() =>
      haVolumes(conf({ domain_path: "/srv/sd", metadata_image_UUID: "mi" }), ROOTS),
    ).toThrow(/only one of metadata_image_UUID and metadata_volume_UUID/);
  });
});
