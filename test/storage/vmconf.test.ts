import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { VmConfError } from "../../src/storage/ovf/errors.js";
import { formatVmConf, parseDeviceLiteral, parseVmConf } from "../../src/storage/ovf/vmconf.js";

const golden = path.join(path.dirname(fileURLToPath(import.meta.url)), "golden");
const read = (name: string) => readFileSync(path.join(golden, `${name}.vm.conf`), "utf8");

describe("parseVmConf", () => {
  it("types the ovf_test vm.conf, devices included", () => {
    const conf = parseVmConf(read("ovf_test"));
    expect(conf.vmId).toBe("50e59bbd-f829-4761-ba1b-6db1a6acc3b8");
    expect(conf.vmName).toBe("HostedEngine");
    expect(conf.memSize).toBe(4096);
    expect(conf.smp).toBe(1);
    expect(conf.maxVCpus).toBeUndefined();
    expect(conf.display).toBe("vnc");
    expect(conf.cpuType).toBe("SandyBridge");
    expect(conf.emulatedMachine).toBe("rhel6.5.0");
    expect(conf.spiceSecureChannels).toBe(
      "smain,sdisplay,sinputs,scursor,splayback,srecord,ssmartcard,susbredir",
    );
    expect(conf.devices).toHaveLength(12);
    expect(conf.devices[1]).toEqual({
      type: "graphics",
      device: "spice",
      deviceId: "546172ad-e415-400b-b079-91a033efd4b1",
      address: null,
    });
    expect(conf.devices[0]!.address).toEqual({
      slot: "0x06",
      bus: "0x00",
      domain: "0x0000",
      type: "pci",
      function: "0x0",
    });
    expect(conf.devices[2]!.path).toBe("");
    expect(conf.devices[4]!.macAddr).toBe("00:16:3e:43:ed:b5");
    expect(conf.devices[10]!.specParams).toEqual({ source: "urandom" });
    expect(conf.devices[11]).toEqual({ type: "console", device: "console" });
  });

  it("keeps xmlBase64 and maxVCpus of a 4.2 OVF", () => {
    const conf = parseVmConf(read("ovf_test_v4.2"));
    expect(conf.maxVCpus).toBe(16);
    expect(Buffer.from(conf.xmlBase64!, "base64").toString("utf8")).toMatch(
      /^<\?xml version='1.0' encoding='UTF-8'\?>\n<domain /,
    );
  });

  for (const name of [
    "ovf_test",
    "ovf_test_max_vcpu",
    "ovf_test_v4.2",
    "ovf_test_v4.2_unsafe",
    "edge_nolease",
  ]) {
    it(`round-trips ${name} byte for byte`, () => {
      const text = read(name);
      expect(formatVmConf(parseVmConf(text))).toBe(text);
    });
  }

  it("ignores the agent's comment header", () => {
    const text = `# Editing the hosted engine VM is only possible via the manager UI\\API\n# This file was generated at Thu Jan  1 00:00:00 1970\n\n${read("ovf_test")}`;
    expect(parseVmConf(text).vmId).toBe("50e59bbd-f829-4761-ba1b-6db1a6acc3b8");
  });

  it("parses nested dicts, lists, empty values and None", () => {
    expect(parseDeviceLiteral("{a:{b:{c:1}},l:[x,{y:2},None],e:,n:None,m:00:16:3e}")).toEqual({
      a: { b: { c: "1" } },
      l: ["x", { y: "2" }, null],
      e: "",
      n: null,
      m: "00:16:3e",
    });
    expect(parseDeviceLiteral("{}")).toEqual({});
  });

  it("reports malformed lines with their number", () => {
    const bad = (text: string, re: RegExp) => {
      expect(() => parseVmConf(text, "x.conf")).toThrow(VmConfError);
      expect(() => parseVmConf(text, "x.conf")).toThrow(re);
    };
    bad(
      "vmId=a\nvmName=b\nmemSize=1\nsmp=1\ndevices={type:disk",
      /^x\.conf:5: devices: expected "}" at column 19, found end of line/,
    );
    bad(
      "vmId=a\nvmName=b\nmemSize=1\nsmp=1\ndevices={a:b}junk",
      /x\.conf:5: .*unexpected text after the dict/,
    );
    bad("vmId=a\nno equals sign\n", /x\.conf:2: expected key=value/);
    bad("vmName=b\nmemSize=1\nsmp=1\n", /vmId is missing/);
    bad("vmId=a\nvmName=b\nmemSize=lots\nsmp=1\n", /memSize="lots" is not a non-negative integer/);
  });
});
