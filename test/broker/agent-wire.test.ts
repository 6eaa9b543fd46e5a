import http from "node:http";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  AgentWireError,
  COLLECT_PATH,
  decodeCollect,
  PUBLISH_PATH,
  readPublishBody,
} from "../../src/broker/agent-wire.js";
import { BrokerClient } from "../../src/broker/client.js";
import { parseMethodCall } from "../../src/broker/xmlrpc/parse.js";
import { serializeMethodResponse } from "../../src/broker/xmlrpc/serialize.js";
import { removeDir, tempDir } from "../support/temp.js";

describe("the agent's combined requests (agent-wire)", () => {
  it("decodes a collect document: segments as bytes, in host id order", () => {
    const seg1 = Buffer.alloc(4096, 0x31);
    const got = decodeCollect({
      storage: { stale: false, last_read_error: null },
      monitors: [
        { id: "mem-free", value: "1024" },
        { id: "network", value: null },
      ],
      stats: { "1": seg1.toString("base64"), "0": Buffer.from("maintenance=0").toString("base64") },
    });
    expect([...got.stats.keys()]).toEqual([0, 1]);
    expect(got.stats.get(1)!.equals(seg1)).toBe(true);
    expect(got.stats.get(0)!.toString()).toBe("maintenance=0");
    expect(got.monitors).toEqual([
      { id: "mem-free", value: "1024" },
      { id: "network", value: null },
    ]);
  });

  it("refuses a collect document that is not one, naming what is wrong", () => {
    const ok = { storage: { stale: false, last_read_error: null }, monitors: [], stats: {} };
    expect(() => decodeCollect(null)).toThrow(AgentWireError);
    expect(() => decodeCollect({ ...ok, storage: { stale: "no" } })).toThrow(/stale: boolean/);
    expect(() => decodeCollect({ ...ok, monitors: [{ id: 3 }] })).toThrow(/a monitor must be/);
    expect(() => decodeCollect({ ...ok, stats: { x: "AAAA" } })).toThrow(/stats\["x"\]/);
  });

  it("reads a publish body and refuses one that is not base64 or lacks a field", () => {
    const block = Buffer.from("host-id=1\n");
    const got = readPublishBody({ host_id: 1, block: block.toString("base64"), alive: [1, 2] });
    expect(got).toEqual({ hostId: 1, block, alive: [1, 2] });
    expect(() => readPublishBody({ host_id: 1, block: "not base64!", alive: [] })).toThrow(
      /block is not base64/,
    );
    expect(() => readPublishBody({ host_id: "1", block: "", alive: [] })).toThrow(/host_id/);
    expect(() => readPublishBody({ host_id: 1, block: "", alive: ["2"] })).toThrow(/alive/);
  });
});

/**
 * A broker of the version before the combined routes: they answer 404, and the client
 * must fall back to /v1/status, get_stats, put_stats and push_hosts_state.
 */
describe("BrokerClient against a broker without the combined routes", () => {
  let dir: string | undefined;
  let server: http.Server | undefined;
  afterEach(async () => {
    await new Promise((r) => server?.close(r) ?? r(undefined));
    if (dir) await removeDir(dir);
  });

  it("collects and publishes the XML-RPC way, and asks the combined routes only once", async () => {
    dir = await tempDir("agent-wire");
    const socketPath = path.join(dir, "broker.socket");
    const seen: string[] = [];
    const seg1 = Buffer.alloc(4096, 0x41);
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        if (req.url === COLLECT_PATH || req.url === PUBLISH_PATH) {
          seen.push(req.url);
          res.writeHead(404, { "content-type": "application/json" });
          return res.end(JSON.stringify({ error: `no route ${req.method} ${req.url}` }));
        }
        if (req.url === "/v1/status") {
          seen.push("status");
          res.writeHead(200, { "content-type": "application/json" });
          return res.end(
            JSON.stringify({
              storage: { stale: false, last_read_error: null },
              local: { monitors: [{ id: "mem-free", type: "mem-free", options: {}, value: "77" }] },
            }),
          );
        }
        const call = parseMethodCall(Buffer.concat(chunks));
        seen.push(call.method);
        const answer =
          call.method === "get_stats"
            ? serializeMethodResponse({ "1": seg1 })
            : serializeMethodResponse("ok");
        if (call.method === "put_stats")
          expect((call.params[1] as Buffer).toString()).toBe("block of host 1");
        if (call.method === "push_hosts_state") expect(call.params[0]).toEqual([1, 2]);
        res.writeHead(200, { "content-type": "text/xml" });
        res.end(answer);
      });
    });
    await new Promise<void>((r) => server!.listen(socketPath, r));
    const client = new BrokerClient(socketPath, { timeoutMs: 5000 });
    try {
      const got = await client.collect();
      expect(got.monitors).toEqual([{ id: "mem-free", value: "77" }]);
      expect(got.stats.get(1)!.equals(seg1)).toBe(true);
      await client.publish(1, Buffer.from("block of host 1"), [1, 2]);
      await client.collect();
      expect(seen).toEqual([
        COLLECT_PATH,
        "status",
        "get_stats",
        "put_stats",
        "push_hosts_state",
        "status",
        "get_stats",
      ]);
    } finally {
      client.close();
    }
  });
});
