import { describe, expect, it } from "vitest";
import {
  ConfigSyntaxError,
  parseKeyValue,
  readKeyValue,
  splitKeyValue,
} from "../../src/common/keyvalue.js";
import { parseVolumeMeta } from "../../src/storage/volume-meta.js";
import { decodeGlobalBlock } from "../../src/storage/whiteboard/global-block.js";

describe("key=value readers, one module with explicit leniency", () => {
  it("the first = splits; a line without a key is not a pair", () => {
    expect(splitKeyValue("storage=server:/a=b")).toEqual({ key: "storage", value: "server:/a=b" });
    expect(splitKeyValue("=x")).toBeNull();
    expect(splitKeyValue("no pair")).toBeNull();
  });

  it("configuration files: comments, trimming, and a bad line named by file and line", () => {
    const m = parseKeyValue("# header\n host_id = 2 \n\nfqdn=engine.example.com\n", "he.conf");
    expect([...m]).toEqual([
      ["host_id", "2"],
      ["fqdn", "engine.example.com"],
    ]);
    let err: unknown;
    try {
      parseKeyValue("host_id=1\nbroken line\n", "he.conf");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigSyntaxError);
    expect((err as Error).message).toBe('he.conf:2: expected key=value, got "broken line"');
  });

  it("metadata: values byte for byte, no comments, unreadable lines skipped", () => {
    const m = readKeyValue("#KEY= a \nbad\nDESCRIPTION= x \n", {
      comments: false,
      trim: "none",
      badLine: "skip",
    });
    expect([...m]).toEqual([
      ["#KEY", " a "],
      ["DESCRIPTION", " x "],
    ]);
  });

  it("VDSM .meta files stop at EOF", () => {
    expect([...parseVolumeMeta("DESCRIPTION=OVF_STORE\nEOF\nAFTER=1\n")]).toEqual([
      ["DESCRIPTION", "OVF_STORE"],
    ]);
  });

  it("the global block reports a line without a key and keeps reading", () => {
    const buf = Buffer.alloc(4096);
    buf.write("=1\nmaintenance=1");
    const { block, warnings } = decodeGlobalBlock(buf);
    expect(block.maintenance).toBe(true);
    expect(warnings).toEqual(['invalid global metadata line: "=1"']);
  });
});
