/**
 * The domain test/python/make_vdsm_domain.py lays out the way VDSM and the deployment do
 * (no code of ours): it passes the same layout checks as `he-ha storage init`'s domains
 * (python3-sanlock and sanlock direct), and our storage code reads it: the xleases
 * index, the domain metadata, the configuration archive, the OVF_STORE, the whiteboard.
 */
import { mkdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { domMdPaths } from "../../src/common/domain-types.js";
import { readConfArchive } from "../../src/storage/archive/conf-archive.js";
import { parseDomainMetadata } from "../../src/storage/domain-metadata.js";
import { findOvfStoreVolumes, readOvfFromStore } from "../../src/storage/ovf/store.js";
import { lookupXlease } from "../../src/storage/xleases.js";
import { OVF_TEST_42 } from "../fixtures/ovf-fixtures.js";
import {
  checkDomainLayout,
  dumpEmptyWhiteboard,
  ENGINE42,
  expectArchiveListing,
  sanlockScratch,
} from "./domain-layout.js";
import { makeVdsmDomain } from "./vdsm-domain.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const GOLDEN_VM_CONF = path.join(here, "golden", "ovf_test_v4.2.vm.conf");
const { vmId: VM42, sdUUID: SD42, imageUUID: IMG42, volumeUUID: VOL42 } = ENGINE42;
const MiB = 1024 * 1024;

const scratch = sanlockScratch("vdsm-domain");

describe("a domain laid out the VDSM way, without our code", () => {
  it("passes the layout checks of ours and is read by our storage code", async () => {
    const domain = path.join(scratch.dir(), "mnt", "nfs.example.com:_he", SD42);
    await mkdir(path.dirname(domain), { recursive: true });
    const vmConf = await readFile(GOLDEN_VM_CONF, "utf8");
    const ovf = await readFile(OVF_TEST_42, "utf8");
    const made = await makeVdsmDomain(
      {
        domain,
        sdUUID: SD42,
        vmConf,
        ovf,
        hostConf: [
          ["fqdn", "engine.example.com"],
          ["storage", "nfs.example.com:/he"],
          ["domainType", "nfs"],
        ],
        ioTimeout: 1,
        vmLeases: [VM42],
      },
      scratch.env(),
    );
    expect(made.volumes.engineDisk).toEqual({
      imageUUID: IMG42,
      volumeUUID: VOL42,
      path: path.join(domain, "images", IMG42, VOL42),
    });
    await checkDomainLayout(
      domain,
      {
        sdUUID: SD42,
        ioTimeout: 1,
        type: "NFS",
        remotePath: "nfs.example.com:/he",
        description: "hosted_storage",
        heLockspaceVolume: made.volumes.lockspace.volumeUUID,
        heLockspaceSize: 1024 * MiB,
        engineDisk: { imageUUID: IMG42, volumeUUID: VOL42 },
        volumes: Object.values(made.volumes).map((v) => v.volumeUUID),
        xleases: [{ resource: VM42, offset: 3 * MiB }],
      },
      scratch.env(),
    );

    // our readers on it: xleases, metadata, the archive (heconflib's 20480 bytes), OVF_STORE
    const md = domMdPaths(domain);
    expect(await lookupXlease(md.xleases, VM42)).toEqual({
      lockspace: SD42,
      resource: VM42,
      path: md.xleases,
      offset: 3 * MiB,
    });
    expect(
      parseDomainMetadata(await readFile(md.metadata, "utf8"), md.metadata).get("SDUUID"),
    ).toBe(SD42);
    const archive = await readConfArchive(made.volumes.conf.path);
    expect(archive.members["vm.conf"]).toBe(vmConf);
    for (const [k, v] of made.confLines)
      expect(archive.members["hosted-engine.conf"]).toContain(`\n${k}=${v}\n`);
    await expectArchiveListing(made.volumes.conf.path);
    const stores = await findOvfStoreVolumes(domain);
    expect(stores.map((s) => s.volumeUUID)).toEqual([made.volumes.ovfStore!.volumeUUID]);
    expect(await readOvfFromStore(stores[0]!.path, VM42)).toBe(ovf);
    expect((await stat(made.volumes.metadata.path)).size).toBe(128 * MiB);

    // `he-ha metadata dump` with the hosted-engine.conf lines the helper returned
    const confText = made.confLines.map(([k, v]) => `${k}=${v}\n`).join("");
    expect(await dumpEmptyWhiteboard(path.join(scratch.dir(), "host1"), confText)).toBe(
      made.volumes.metadata.path,
    );
  });
});
