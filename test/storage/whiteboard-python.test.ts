import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import {
  decodeHostBlock,
  encodeGlobalBlock,
  encodeHostBlock,
  type HostBlockInput,
} from "../../src/storage/whiteboard/index.js";
import { specExampleInput } from "./whiteboard-blocks.js";

/**
 * A few lines of Python that write and read blocks the way the original agent does
 * (hosted_engine.py `_generate_local_blocks`, lib/metadata.py `parse_metadata_to_dict`,
 * `create_global_metadata_from_dict`): the reference our bytes must match.
 */
const REFERENCE = String.raw`
import binascii, json, sys, time

def write_host(p):
    tokens = [1, 1, p["timestamp"], p["hostId"], p["score"], json.dumps(p["engineStatus"]),
              p["hostname"], 1 if p["maintenance"] else 0, 1 if p["stopped"] else 0,
              "00000000", 1 if p["confOnSharedStorage"] else 0, p["vmConfRefreshTime"]]
    data = "|".join(str(t) for t in tokens).encode()
    tokens[9] = "%08x" % (binascii.crc32(data) & 0xffffffff)
    data = "|".join(str(t) for t in tokens)
    info = ("metadata_parse_version=1\nmetadata_feature_version=1\n"
            "timestamp={0} ({1})\nhost-id={2}\nscore={3}\n"
            "vm_conf_refresh_time={4} ({5})\nconf_on_shared_storage={6}\n").format(
        p["timestamp"], time.ctime(p["timestamp"] + p.get("timeEpoch", 0)), p["hostId"], p["score"],
        p["vmConfRefreshTime"], time.ctime(p["vmConfRefreshTime"] + p.get("vmConfRefreshTimeEpoch", 0)),
        "True" if p["confOnSharedStorage"] else "False")
    for k, v in sorted(p["stateExtra"].items()):
        info += "{0}={1}\n".format(k, str(v))
    count = int((len(info) + 511) / 512)
    out = data.ljust(512, "\0") + info.ljust(512 * count, "\0")
    return out.encode().ljust(4096, b"\0")

def read_host(host_id, raw):
    data = raw.decode()
    pdata = data[:512].rstrip("\0")
    if int(__import__("re").match(r"\d+", pdata).group()) > 1:
        return {"error": "too new"}
    tokens = pdata.split("|")
    ret = {"host-id": host_id, "host-ts": int(tokens[2]), "score": int(tokens[4]),
           "engine-status": tokens[5], "hostname": tokens[6],
           "maintenance": int(tokens[7]) > 0, "stopped": int(tokens[8]) > 0, "crc32": tokens[9]}
    tokens[9] = "00000000"
    if ret["crc32"] != "%08x" % (binascii.crc32("|".join(tokens).encode()) & 0xffffffff):
        return {"error": "bad crc"}
    ret["conf_on_shared_storage"] = int(tokens[10]) > 0
    ret["local_conf_timestamp"] = int(tokens[11])
    ret["engine-status"] = json.loads(ret["engine-status"])
    ret["extra"] = data[512:].rstrip("\0")
    return ret

def read_global(raw):
    ret = {}
    for token in raw.decode()[:4096].rstrip("\0").split("\n"):
        s = token.split("=", 1)
        if len(s) > 1 and s[0] == "maintenance":
            ret["maintenance"] = s[1][:1].lower() in ("t", "y", "1")
        else:
            ret.setdefault("errors", []).append(token)
    return ret

req = json.load(sys.stdin)
out = {
    "written": [write_host(p).hex() for p in req["write"]],
    "read": [read_host(r["id"], bytes.fromhex(r["hex"])) for r in req["read"]],
    "global": [read_global(bytes.fromhex(h)) for h in req["global"]],
}
json.dump(out, sys.stdout)
`;

interface PythonAnswer {
  written: string[];
  read: Array<Record<string, unknown>>;
  global: Array<Record<string, unknown>>;
}

function python(req: {
  write: HostBlockInput[];
  read: Array<{ id: number; hex: string }>;
  global: string[];
}) {
  const out = execFileSync("python3", ["-c", REFERENCE], {
    input: JSON.stringify(req),
    env: { ...process.env, TZ: "UTC" },
  });
  return JSON.parse(out.toString()) as PythonAnswer;
}

const cases: HostBlockInput[] = [
  specExampleInput(),
  specExampleInput({
    hostId: 7,
    timestamp: 4_000_321,
    score: 1800,
    maintenance: true,
    stopped: true,
    confOnSharedStorage: false,
    vmConfRefreshTime: 3_999_000,
    timeEpoch: 1_763_000_000,
    vmConfRefreshTimeEpoch: 1_763_000_050,
    hostname: "node-7.lab.example.org",
    engineStatus: {
      vm: "down",
      health: "bad",
      detail: "unknown",
      reason: "vm not running on this host",
    },
    stateExtra: {
      maintenance: "True",
      state: "LocalMaintenance",
      stopped: "False",
      timeout: "Mon Jan  5 10:00:00 2026",
    },
  }),
  specExampleInput({
    hostId: 2000,
    timestamp: 0,
    score: 0,
    engineStatus: {
      vm: "up",
      health: "bad",
      detail: "Powering up «ünïcode»",
      reason: "failed liveliness check",
    },
    stateExtra: {},
  }),
];

describe("byte compatibility with the original Python implementation", () => {
  it("writes host blocks byte for byte as the original agent would (ctime, padding, CRC, JSON)", () => {
    const prev = process.env.TZ;
    process.env.TZ = "UTC";
    try {
      const answer = python({ write: cases, read: [], global: [] });
      cases.forEach((c, i) => {
        expect(encodeHostBlock(c).toString("hex"), `case ${i}`).toBe(answer.written[i]);
      });
    } finally {
      process.env.TZ = prev;
    }
  });

  it("decodes blocks the original agent writes, and the original reader accepts ours", () => {
    const answer = python({
      write: cases,
      read: cases.map((c) => ({ id: c.hostId, hex: encodeHostBlock(c).toString("hex") })),
      global: [],
    });
    cases.forEach((c, i) => {
      const r = decodeHostBlock(Buffer.from(answer.written[i]!, "hex"), c.hostId);
      expect(r?.ok, `case ${i}`).toBe(true);
      if (!r?.ok) return;
      expect(r.block).toMatchObject({
        hostId: c.hostId,
        timestamp: c.timestamp,
        score: c.score,
        hostname: c.hostname,
        maintenance: c.maintenance,
        stopped: c.stopped,
        confOnSharedStorage: c.confOnSharedStorage,
        vmConfRefreshTime: c.vmConfRefreshTime,
        engineStatus: c.engineStatus,
      });
      const py = answer.read[i]!;
      expect(py.error).toBeUndefined();
      expect(py).toMatchObject({
        "host-id": c.hostId,
        "host-ts": c.timestamp,
        score: c.score,
        hostname: c.hostname,
        maintenance: c.maintenance,
        stopped: c.stopped,
        conf_on_shared_storage: c.confOnSharedStorage,
        local_conf_timestamp: c.vmConfRefreshTime,
        "engine-status": c.engineStatus,
      });
      expect(String(py.extra)).toContain(`host-id=${c.hostId}\n`);
    });
  });

  it("writes a global block the original reader parses without complaint", () => {
    const answer = python({
      write: [],
      read: [],
      global: [true, false].map((m) =>
        encodeGlobalBlock({ maintenance: m, unknown: {} }).toString("hex"),
      ),
    });
    expect(answer.global).toEqual([{ maintenance: true }, { maintenance: false }]);
  });
});
