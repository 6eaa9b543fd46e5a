import { readFileSync } from "node:fs";
import * as libvirt from "@unraid/libvirt";
import { XMLParser } from "fast-xml-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DomainXmlError, domainXmlFromVmConf } from "../../src/libvirt/domain-xml.js";
import { type EngineLease, engineLeaseRequests } from "../../src/storage/engine-lease.js";
import { ovfToVmConf } from "../../src/storage/ovf/ovf-to-vmconf.js";
import { parseVmConf } from "../../src/storage/ovf/vmconf.js";
import type { VmConf } from "../../src/storage/ovf/vmconf-types.js";
import { OVF_DIR } from "../fixtures/ovf-fixtures.js";

const FIXTURES = OVF_DIR;
const fixtureNames = [
  "ovf_test.xml",
  "ovf_test_max_vcpu.xml",
  "ovf_test_v4.2.xml",
  "ovf_test_v4.2_unsafe.xml",
];
const DOMAIN_DIR = "/rhev/data-center/mnt/server:_he/sd-uuid";

function vmConfOf(fixture: string): VmConf {
  return parseVmConf(ovfToVmConf(readFileSync(`${FIXTURES}/${fixture}`, "utf8")), fixture);
}

/** oVirt's lease of a fixture's engine VM on DOMAIN_DIR (its disk's storage domain) */
function leasesOf(conf: VmConf) {
  const disk = conf.devices.find((d) => d.type === "disk" && d.device === "disk")!;
  return engineLeaseRequests(conf, {
    domainDir: DOMAIN_DIR,
    sdUUID: String(disk.domainID),
    vmConfSource: "test",
  }) as EngineLease[];
}

const parse = (xml: string) =>
  new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: "",
    isArray: (n) => ["disk", "interface", "lease", "controller"].includes(n),
  }).parse(xml);

describe("domain XML from vm.conf, started on libvirt's test driver", () => {
  const hv = new libvirt.Hypervisor({ uri: "test:///default" });
  beforeAll(() => hv.connectOpen());
  afterAll(() => hv.connectClose());

  for (const fixture of fixtureNames) {
    it(`${fixture}: builds a domain the test driver runs with the vm.conf's identity and devices`, async () => {
      const conf = vmConfOf(fixture);
      const [guard] = leasesOf(conf);
      const xml = domainXmlFromVmConf(conf, {
        domainType: "test",
        domainDir: DOMAIN_DIR,
        bridge: "ovirtmgmt",
        leases: leasesOf(conf),
      });
      const doc = parse(xml).domain;
      expect(doc.type).toBe("test");
      expect(doc.uuid).toBe(conf.vmId);
      const disks = doc.devices.disk.filter((d: { device: string }) => d.device === "disk");
      for (const dev of conf.devices.filter((d) => d.type === "disk" && d.device === "disk")) {
        expect(disks.map((d: { source: { file: string } }) => d.source.file)).toContain(
          `${DOMAIN_DIR}/images/${dev.imageID}/${dev.volumeID}`,
        );
      }
      const macs = doc.devices.interface.map((i: { mac: { address: string } }) => i.mac.address);
      for (const dev of conf.devices.filter((d) => d.type === "interface")) {
        expect(macs).toContain(dev.macAddr);
      }
      // oVirt's lease: the engine disk's volume lease in its storage domain's lockspace
      const disk = conf.devices.find((d) => d.type === "disk" && d.device === "disk")!;
      expect(doc.devices.lease).toEqual([
        {
          lockspace: disk.domainID,
          key: disk.volumeID,
          target: {
            path: `${DOMAIN_DIR}/images/${disk.imageID}/${disk.volumeID}.lease`,
            offset: "0",
          },
        },
      ]);
      expect(guard!.resource).toBe(disk.volumeID);
      expect(xml).not.toContain("LEASE-PATH");

      const dom = await hv.domainCreateXML(xml);
      try {
        const info = await dom.getInfo();
        expect(info.state).toBe(libvirt.DomainState.RUNNING);
        expect(info.memory).toBe(conf.memSize * 1024);
        expect(await dom.getUUIDString()).toBe(conf.vmId);
        const live = parse(await dom.getXMLDesc()).domain;
        expect(live.devices.lease[0].key).toBe(disk.volumeID);
        expect(live.devices.interface.length).toBe(macs.length);
      } finally {
        await dom.destroy();
      }
    });
  }

  it("keeps vCPU count, max vCPUs, CPU model and machine type from vm.conf", () => {
    const conf = vmConfOf("ovf_test_max_vcpu.xml");
    const doc = parse(
      domainXmlFromVmConf(conf, { domainType: "kvm", domainDir: DOMAIN_DIR, bridge: "br0" }),
    ).domain;
    expect(doc.type).toBe("kvm");
    expect(doc.vcpu).toMatchObject({ current: "1", "#text": 16 });
    expect(doc.cpu.model).toBe("SandyBridge");
    expect(doc.os.type.machine).toBe("rhel6.5.0");
    expect(doc.devices.interface[0].source.bridge).toBe("br0");
    expect(doc.devices.lease).toBeUndefined();
    expect(doc.devices.rng.backend["#text"]).toBe("/dev/urandom");
    expect(doc.devices.console.type).toBe("pty");
    expect(doc.devices.graphics.type).toBe("spice");
    expect(doc.devices.video.model.type).toBe("cirrus");
    expect(doc.devices.controller.map((c: { type: string }) => c.type)).toEqual([
      "scsi",
      "usb",
      "ide",
      "virtio-serial",
    ]);
  });

  it("uses the engine's own XML when vm.conf has xmlBase64: its <lease> kept, placeholders resolved as VDSM does", () => {
    const conf = vmConfOf("ovf_test_v4.2.xml");
    expect(conf.xmlBase64).toBeTruthy();
    const xml = domainXmlFromVmConf(conf, {
      domainType: "kvm",
      domainDir: DOMAIN_DIR,
      bridge: "ovirtmgmt",
      leases: leasesOf(conf),
    });
    const doc = parse(xml).domain;
    expect(doc.type).toBe("kvm");
    expect(doc["xmlns:ovirt-vm"]).toBe("http://ovirt.org/vm/1.0");
    expect(doc.sysinfo).toBeDefined();
    expect(doc.devices.lease).toEqual([
      {
        key: "3ab9fff0-9aa1-4c2e-ad67-5e25d05cb86e",
        lockspace: "ce880525-a44b-4248-8b63-d9e11b2f123a",
        target: {
          offset: "0",
          path: `${DOMAIN_DIR}/images/69a2b8c2-8d1c-4014-8f75-a85c16bc5b71/3ab9fff0-9aa1-4c2e-ad67-5e25d05cb86e.lease`,
        },
      },
    ]);
    expect(xml).not.toMatch(/LEASE-(PATH|OFFSET)/);
    // a placeholder nobody resolved never reaches libvirt
    expect(() =>
      domainXmlFromVmConf(conf, { domainType: "kvm", domainDir: DOMAIN_DIR, bridge: "b" }),
    ).toThrow(/<lease> ce880525-a44b-4248-8b63-d9e11b2f123a:3ab9fff0-.* is not resolved/);
    const disk = doc.devices.disk.find((d: { device: string }) => d.device === "disk");
    expect(disk.source.file).toBe(
      `${DOMAIN_DIR}/images/69a2b8c2-8d1c-4014-8f75-a85c16bc5b71/3ab9fff0-9aa1-4c2e-ad67-5e25d05cb86e`,
    );
  });

  it("escapes names and values: no markup can be injected through vm.conf", async () => {
    const conf = vmConfOf("ovf_test.xml");
    const evil = `HE</name><on_crash>restart</on_crash><name>x&"'`;
    const xml = domainXmlFromVmConf(
      { ...conf, vmName: evil, cpuType: `a"/><evil attr="` },
      { domainType: "test", domainDir: "/tmp/a&b<c>", bridge: `br"'<>` },
    );
    const doc = parse(xml).domain;
    expect(doc.name).toBe(evil);
    expect(doc.on_crash).toBe("destroy");
    expect(doc.cpu.model).toBe(`a"/><evil attr="`);
    expect(doc.devices.interface[0].source.bridge).toBe(`br"'<>`);
    expect(doc.devices.disk[0].source.file.startsWith("/tmp/a&b<c>/images/")).toBe(true);
  });

  it("refuses a vm.conf without a usable size with a clear error", () => {
    const conf = vmConfOf("ovf_test.xml");
    expect(() =>
      domainXmlFromVmConf(
        { ...conf, memSize: 0 },
        { domainType: "test", domainDir: "/d", bridge: "b" },
      ),
    ).toThrow(DomainXmlError);
    expect(() =>
      domainXmlFromVmConf(
        { ...conf, xmlBase64: Buffer.from("<nodomain/>").toString("base64") },
        { domainType: "test", domainDir: "/d", bridge: "b" },
      ),
    ).toThrow(/no <domain>/);
  });
});
