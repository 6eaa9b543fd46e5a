import { readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArchiveError } from "../../src/storage/archive/errors.js";
import { buildTar } from "../../src/storage/archive/tar.js";
import { volumePath } from "../../src/storage/domain.js";
import { OvfError } from "../../src/storage/ovf/errors.js";
import { ovfToVmConf } from "../../src/storage/ovf/ovf-to-vmconf.js";
import {
  findOvfStoreVolumes,
  readOvfFromStore,
  vmConfFromOvfStore,
} from "../../src/storage/ovf/store.js";
import { ovfStoreDescription, writeVolumeMeta } from "../../src/storage/volume-meta.js";
import { OVF_DIR } from "../fixtures/ovf-fixtures.js";
import { removeDir, tempDir } from "../support/temp.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = OVF_DIR;
const golden = path.join(here, "golden");
const FIXTURES = ["ovf_test", "ovf_test_max_vcpu", "ovf_test_v4.2", "ovf_test_v4.2_unsafe"];
// Crafted variants of the fixtures (odd characters, a NIC without MAC, two CD-ROMs, an
// unknown display type, EngineXml with comments/entities/non-ASCII, EngineXml without
// <lease>); their goldens were produced by the original ovf2VmParams.py with lxml 6.1.
const EDGE = ["edge_values", "edge_enginexml", "edge_nolease"];
const edges = path.join(here, "fixtures", "ovf-edge");

describe("OVF → vm.conf (goldens produced by the original Python code with lxml)", () => {
  for (const name of FIXTURES) {
    it(`converts ${name}.xml byte for byte`, () => {
      const ovf = readFileSync(path.join(fixtures, `${name}.xml`), "utf8");
      const expected = readFileSync(path.join(golden, `${name}.vm.conf`), "utf8");
      expect(ovfToVmConf(ovf)).toBe(expected);
    });
  }
  for (const name of EDGE) {
    it(`converts the crafted ${name}.xml like the original`, () => {
      const ovf = readFileSync(path.join(edges, `${name}.xml`), "utf8");
      const expected = readFileSync(path.join(golden, `${name}.vm.conf`), "utf8");
      expect(ovfToVmConf(ovf)).toBe(expected);
    });
  }
});

const OVF = readFileSync(path.join(fixtures, "ovf_test.xml"), "utf8");
const OVF42 = readFileSync(path.join(fixtures, "ovf_test_v4.2.xml"), "utf8");

function ovfError(text: string): OvfError {
  try {
    ovfToVmConf(text);
  } catch (e) {
    expect(e).toBeInstanceOf(OvfError);
    return e as OvfError;
  }
  throw new Error("conversion did not fail");
}

describe("OVF errors name the element", () => {
  it("malformed XML, with line and column", () => {
    const e = ovfError(OVF.replace("</Content>", ""));
    expect(e.element).toBe("XML");
    expect(e.message).toMatch(/malformed XML at line \d+, column \d+/);
  });

  it("not XML at all", () => {
    expect(ovfError("this is not xml").element).toBe("XML");
  });

  it("undefined entity", () => {
    expect(
      ovfError(OVF.replace("<Name>HostedEngine</Name>", "<Name>&nbsp;</Name>")).message,
    ).toMatch(/undefined entity "&nbsp;"/);
  });

  it("missing OperatingSystemSection id", () => {
    const e = ovfError(
      OVF.replace('xsi:type="ovf:OperatingSystemSection_Type"', 'xsi:type="ovf:Other_Type"'),
    );
    expect(e.element).toContain("OperatingSystemSection_Type");
  });

  it("missing or non-numeric DefaultDisplayType", () => {
    expect(ovfError(OVF.replace(/<DefaultDisplayType>.*?<\/DefaultDisplayType>/, "")).element).toBe(
      "Content/DefaultDisplayType",
    );
    expect(
      ovfError(
        OVF.replace(
          /<DefaultDisplayType>.*?<\/DefaultDisplayType>/,
          "<DefaultDisplayType>qxl</DefaultDisplayType>",
        ),
      ).message,
    ).toMatch(/"qxl" is not an integer/);
  });

  it("missing CPU topology", () => {
    expect(
      ovfError(OVF.replace(/<rasd:num_of_sockets>.*?<\/rasd:num_of_sockets>/, "")).element,
    ).toBe("Content/Section/Item/rasd:num_of_sockets");
  });

  it("missing memory item", () => {
    expect(
      ovfError(
        OVF.replace(
          "<rasd:ResourceType>4</rasd:ResourceType>",
          "<rasd:ResourceType>44</rasd:ResourceType>",
        ),
      ).element,
    ).toMatch(/VirtualQuantity/);
  });

  it("a disk without its volume format", () => {
    expect(ovfError(OVF.replace(' ovf:volume-format="RAW"', "")).element).toBe(
      "Disk/@ovf:volume-format",
    );
  });

  it("an unknown NIC model", () => {
    expect(
      ovfError(
        OVF.replace(
          "<rasd:ResourceSubType>3</rasd:ResourceSubType>",
          "<rasd:ResourceSubType>9</rasd:ResourceSubType>",
        ),
      ).message,
    ).toMatch(/unknown NIC model "9"/);
  });

  it("malformed EngineXml", () => {
    const broken = OVF42.replace("&lt;/name&gt;", "");
    expect(ovfError(broken).element).toBe("EngineXml");
  });
});

describe("OVF_STORE volumes", () => {
  let dir: string;
  const SD = "ce880525-a44b-4248-8b63-d9e11b2f123a";
  const VM = "eccb9cb6-affd-4806-8200-708370581227";
  beforeAll(async () => {
    dir = await tempDir("ovfstore");
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  async function addVolume(
    domain: string,
    img: string,
    vol: string,
    description: string,
    data: Buffer,
  ) {
    const p = volumePath(domain, img, vol);
    await mkdir(path.dirname(p), { recursive: true });
    await writeFile(p, data);
    await writeVolumeMeta(p, {
      domainUUID: SD,
      imageUUID: img,
      description,
      capacity: data.length,
      diskType: "DATA",
    });
    return p;
  }

  it("finds the volumes whose description marks them OVF_STORE and converts the VM's OVF", async () => {
    const domain = path.join(dir, "d1");
    const tar = buildTar([
      { name: "info.json", data: Buffer.from("{}") },
      { name: `${VM}.ovf`, data: Buffer.from(OVF42) },
    ]);
    await addVolume(domain, "aaaa", "v1", "HostedEngineConfigurationImage", Buffer.alloc(1024));
    await addVolume(
      domain,
      "bbbb",
      "v2",
      '{"DiskAlias":"x","Disk Description":"not it"}',
      Buffer.alloc(1024),
    );
    const store = await addVolume(domain, "cccc", "v3", ovfStoreDescription(SD, tar.length), tar);
    await writeFile(
      path.join(domain, "images", "cccc", "v9.meta"),
      "DESCRIPTION={broken json Disk Description}\nEOF\n",
    );
    expect(await findOvfStoreVolumes(domain)).toEqual([
      { imageUUID: "cccc", volumeUUID: "v3", path: store },
    ]);
    expect(await readOvfFromStore(store, VM)).toBe(OVF42);
    const result = await vmConfFromOvfStore(domain, VM);
    expect(result.vmConf).toBe(readFileSync(path.join(golden, "ovf_test_v4.2.vm.conf"), "utf8"));
    expect(result.store.volumeUUID).toBe("v3");
  });

  it("says which store lacks the VM's OVF, and when there is no store at all", async () => {
    const domain = path.join(dir, "d2");
    const tar = buildTar([{ name: "other.ovf", data: Buffer.from(OVF) }]);
    const store = await addVolume(domain, "dddd", "v1", ovfStoreDescription(SD, tar.length), tar);
    await expect(readOvfFromStore(store, VM)).rejects.toThrow(
      `${store}: OVF_STORE has no member "${VM}.ovf"`,
    );
    await expect(vmConfFromOvfStore(domain, VM)).rejects.toBeInstanceOf(ArchiveError);
    await expect(vmConfFromOvfStore(path.join(dir, "empty"), VM)).rejects.toThrow(
      /no OVF_STORE volume found/,
    );
  });
});
