import http from "node:http";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  BrokerClient,
  BrokerResponseError,
  BrokerUnreachableError,
} from "../../src/broker/client.js";
import { monitorNumber } from "../../src/broker/metrics.js";
import { ObservedLiveness, PushedHostsState } from "../../src/broker/state/hosts-state.js";
import { ObservedDurations } from "../../src/broker/state/observed-durations.js";
import { nonEmptySegments, padSegment, SegmentSizeError } from "../../src/broker/storage-cycle.js";
import { removeDir, tempDir } from "../support/temp.js";

describe("liveness kept by the broker", () => {
  it("reports the agent's pushed list for hosts_state_ttl seconds, then []", () => {
    const s = new PushedHostsState(60);
    expect(s.alive(0)).toEqual([]);
    s.push([3, 1, 3], 100);
    expect(s.alive(130)).toEqual([1, 3]);
    expect(s.alive(160)).toEqual([1, 3]);
    expect(s.alive(160.5)).toEqual([]);
    expect(s.age(170)).toBe(70);
  });

  it("calls nobody alive before 60 s of history, then those whose timestamp changed within 60 s", () => {
    const l = new ObservedLiveness(60);
    l.observe(
      new Map([
        [1, 10],
        [2, 20],
      ]),
      0,
    );
    l.observe(
      new Map([
        [1, 11],
        [2, 20],
      ]),
      30,
    );
    expect(l.isAlive(1, 30)).toBe(false);
    expect(l.isAlive(1, 60)).toBe(true);
    expect(l.isAlive(2, 60)).toBe(false);
    l.observe(
      new Map([
        [1, 11],
        [2, 20],
        [3, 5],
      ]),
      70,
    );
    expect(l.isAlive(3, 70)).toBe(true);
    expect(l.isAlive(1, 91)).toBe(false);
    l.observe(new Map([[1, 11]]), 95);
    expect(l.isAlive(3, 95)).toBe(false);
  });
});

describe("whiteboard segments", () => {
  it("keeps only segments whose first byte is not NUL, each a whole 4096 bytes", () => {
    const buf = Buffer.alloc(4 * 4096);
    buf.write("maintenance=1", 0);
    buf.write("1|1|5|3|0", 3 * 4096);
    buf[4096 + 1] = 0x41; // first byte NUL: empty even with data after it
    const segs = nonEmptySegments(buf);
    expect([...segs.keys()]).toEqual([0, 3]);
    expect(segs.get(3)!.length).toBe(4096);
  });

  it("copies segments out of the read buffer and reuses unchanged ones", () => {
    const buf = Buffer.alloc(3 * 4096);
    buf.write("maintenance=1", 0);
    buf.write("1|1|5|3|0", 2 * 4096);
    const first = nonEmptySegments(buf);
    // the volume fills the same buffer again on the next read
    buf.write("1|2|6|3|0", 2 * 4096);
    expect(first.get(2)!.toString("latin1", 0, 9)).toBe("1|1|5|3|0");
    const second = nonEmptySegments(buf, first);
    expect(second.get(0)).toBe(first.get(0));
    expect(second.get(2)).not.toBe(first.get(2));
    expect(second.get(2)!.toString("latin1", 0, 9)).toBe("1|2|6|3|0");
    buf.fill(0);
    expect(second.get(2)!.toString("latin1", 0, 9)).toBe("1|2|6|3|0");
  });

  it("pads blocks to a segment and refuses larger ones", () => {
    expect(padSegment(Buffer.from("abc"), 1).length).toBe(4096);
    expect(() => padSegment(Buffer.alloc(4097, 1), 2)).toThrow(SegmentSizeError);
  });
});

describe("monitor values as numbers", () => {
  it("maps the original's strings", () => {
    expect(monitorNumber("0.9")).toBe(0.9);
    expect(monitorNumber("True")).toBe(1);
    expect(monitorNumber("False")).toBe(0);
    expect(monitorNumber("None")).toBeUndefined();
    expect(monitorNumber(null)).toBeUndefined();
    expect(monitorNumber('{"vm": "up", "health": "good", "detail": "Up"}')).toBe(1);
    expect(monitorNumber('{"vm": "down", "health": "bad", "detail": "Down"}')).toBe(0);
    expect(monitorNumber("hello")).toBeUndefined();
  });
});

describe("BrokerClient", () => {
  it("names the socket and the reason when the broker cannot be reached", async () => {
    const c = new BrokerClient("/nonexistent/he-ha/broker.socket", { timeoutMs: 2000 });
    const err = await c.getStats().catch((e: unknown) => e);
    c.close();
    expect(err).toBeInstanceOf(BrokerUnreachableError);
    expect((err as Error).message).toBe(
      "cannot reach ovirt-ha-broker at /nonexistent/he-ha/broker.socket: no socket (is ovirt-ha-broker running?)",
    );
  });

  it("asks for gzip, and names the call when a gzip answer does not decompress", async () => {
    const dir = await tempDir("client-gzip");
    const socketPath = path.join(dir, "broker.socket");
    const seen: Array<string | undefined> = [];
    // a broken broker: says gzip, sends bytes that are not
    const server = http.createServer((req, res) => {
      seen.push(req.headers["accept-encoding"]);
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { "content-type": "text/xml", "content-encoding": "gzip" });
        res.end("this is not gzip");
      });
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    const c = new BrokerClient(socketPath, { timeoutMs: 2000 });
    try {
      const err = await c.getStats().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BrokerResponseError);
      expect((err as Error).message).toMatch(/^POST \/RPC2: bad gzip answer: /);
      expect(seen).toEqual(["gzip"]);
    } finally {
      c.close();
      await new Promise((resolve) => server.close(resolve));
      await removeDir(dir);
    }
  });
});

describe("ObservedDurations: the engine's start and stop as this broker saw them", () => {
  const read = (d: ObservedDurations, now: number, states: Record<number, string>) =>
    d.observe(new Map(Object.entries(states).map(([k, v]) => [Number(k), v])), now);

  it("times EngineStarting → EngineUp and EngineStop → next by its own clock", () => {
    const d = new ObservedDurations();
    read(d, 0, { 1: "EngineDown", 2: "EngineDown" });
    read(d, 10, { 1: "EngineStarting", 2: "EngineDown" });
    read(d, 12.5, { 1: "EngineUp", 2: "EngineDown" });
    read(d, 40, { 1: "EngineStop", 2: "EngineDown" });
    read(d, 43, { 1: "EngineDown", 2: "EngineDown" });
    expect(d.doc(50)).toEqual({
      engine_start_to_up: { seconds: 2.5, from: "EngineStarting", host_id: 1, ended_ago: 37.5 },
      engine_stop: { seconds: 3, from: "EngineStop", host_id: 1, ended_ago: 7 },
    });
  });

  it("a state already there at the first read has no known start: nothing is timed", () => {
    const d = new ObservedDurations();
    read(d, 0, { 1: "EngineStarting" });
    read(d, 1, { 1: "EngineUp" });
    expect(d.doc(2)).toEqual({ engine_start_to_up: null, engine_stop: null });
  });

  it("an EngineStarting block this broker never read is timed from EngineStart", () => {
    const d = new ObservedDurations();
    read(d, 0, { 2: "EngineDown" });
    read(d, 5, { 2: "EngineStart" });
    read(d, 7, { 2: "EngineUp" });
    expect(d.doc(7).engine_start_to_up).toMatchObject({ seconds: 2, from: "EngineStart" });
  });
});
