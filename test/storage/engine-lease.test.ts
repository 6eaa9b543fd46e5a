/**
 * Which lease guards the engine VM (src/storage/engine-lease.ts): oVirt's own, resolved
 * from vm.conf as VDSM resolves it, for every real engine OVF of the fixtures; a VM lease
 * found through a real xleases index; and the refusals.
 */
import { readFileSync } from "node:fs";
import { open } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  EngineLeaseError,
  engineLeaseRequests,
  resolveEngineLeases,
} from "../../src/storage/engine-lease.js";
import { ovfToVmConf } from "../../src/storage/ovf/ovf-to-vmconf.js";
import { parseVmConf } from "../../src/storage/ovf/vmconf.js";
import type { VmConf } from "../../src/storage/ovf/vmconf-types.js";
import { addXlease, lookupXlease, writeXleasesIndex } from "../../src/storage/xleases.js";
import { OVF_DIR } from "../fixtures/ovf-fixtures.js";
import { removeDir, tempDir } from "../support/temp.js";

const DOMAIN = "/rhev/data-center/mnt/nfs.example.com:_he/SD";

function vmConfOf(fixture: string): VmConf {
  const text = ovfToVmConf(readFileSync(path.join(OVF_DIR, fixture), "utf8"));
  return parseVmConf(text, fixture);
}

const ctx = (sdUUID: string, vmConfSource = "vm.conf") => ({
  domainDir: DOMAIN,
  sdUUID,
  vmConfSource,
});

/** The engine's domain XML of `conf` with its `<lease>` replaced by `lease`. */
function withEngineXmlLease(conf: VmConf, lease: string): VmConf {
  const xml = Buffer.from(conf.xmlBase64!, "base64").toString("utf8");
  const edited = xml.replace(/<lease>[\s\S]*<\/lease>/, lease);
  return { ...conf, xmlBase64: Buffer.from(edited).toString("base64") };
}

describe("the engine VM's lease, for each real engine OVF", () => {
  // The resource each fixture's engine VM is guarded by (the closing note lists these).
  const expected: Record<string, { sd: string; image: string; volume: string; source: string }> = {
    "ovf_test.xml": {
      sd: "475e7578-33a2-474f-8647-aa46f01200f9",
      image: "1b52d184-a370-48a7-8335-a4755b01ec0a",
      volume: "05f1031c-6c9a-48c3-9a62-930984e52e11",
      source: "exclusive-disk",
    },
    "ovf_test_max_vcpu.xml": {
      sd: "475e7578-33a2-474f-8647-aa46f01200f9",
      image: "1b52d184-a370-48a7-8335-a4755b01ec0a",
      volume: "05f1031c-6c9a-48c3-9a62-930984e52e11",
      source: "exclusive-disk",
    },
    "ovf_test_v4.2.xml": {
      sd: "ce880525-a44b-4248-8b63-d9e11b2f123a",
      image: "69a2b8c2-8d1c-4014-8f75-a85c16bc5b71",
      volume: "3ab9fff0-9aa1-4c2e-ad67-5e25d05cb86e",
      source: "ovf-lease",
    },
    "ovf_test_v4.2_unsafe.xml": {
      sd: "1f71b5f9-5cfa-459c-8ec2-ee48c9731f60",
      image: "add49103-89de-4a7e-b22f-9768a324b8f9",
      volume: "81487a81-d27d-41b8-b3d1-139d38437f42",
      source: "exclusive-disk",
    },
  };
  for (const [fixture, e] of Object.entries(expected)) {
    it(`${fixture}: the engine disk's volume lease ${e.sd}:${e.volume} (${e.source})`, () => {
      const leases = engineLeaseRequests(vmConfOf(fixture), ctx(e.sd));
      expect(leases).toEqual([
        expect.objectContaining({
          lockspace: e.sd,
          resource: e.volume,
          path: `${DOMAIN}/images/${e.image}/${e.volume}.lease`,
          offset: 0,
          kind: "volume",
          source: e.source,
        }),
      ]);
      // never the VM uuid, never the HA lockspace
      expect(leases[0]!.resource).not.toBe(vmConfOf(fixture).vmId);
      expect(leases[0]!.lockspace).not.toBe("hosted-engine");
    });
  }

  it("refuses a lease in another storage domain than hosted-engine.conf's sdUUID", () => {
    expect(() =>
      engineLeaseRequests(
        vmConfOf("ovf_test_v4.2.xml"),
        ctx("0000aaaa-0000-0000-0000-000000000000"),
      ),
    ).toThrow(/storage domain ce880525-.*sdUUID=0000aaaa-/);
    expect(() => engineLeaseRequests(vmConfOf("ovf_test.xml"), ctx(""))).toThrow(/no sdUUID/);
  });
});

describe("no substitute lease", () => {
  it("refuses an engine VM with neither a <lease> nor an exclusive disk, naming its source", () => {
    const conf = vmConfOf("ovf_test.xml");
    const shared = {
      ...conf,
      devices: conf.devices.map((d) => (d.type === "disk" ? { ...d, shared: "false" } : d)),
    };
    let err: unknown;
    try {
      engineLeaseRequests(
        shared,
        ctx("475e7578-33a2-474f-8647-aa46f01200f9", "OVF_STORE vm 50e59bbd"),
      );
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EngineLeaseError);
    expect((err as Error).message).toMatch(
      /^OVF_STORE vm 50e59bbd: .*neither a <lease>.*shared=exclusive/,
    );
  });

  it("refuses an EngineXml without <lease> (its exclusive disk in vm.conf does not count there)", () => {
    const conf = withEngineXmlLease(vmConfOf("ovf_test_v4.2.xml"), "");
    expect(() => engineLeaseRequests(conf, ctx("ce880525-a44b-4248-8b63-d9e11b2f123a"))).toThrow(
      EngineLeaseError,
    );
  });

  it("refuses an exclusive disk without volume ids", () => {
    const conf = vmConfOf("ovf_test.xml");
    const broken = {
      ...conf,
      devices: conf.devices.map((d) =>
        d.type === "disk" && d.device === "disk" ? { ...d, volumeID: "" } : d,
      ),
    };
    expect(() => engineLeaseRequests(broken, ctx("475e7578-33a2-474f-8647-aa46f01200f9"))).toThrow(
      /exclusive disk .* lacks domainID, imageID or volumeID/,
    );
  });

  it("keeps a target the XML already resolved, and refuses a broken one", () => {
    const sd = "ce880525-a44b-4248-8b63-d9e11b2f123a";
    const vol = "3ab9fff0-9aa1-4c2e-ad67-5e25d05cb86e";
    const conf = vmConfOf("ovf_test_v4.2.xml");
    const resolved = withEngineXmlLease(
      conf,
      `<lease><key>${vol}</key><lockspace>${sd}</lockspace><target offset="0" path="/x/${vol}.lease"></target></lease>`,
    );
    expect(engineLeaseRequests(resolved, ctx(sd))[0]).toMatchObject({
      path: `/x/${vol}.lease`,
      offset: 0,
    });
    const broken = withEngineXmlLease(
      conf,
      `<lease><key>${vol}</key><lockspace>${sd}</lockspace><target offset="-4" path=""></target></lease>`,
    );
    expect(() => engineLeaseRequests(broken, ctx(sd))).toThrow(/invalid target/);
  });
});

describe("a VM lease (key = VM uuid) is found through the domain's xleases index", () => {
  let dir: string;
  const sd = "ce880525-a44b-4248-8b63-d9e11b2f123a";
  const vmId = "eccb9cb6-affd-4806-8200-708370581227";
  const vmLease = `<lease><key>${vmId}</key><lockspace>${sd}</lockspace><target offset="LEASE-OFFSET:${vmId}:${sd}" path="LEASE-PATH:${vmId}:${sd}"></target></lease>`;

  beforeAll(async () => {
    dir = await tempDir("engine-lease");
    const xleases = path.join(dir, "dom_md", "xleases");
    await (await import("node:fs/promises")).mkdir(path.dirname(xleases));
    const fh = await open(xleases, "w");
    await fh.truncate(8 * 1024 * 1024);
    await fh.close();
    await writeXleasesIndex(xleases, sd);
    // another VM's lease first, so the engine's is not simply the first slot
    await addXlease(xleases, "11111111-2222-4333-8444-555555555555");
    await addXlease(xleases, vmId);
  });
  afterAll(async () => {
    if (dir) await removeDir(dir);
  });

  it("resolves the second record's slot: offset (3 + 1) MiB of dom_md/xleases", async () => {
    const conf = withEngineXmlLease(vmConfOf("ovf_test_v4.2.xml"), vmLease);
    const leases = await resolveEngineLeases(
      conf,
      { domainDir: dir, sdUUID: sd, vmConfSource: "vm.conf" },
      lookupXlease,
    );
    expect(leases).toEqual([
      expect.objectContaining({
        lockspace: sd,
        resource: vmId,
        path: path.join(dir, "dom_md", "xleases"),
        offset: 4 * 1024 * 1024,
        kind: "vm",
      }),
    ]);
  });

  it("a VM lease missing from the index is an error naming the lease, not an unguarded start", async () => {
    const other = "99999999-2222-4333-8444-555555555555";
    const conf = withEngineXmlLease(vmConfOf("ovf_test_v4.2.xml"), vmLease.replaceAll(vmId, other));
    await expect(
      resolveEngineLeases(
        conf,
        { domainDir: dir, sdUUID: sd, vmConfSource: "vm.conf" },
        lookupXlease,
      ),
    ).rejects.toThrow(new RegExp(`VM lease ${other} of storage domain ${sd}`));
  });
});
