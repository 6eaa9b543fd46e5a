import { describe, expect, it } from "vitest";
import {
  decodeGlobalBlock,
  decodeHostBlock,
  decodeSegments,
  decodeWhiteboard,
  encodeGlobalBlock,
  encodeHostBlock,
  type HostBlockInput,
  pythonCtime,
  pythonJson,
  SEGMENT_COUNT,
  SEGMENT_SIZE,
  WhiteboardEncodeError,
} from "../../src/storage/whiteboard/index.js";
import {
  EXAMPLE_FIELDS,
  SPEC_EXAMPLE_LINE,
  segmentFromFields,
  specExampleInput,
} from "./whiteboard-blocks.js";

function firstLine(seg: Buffer): string {
  const nul = seg.indexOf(0);
  return seg.toString("utf8", 0, nul === -1 || nul > 512 ? 512 : nul);
}

function errorOf(seg: Buffer, id: number) {
  const r = decodeHostBlock(seg, id);
  if (r === undefined || r.ok) throw new Error(`expected an error, got ${JSON.stringify(r)}`);
  return r.error;
}

function blockOf(seg: Buffer, id: number) {
  const r = decodeHostBlock(seg, id);
  if (r === undefined || !r.ok) throw new Error(`expected a block, got ${JSON.stringify(r)}`);
  return r.block;
}

describe("encodeHostBlock", () => {
  it("writes the behaviour.md §3 example line byte for byte, NUL-padded to 512", () => {
    const seg = encodeHostBlock(specExampleInput());
    expect(seg.length).toBe(SEGMENT_SIZE);
    expect(firstLine(seg)).toBe(SPEC_EXAMPLE_LINE);
    expect(seg.subarray(SPEC_EXAMPLE_LINE.length, 512).every((b) => b === 0)).toBe(true);
  });

  it("writes the human-readable part from byte 512 with ctime and sorted state keys", () => {
    const seg = encodeHostBlock(
      specExampleInput({ timeEpoch: 1_700_000_000 - 12345, vmConfRefreshTimeEpoch: 100 }),
    );
    const end = seg.indexOf(0, 512);
    const text = seg.toString("utf8", 512, end);
    expect(text).toBe(
      [
        "metadata_parse_version=1",
        "metadata_feature_version=1",
        `timestamp=12345 (${pythonCtime(1_700_000_000)})`,
        "host-id=2",
        "score=3400",
        `vm_conf_refresh_time=12000 (${pythonCtime(12100)})`,
        "conf_on_shared_storage=True",
        "maintenance=False",
        "state=EngineUp",
        "stopped=False",
        "",
      ].join("\n"),
    );
    expect(seg.subarray(end).every((b) => b === 0)).toBe(true);
  });

  it("sorts state keys whatever their insertion order", () => {
    const seg = encodeHostBlock(
      specExampleInput({
        stateExtra: { timeout: "x", state: "EngineStart", maintenance: "False" },
      }),
    );
    const text = seg.toString("utf8", 512, seg.indexOf(0, 512));
    expect(text.endsWith("maintenance=False\nstate=EngineStart\ntimeout=x\n")).toBe(true);
  });

  it("writes maintenance, stopped and conf flags as 1/0 and a reason in the engine status", () => {
    const seg = encodeHostBlock(
      specExampleInput({
        maintenance: true,
        stopped: true,
        confOnSharedStorage: false,
        engineStatus: {
          vm: "down",
          health: "bad",
          detail: "unknown",
          reason: "vm not running on this host",
        },
      }),
    );
    const f = firstLine(seg).split("|");
    expect(f[5]).toBe(
      '{"vm": "down", "health": "bad", "detail": "unknown", "reason": "vm not running on this host"}',
    );
    expect([f[7], f[8], f[10]]).toEqual(["1", "1", "0"]);
  });

  it("refuses a first line longer than 512 bytes with a typed error naming the host", () => {
    const ok = encodeHostBlock(
      specExampleInput({ hostname: "h".repeat(512 - SPEC_EXAMPLE_LINE.length + 17) }),
    );
    expect(firstLine(ok).length).toBe(512);
    let err: unknown;
    try {
      encodeHostBlock(specExampleInput({ hostname: "h".repeat(600) }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WhiteboardEncodeError);
    expect((err as WhiteboardEncodeError).kind).toBe("first-line-too-long");
    expect((err as WhiteboardEncodeError).hostId).toBe(2);
  });

  it("refuses a human-readable part that would overflow the 4096-byte segment", () => {
    expect(() =>
      encodeHostBlock(specExampleInput({ stateExtra: { state: "x".repeat(4000) } })),
    ).toThrow(expect.objectContaining({ kind: "extra-too-long" }));
  });

  it("refuses values that would break the framing other hosts parse", () => {
    const bad: Array<Partial<HostBlockInput>> = [
      { hostname: "a|b" },
      { hostname: "a\nb" },
      { hostId: 0 },
      { hostId: 2001 },
      { score: 1.5 },
      { timestamp: Number.NaN },
      { stateExtra: { "a=b": "x" } },
      { stateExtra: { state: "two\nlines" } },
    ];
    for (const over of bad) {
      expect(() => encodeHostBlock(specExampleInput(over)), JSON.stringify(over)).toThrow(
        WhiteboardEncodeError,
      );
    }
  });

  it("escapes a | inside the engine status so the line still splits into 12 fields", () => {
    const seg = encodeHostBlock(
      specExampleInput({ engineStatus: { vm: "up", health: "bad", detail: "a|b", reason: "x|y" } }),
    );
    expect(firstLine(seg).split("|")).toHaveLength(12);
    expect(blockOf(seg, 2).engineStatus).toEqual({
      vm: "up",
      health: "bad",
      detail: "a|b",
      reason: "x|y",
    });
  });
});

describe("pythonJson", () => {
  it("uses Python's default separators and keeps key order", () => {
    expect(pythonJson({ vm: "up", health: "good", detail: "Up" })).toBe(
      '{"vm": "up", "health": "good", "detail": "Up"}',
    );
    expect(pythonJson({ b: [1, 2, { c: null }], a: true, z: false })).toBe(
      '{"b": [1, 2, {"c": null}], "a": true, "z": false}',
    );
    expect(pythonJson({})).toBe("{}");
    expect(pythonJson([])).toBe("[]");
  });

  it("escapes non-ASCII and control characters like ensure_ascii", () => {
    expect(pythonJson("Žluťoučký 🐎")).toBe('"\\u017dlu\\u0165ou\\u010dk\\u00fd \\ud83d\\udc0e"');
    expect(pythonJson('q"b\\n\n\t\u0001\u007f')).toBe('"q\\"b\\\\n\\n\\t\\u0001\\u007f"');
  });

  it("leaves out undefined properties", () => {
    expect(pythonJson({ vm: "up", reason: undefined })).toBe('{"vm": "up"}');
  });
});

describe("pythonCtime", () => {
  it("formats like time.ctime with a space-padded day", () => {
    const prev = process.env.TZ;
    process.env.TZ = "UTC";
    try {
      expect(pythonCtime(0)).toBe("Thu Jan  1 00:00:00 1970");
      expect(pythonCtime(1_700_000_000.9)).toBe("Tue Nov 14 22:13:20 2023");
    } finally {
      process.env.TZ = prev;
    }
  });
});

describe("decodeHostBlock", () => {
  it("decodes the §3 example with every field", () => {
    const b = blockOf(segmentFromFields(EXAMPLE_FIELDS, { keepCrc: true }), 2);
    expect(b).toEqual({
      parseVersion: 1,
      featureVersion: 1,
      timestamp: 12345,
      hostId: 2,
      score: 3400,
      engineStatusRaw: '{"vm": "up", "health": "good", "detail": "Up"}',
      engineStatus: { vm: "up", health: "good", detail: "Up" },
      hostname: "host2.example.com",
      maintenance: false,
      stopped: false,
      crc32: "c768ad70",
      confOnSharedStorage: true,
      vmConfRefreshTime: 12000,
      extra: {},
    });
  });

  it("round-trips what encodeHostBlock writes, extra part included", () => {
    const input = specExampleInput({
      hostId: 1999,
      timestamp: 987654,
      score: 0,
      maintenance: true,
      stopped: true,
      confOnSharedStorage: false,
      vmConfRefreshTime: 5,
      hostname: "ñandú.example.com",
      engineStatus: {
        vm: "down_unexpected",
        health: "bad",
        detail: "Down",
        reason: "bad vm status",
      },
      stateExtra: { maintenance: "True", state: "LocalMaintenance", stopped: "True" },
    });
    const b = blockOf(encodeHostBlock(input), 1999);
    expect(b).toMatchObject({
      hostId: 1999,
      timestamp: 987654,
      score: 0,
      maintenance: true,
      stopped: true,
      confOnSharedStorage: false,
      vmConfRefreshTime: 5,
      hostname: "ñandú.example.com",
      engineStatus: input.engineStatus,
    });
    expect(b.extra).toMatchObject({
      "host-id": "1999",
      score: "0",
      conf_on_shared_storage: "False",
      maintenance: "True",
      state: "LocalMaintenance",
      stopped: "True",
    });
    expect(b.extra.timestamp).toMatch(/^987654 \(\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\)$/);
  });

  it("exposes the extra part through JSON, spreads and assignment like a plain property", () => {
    const b = blockOf(encodeHostBlock(specExampleInput()), 2);
    expect(JSON.parse(JSON.stringify(b)).extra.state).toBe("EngineUp");
    expect({ ...b }.extra["host-id"]).toBe("2");
    expect(Object.keys(b)).toContain("extra");
    b.extra = { state: "Replaced" };
    expect(b.extra).toEqual({ state: "Replaced" });
  });

  it("treats an empty segment (first byte NUL) as absent, not as an error", () => {
    expect(decodeHostBlock(Buffer.alloc(4096), 3)).toBeUndefined();
    expect(decodeHostBlock(Buffer.alloc(0), 3)).toBeUndefined();
  });

  it("accepts blocks of older writers with 7, 8, 9, 10 and 11 fields", () => {
    const f7 = EXAMPLE_FIELDS.slice(0, 7);
    const b7 = blockOf(segmentFromFields(f7), 2);
    expect(b7).toMatchObject({
      score: 3400,
      hostname: "host2.example.com",
      maintenance: false,
      stopped: false,
    });
    expect(b7).toMatchObject({ crc32: "", confOnSharedStorage: false, vmConfRefreshTime: 0 });

    expect(blockOf(segmentFromFields([...f7, "1"]), 2)).toMatchObject({
      maintenance: true,
      stopped: false,
    });
    expect(blockOf(segmentFromFields([...f7, "0", "1"]), 2)).toMatchObject({
      maintenance: false,
      stopped: true,
    });

    const b10 = blockOf(segmentFromFields([...f7, "1", "1", "x"]), 2);
    expect(b10.crc32).toMatch(/^[0-9a-f]{8}$/);
    expect(b10).toMatchObject({
      maintenance: true,
      stopped: true,
      confOnSharedStorage: false,
      vmConfRefreshTime: 0,
    });

    const b11 = blockOf(segmentFromFields([...f7, "0", "0", "x", "1"]), 2);
    expect(b11).toMatchObject({ confOnSharedStorage: false, vmConfRefreshTime: 0 });
  });

  it("reports a wrong CRC as bad-crc with the host id", () => {
    const f = [...EXAMPLE_FIELDS];
    f[4] = "2400";
    const e = errorOf(segmentFromFields(f, { keepCrc: true }), 2);
    expect(e).toMatchObject({ kind: "bad-crc", hostId: 2 });
    expect(e.reason).toContain("c768ad70");
    const upper = [...EXAMPLE_FIELDS];
    upper[9] = "C768AD70";
    expect(errorOf(segmentFromFields(upper, { keepCrc: true }), 2).kind).toBe("bad-crc");
  });

  it("reports a block whose host id field differs from its segment as id-mismatch", () => {
    const seg = segmentFromFields(EXAMPLE_FIELDS, { keepCrc: true });
    expect(errorOf(seg, 5)).toMatchObject({ kind: "id-mismatch", hostId: 5 });
    const f = [...EXAMPLE_FIELDS];
    f[3] = "two";
    expect(errorOf(segmentFromFields(f), 2).kind).toBe("id-mismatch");
  });

  it("reports a too-new parse version as too-new", () => {
    const f = [...EXAMPLE_FIELDS];
    f[0] = "2";
    f[1] = "2";
    expect(errorOf(segmentFromFields(f), 2)).toMatchObject({ kind: "too-new", hostId: 2 });
    // the leading digits decide, before anything else is checked
    expect(errorOf(segmentFromFields(["17abc"]), 4).kind).toBe("too-new");
  });

  it("reports a feature version below our parse version as too-old", () => {
    const f = [...EXAMPLE_FIELDS];
    f[0] = "0";
    f[1] = "0";
    expect(errorOf(segmentFromFields(f), 2)).toMatchObject({ kind: "too-old", hostId: 2 });
  });

  it("reports malformed blocks: short, no version, too few fields, non-integers", () => {
    const short = Buffer.from(SPEC_EXAMPLE_LINE);
    expect(errorOf(short, 2)).toMatchObject({ kind: "malformed", hostId: 2 });
    expect(errorOf(segmentFromFields(["x", "1"]), 2).kind).toBe("malformed");
    expect(errorOf(segmentFromFields(EXAMPLE_FIELDS.slice(0, 6)), 2).reason).toContain("6 of 7");
    for (const i of [1, 2, 4, 7, 8, 10, 11]) {
      const f = [...EXAMPLE_FIELDS];
      f[i] = "nope";
      expect(errorOf(segmentFromFields(f), 2).kind, `field ${i + 1}`).toBe("malformed");
    }
  });

  it("accepts Python int() spellings in numeric fields", () => {
    const f = [...EXAMPLE_FIELDS];
    f[2] = " 12_345 ";
    f[4] = "+3400";
    expect(blockOf(segmentFromFields(f), 2)).toMatchObject({ timestamp: 12345, score: 3400 });
  });

  it("reports invalid UTF-8 as not-utf8", () => {
    const seg = segmentFromFields(EXAMPLE_FIELDS, { keepCrc: true });
    seg[40] = 0xff;
    expect(errorOf(seg, 2)).toMatchObject({ kind: "not-utf8", hostId: 2 });
    const tail = segmentFromFields(EXAMPLE_FIELDS, { keepCrc: true });
    tail[4000] = 0xc3; // truncated sequence in the padding
    expect(errorOf(tail, 2).kind).toBe("not-utf8");
  });

  it("keeps a block whose engine status is not JSON, with engineStatus undefined", () => {
    const f = [...EXAMPLE_FIELDS];
    f[5] = "vm-up good-health-status";
    const b = blockOf(segmentFromFields(f), 2);
    expect(b.engineStatus).toBeUndefined();
    expect(b.engineStatusRaw).toBe("vm-up good-health-status");
  });

  it("never throws on random, truncated or hostile segments (fixed seed)", () => {
    let seed = 0x2545f491;
    const rnd = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 2 ** 32;
    };
    const valid = encodeHostBlock(specExampleInput());
    const alphabet = Buffer.from('0123456789|{}":, =\n\0abcxyz_-+\u00ff');
    const kinds = new Set<string>();
    for (let n = 0; n < 3000; n++) {
      let seg: Buffer;
      const mode = n % 4;
      if (mode === 0)
        seg = Buffer.from(
          Array.from({ length: Math.floor(rnd() * 4200) }, () => Math.floor(rnd() * 256)),
        );
      else if (mode === 1) seg = valid.subarray(0, Math.floor(rnd() * 4096));
      else if (mode === 2) {
        seg = Buffer.from(valid);
        for (let k = 0; k < 1 + rnd() * 5; k++)
          seg[Math.floor(rnd() * 200)] = alphabet[Math.floor(rnd() * alphabet.length)]!;
      } else {
        seg = Buffer.alloc(4096);
        const len = Math.floor(rnd() * 600);
        for (let k = 0; k < len; k++) seg[k] = alphabet[Math.floor(rnd() * alphabet.length)]!;
        seg[0] = 0x31;
      }
      const r = decodeHostBlock(seg, 2);
      if (r === undefined) {
        expect(seg.length === 0 || seg[0] === 0).toBe(true);
        continue;
      }
      if (r.ok) {
        expect(r.block.hostId).toBe(2);
        kinds.add("ok");
      } else {
        expect(["malformed", "bad-crc", "too-old", "too-new", "id-mismatch", "not-utf8"]).toContain(
          r.error.kind,
        );
        expect(r.error.hostId).toBe(2);
        expect(typeof r.error.reason).toBe("string");
        kinds.add(r.error.kind);
      }
    }
    expect(kinds.has("malformed") && kinds.has("bad-crc") && kinds.has("not-utf8")).toBe(true);
  });
});

describe("global block", () => {
  it("encodes maintenance as 1/0 and keeps unknown keys, NUL-padded to 4096", () => {
    const buf = encodeGlobalBlock({ maintenance: true, unknown: { future: "x=y" } });
    expect(buf.length).toBe(4096);
    expect(buf.toString("utf8", 0, buf.indexOf(0))).toBe("maintenance=1\nfuture=x=y");
    expect(encodeGlobalBlock({ maintenance: false, unknown: {} }).toString("utf8", 0, 13)).toBe(
      "maintenance=0",
    );
  });

  it("round-trips and reports unknown keys as warnings without losing them", () => {
    const { block, warnings } = decodeGlobalBlock(
      encodeGlobalBlock({ maintenance: true, unknown: { future: "1", other: "b" } }),
    );
    expect(block).toEqual({ maintenance: true, unknown: { future: "1", other: "b" } });
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain("future");
  });

  it("reads maintenance like Python's to_bool and warns on bad lines", () => {
    const seg = (text: string) => {
      const b = Buffer.alloc(4096);
      b.write(text);
      return b;
    };
    expect(decodeGlobalBlock(seg("maintenance=True")).block.maintenance).toBe(true);
    expect(decodeGlobalBlock(seg("maintenance=yes\n")).block.maintenance).toBe(true);
    expect(decodeGlobalBlock(seg("maintenance=0")).block.maintenance).toBe(false);
    const bad = decodeGlobalBlock(seg("maintenance=maybe\nnoequals"));
    expect(bad.block.maintenance).toBe(false);
    expect(bad.warnings).toHaveLength(2);
    expect(decodeGlobalBlock(Buffer.from("maintenance=1")).warnings[0]).toContain("13 of 4096");
  });

  it("drops lines it could not write back, so re-encoding a decoded block never fails", () => {
    const b = Buffer.alloc(4096);
    b.write("=nokey\nmaintenance=1\nbad\0key=1\nkept=yes");
    const { block, warnings } = decodeGlobalBlock(b);
    expect(block).toEqual({ maintenance: true, unknown: { kept: "yes" } });
    expect(warnings).toHaveLength(3);
    expect(encodeGlobalBlock(block).toString("utf8", 0, 24)).toBe("maintenance=1\nkept=yes\0\0");
  });
});

describe("decodeWhiteboard", () => {
  it("decodes every segment, reporting bad ones per host without hiding the others", () => {
    const buf = Buffer.alloc(SEGMENT_COUNT * SEGMENT_SIZE);
    encodeGlobalBlock({ maintenance: true, unknown: {} }).copy(buf, 0);
    for (const id of [1, 3, 2000])
      encodeHostBlock(specExampleInput({ hostId: id })).copy(buf, id * 4096);
    const bad = encodeHostBlock(specExampleInput({ hostId: 4 }));
    bad[20] = 0x39; // breaks the CRC
    bad.copy(buf, 4 * 4096);
    encodeHostBlock(specExampleInput({ hostId: 6 })).copy(buf, 5 * 4096); // wrong segment
    const newer = segmentFromFields(["2", "2", "1", "7", "1", "{}", "h"]);
    newer.copy(buf, 7 * 4096);

    const s = decodeWhiteboard(buf);
    expect(s.global.maintenance).toBe(true);
    expect([...s.hosts.keys()].sort((a, b) => a - b)).toEqual([1, 3, 2000]);
    expect(s.errors.map((e) => [e.hostId, e.kind])).toEqual([
      [4, "bad-crc"],
      [5, "id-mismatch"],
      [7, "too-new"],
    ]);
    expect(s.tooNew).toBe(true);
  });

  it("agrees with per-segment decoding when UTF-8 breaks inside or across segments", () => {
    const buf = Buffer.alloc(12 * SEGMENT_SIZE);
    for (let id = 1; id < 12; id++)
      encodeHostBlock(specExampleInput({ hostId: id })).copy(buf, id * 4096);
    buf[5 * 4096 + 3000] = 0xff; // invalid byte in host 5's padding
    // host 7 ends with the lead byte of "é" whose continuation is host 8's first byte
    buf[8 * 4096 - 1] = 0xc3;
    buf[8 * 4096] = 0xa9;
    // host 10 holds a complete two-byte character in its extra part: valid
    buf.write("é", 10 * 4096 + 3000, "utf8");
    const s = decodeWhiteboard(buf);
    for (let id = 1; id < 12; id++) {
      const one = decodeHostBlock(buf.subarray(id * 4096, (id + 1) * 4096), id);
      if (one?.ok) expect(s.hosts.get(id), `host ${id}`).toEqual(one.block);
      else
        expect(
          s.errors.find((e) => e.hostId === id),
          `host ${id}`,
        ).toEqual(one?.error);
    }
    expect(s.errors.map((e) => [e.hostId, e.kind])).toEqual([
      [5, "not-utf8"],
      [7, "not-utf8"],
      [8, "not-utf8"],
    ]);
    expect(s.hosts.has(10)).toBe(true);
  });

  it("never throws on random whole reads (fixed seed)", () => {
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let n = 0; n < 40; n++) {
      const buf = Buffer.alloc(Math.floor(rnd() * 20 * 4096));
      for (let i = 0; i < buf.length; i++) buf[i] = rnd() < 0.7 ? 0 : Math.floor(rnd() * 256);
      const s = decodeWhiteboard(buf);
      for (const e of s.errors) expect(e.hostId).toBeGreaterThan(0);
      expect(typeof s.global.maintenance).toBe("boolean");
    }
  });

  it("handles a file shorter than 2001 segments, a partial last segment and an empty one", () => {
    const buf = Buffer.alloc(3 * 4096 + 100);
    encodeHostBlock(specExampleInput({ hostId: 2 })).copy(buf, 2 * 4096);
    buf.write("1|1|", 3 * 4096);
    const s = decodeWhiteboard(buf);
    expect([...s.hosts.keys()]).toEqual([2]);
    expect(s.errors).toEqual([expect.objectContaining({ hostId: 3, kind: "malformed" })]);
    expect(s.global).toEqual({ maintenance: false, unknown: {} });
    expect(decodeWhiteboard(Buffer.alloc(0))).toMatchObject({ errors: [], tooNew: false });
  });
});

describe("decodeSegments", () => {
  it("decodes get_stats segments like the whole read they came from", () => {
    const buf = Buffer.alloc(9 * SEGMENT_SIZE);
    encodeGlobalBlock({ maintenance: true, unknown: {} }).copy(buf, 0);
    for (const id of [1, 3]) encodeHostBlock(specExampleInput({ hostId: id })).copy(buf, id * 4096);
    const bad = encodeHostBlock(specExampleInput({ hostId: 4 }));
    bad[20] = 0x39; // breaks the CRC
    bad.copy(buf, 4 * 4096);
    segmentFromFields(["2", "2", "1", "7", "1", "{}", "h"]).copy(buf, 7 * 4096);
    const segments = new Map<number, Buffer>();
    for (let id = 0; id < 9; id++) segments.set(id, buf.subarray(id * 4096, (id + 1) * 4096));

    const s = decodeSegments(segments);
    expect(s).toEqual(decodeWhiteboard(buf));
    expect([...s.hosts.keys()]).toEqual([1, 3]);
    expect(s.errors.map((e) => [e.hostId, e.kind])).toEqual([
      [4, "bad-crc"],
      [7, "too-new"],
    ]);
    expect(s.tooNew).toBe(true);
    expect(s.global.maintenance).toBe(true);
  });

  it("keeps the default global block when segment 0 is missing or empty", () => {
    const one = encodeHostBlock(specExampleInput({ hostId: 2 }));
    const s = decodeSegments(new Map([[2, one]]));
    expect(s.global).toEqual({ maintenance: false, unknown: {} });
    expect([...s.hosts.keys()]).toEqual([2]);
    expect(decodeSegments(new Map([[0, Buffer.alloc(4096)]]))).toMatchObject({
      hosts: new Map(),
      errors: [],
      tooNew: false,
    });
  });
});
