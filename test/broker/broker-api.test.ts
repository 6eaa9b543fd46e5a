import { readdir, stat } from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollFor } from "../../lab/standins/processes.js";
import { SanlockDaemon } from "../../lab/standins/sanlock-daemon.js";
import { DEFAULT_GATE_LIMITS } from "../../src/broker/api/connection-gate.js";
import { groupId } from "../../src/broker/api/unix-socket.js";
import { XmlRpcFault } from "../../src/broker/client.js";
import type { BrokerStatus } from "../../src/broker/status.js";
import { parseMethodResponse } from "../../src/broker/xmlrpc/parse.js";
import { serializeMethodCall } from "../../src/broker/xmlrpc/serialize.js";
import { haPaths } from "../../src/common/paths.js";
import { type BrokerProcess, startBrokerProcess } from "../support/broker-process.js";
import { runTool } from "../support/run.js";
import { removeDir, tempDir } from "../support/temp.js";
import { segmentOnDisk } from "../support/whiteboard.js";
import { hostBlock, makeDomain, makeHostRoot, type TestDomain } from "./broker-harness.js";

const PY_CLIENT = fileURLToPath(new URL("../python/broker_client.py", import.meta.url));

/**
 * A raw HTTP request on the unix socket: what a hostile or sloppy client sends. A server
 * that answers before the body is fully sent and closes is reported as status 0 unless
 * its answer arrived first.
 */
function raw(
  socketPath: string,
  method: string,
  urlPath: string,
  body: string | Buffer,
  type = "text/xml",
) {
  return new Promise<{ status: number; body: string }>((resolve) => {
    let answered: { status: number; body: string } | undefined;
    const req = http.request(
      {
        socketPath,
        method,
        path: urlPath,
        headers: { "content-type": type, "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => {
          text += c.toString();
        });
        res.on("end", () => {
          answered = { status: res.statusCode ?? 0, body: text };
          resolve(answered);
        });
      },
    );
    req.on("error", (e) =>
      resolve(answered ?? { status: 0, body: `connection closed: ${e.message}` }),
    );
    req.end(body);
  });
}

describe("ovirt-ha-broker API over its unix socket", () => {
  let dir: string;
  let domain: TestDomain;
  let sanlock: SanlockDaemon | undefined;
  let broker: BrokerProcess | undefined;
  let socket: string;

  beforeAll(async () => {
    // the socket's group (scripts/setup-host.sh creates it); made here when missing
    if ((await groupId("kvm")) === undefined) {
      expect((await runTool("groupadd", ["-f", "-r", "kvm"])).code).toBe(0);
    }
    dir = await tempDir("broker-api");
    domain = await makeDomain(dir);
    sanlock = await SanlockDaemon.start({ runDir: path.join(dir, "sanlock1"), hostName: "host1" });
    const joined = await sanlock.addLockspace("hosted-engine", 1, domain.lockspace);
    expect(joined.output).toContain("done 0");
    const root = await makeHostRoot(dir, 1, domain, {
      // libvirt's test driver, inside the broker process: its "test" domain runs
      extraConf: { libvirt_uri: "test:///default", fqdn: "engine.invalid" },
    });
    socket = haPaths(root).brokerSocket;
    // a socket file left by a broker that died: bound, never removed, nobody listening
    const stale = await runTool("python3", [
      "-c",
      "import os,socket,sys; os.makedirs(os.path.dirname(sys.argv[1]), exist_ok=True); socket.socket(socket.AF_UNIX).bind(sys.argv[1])",
      socket,
    ]);
    expect(stale.code).toBe(0);
    broker = await startBrokerProcess(root, { env: sanlock.env });
  });

  afterAll(async () => {
    await broker?.stop();
    await sanlock?.stop();
    await removeDir(dir);
  });

  it("replaces a stale socket file and serves on a 0660 socket", async () => {
    const st = await stat(socket);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o660);
    // given to group kvm, which beforeAll made sure exists
    const kvm = await groupId("kvm");
    expect(kvm).toBeTypeOf("number");
    expect(st.gid).toBe(kvm);
    expect(await broker!.log()).toContain("removed stale broker socket");
    // bound under a private name and linked into place: that name is gone again
    const left = await readdir(path.dirname(socket));
    expect(left.filter((f) => f.endsWith(".new"))).toEqual([]);
  });

  it("answers every method to Python's xmlrpc.client connected the way VDSM and hosted-engine connect", async () => {
    const block = hostBlock(1, 1000, 3400);
    const res = await runTool("python3", [PY_CLIENT, socket, "all", block.toString("base64")]);
    expect(res.stderr).toBe("");
    const r = JSON.parse(res.stdout);
    expect(r.start_monitor).toBe("mem-free");
    expect(typeof r.status_monitor).toBe("string");
    expect(r.status_unknown_monitor.faultString).toContain("no-such-monitor");
    expect(r.put_stats).toBe("ok");
    // the put is answered at once, padded to a whole segment, as the original did
    expect(r.get_stats_after_put["1"].length).toBe(4096);
    // like the original (Python's SimpleXMLRPCRequestHandler): gzip above 1400 bytes
    // for a client that asks for it, as xmlrpc.client does; short answers stay plain
    expect(r.get_stats_encoding).toBe("gzip");
    expect(r.is_host_alive_encoding).toBe("identity");
    expect(r.get_stats_after_put["1"].first_line).toBe(
      block.subarray(0, 512).toString().replace(/\0+$/, ""),
    );
    expect(r.set_global_maintenance).toBe("ok");
    expect(r.get_stats_after_global["0"].lines).toEqual(["maintenance=True"]);
    expect(r.get_stats_after_global["0"].length).toBe(4096);
    expect(r.is_host_alive_before_push).toEqual([]);
    expect(r.push_hosts_state).toBe("ok");
    expect(r.is_host_alive).toEqual([1, 2]);
    expect(r.notify).toBe("ignored");
    expect(r.lock_host_id).toEqual({ result: "ok" });
    expect(r.start_domain_monitor).toBe("ok");
    expect(r.stop_domain_monitor).toBe("ok");
    expect(r.release_host_id).toBe("ok");
    expect(r.unknown_method.faultString).toContain('"no_such_method" is not supported');
    expect(r.wrong_types.faultString).toContain("put_stats");
    expect(r.i8_host_id.faultString).toContain("1099511627776");
    expect(r.wrong_arity.faultString).toContain("takes 0 argument");
    expect(r.stop_monitor).toBe("ok");
    expect(r.still_serving).toEqual(["0", "1"]);

    // the Python client's global block reads back as global maintenance
    const status = await broker!.client.status();
    expect(status.global_maintenance).toBe(true);
    const cleared = JSON.parse(
      (await runTool("python3", [PY_CLIENT, socket, "clear-global"])).stdout,
    );
    expect(cleared.set_global_maintenance).toBe("ok");
    expect(cleared.get_stats["0"].lines).toEqual(["maintenance=False"]);
    expect((await broker!.client.status()).global_maintenance).toBe(false);
  });

  it("writes this host's block to its own segment of the metadata volume", async () => {
    const block = hostBlock(1, 2000, 3000);
    await broker!.client.putStats(1, block);
    const onDisk = await pollFor("segment 1 on storage", async () => {
      const seg = await segmentOnDisk(domain.metadata, 1);
      return seg.subarray(0, block.length).equals(block) ? seg : undefined;
    });
    expect(onDisk.subarray(block.length).every((b) => b === 0)).toBe(true);
    expect((await segmentOnDisk(domain.metadata, 2)).every((b) => b === 0)).toBe(true);
    const status = await pollFor("status shows score 3000", async () => {
      const s = await broker!.client.status();
      return s.local.score === 3000 && s.storage.pending_host_ids.length === 0 ? s : undefined;
    });
    expect(status.local.lease_held).toBe(true);
    expect(status.hosts.map((h) => [h.host_id, h.hostname, h.score, h.state])).toEqual([
      [1, "host1.example.com", 3000, "EngineDown"],
    ]);
    expect(status.hosts[0]!.engine_status).toEqual({
      vm: "down",
      health: "bad",
      detail: "unknown",
      reason: "vm not running on this host",
    });
  });

  it("serves the Node client: stats, liveness, monitors, maintenance and lockspace", async () => {
    const c = broker!.client;
    const stats = await c.getStats();
    expect([...stats.keys()]).toEqual([0, 1]);
    expect(stats.get(1)!.length).toBe(4096);
    await c.pushHostsState([2, 1]);
    expect(await c.isHostAlive()).toEqual([1, 2]);
    expect(await c.startMonitor("mem-free")).toBe("mem-free");
    const value = await pollFor("mem-free value", async () => {
      const v = await c.statusMonitor("mem-free");
      return v === "None" ? undefined : v;
    });
    expect(Number(value)).toBeGreaterThan(0);
    expect((await c.monitors()).map((m) => [m.id, m.value])).toEqual([["mem-free", value]]);
    expect(await c.notify("state_transition", "EngineUp-EngineStop")).toBe("ignored");
    await expect(c.stopMonitor("cpu-load")).rejects.toBeInstanceOf(XmlRpcFault);
    await expect(c.putStats(7, hostBlock(7, 1))).rejects.toThrow(
      /this broker writes only segment 1/,
    );
    await expect(c.putStats(1, Buffer.alloc(5000, 0x41))).rejects.toThrow(/5000 bytes/);

    const on = await c.setGlobalMaintenance(true);
    expect(on).toEqual({ global_maintenance: true, written: true, error: null });
    expect((await segmentOnDisk(domain.metadata, 0)).toString().replace(/\0+$/, "")).toBe(
      "maintenance=1",
    );
    expect((await c.status()).global_maintenance).toBe(true);
    expect((await c.setGlobalMaintenance(false)).written).toBe(true);
    expect((await c.status()).global_maintenance).toBe(false);
    await expect(c.putJson("/v1/maintenance", { global: "yes" })).rejects.toThrow(/global/);
  });

  it("answers the agent's loop in two requests: collect as /v1/status and get_stats, publish as put_stats and push_hosts_state", async () => {
    const c = broker!.client;
    expect(await c.startMonitor("mem-free")).toBe("mem-free");
    await pollFor("mem-free value", async () =>
      (await c.statusMonitor("mem-free")) === "None" ? undefined : true,
    );
    const got = await c.collect();
    const status = await c.status();
    expect(got.storage).toEqual({
      stale: status.storage.stale,
      last_read_error: status.storage.last_read_error,
    });
    expect(got.monitors).toEqual(status.local.monitors.map((m) => ({ id: m.id, value: m.value })));
    expect(got.monitors.map((m) => m.id)).toContain("mem-free");
    const stats = await c.getStats();
    expect([...got.stats.keys()]).toEqual([...stats.keys()]);
    for (const [id, seg] of stats)
      expect(got.stats.get(id)!.equals(seg), `segment ${id}`).toBe(true);

    // this host's block as an earlier test wrote it: put back at the end, as later tests expect it
    const earlier = stats.get(1)!;
    const block = hostBlock(1, 2);
    await c.publish(1, block, [1, 3]);
    expect(await c.isHostAlive()).toEqual([1, 3]);
    expect((await c.collect()).stats.get(1)!.equals(block)).toBe(true);
    await pollFor("the published block on storage", async () =>
      (await segmentOnDisk(domain.metadata, 1)).equals(block) ? true : undefined,
    );

    // what put_stats and push_hosts_state refuse, refused the same way, and nothing changed
    await expect(c.publish(7, hostBlock(7, 1), [1])).rejects.toThrow(
      /this broker writes only segment 1/,
    );
    await expect(c.publish(1, Buffer.alloc(5000, 0x41), [1])).rejects.toThrow(/5000 bytes/);
    await expect(c.publish(1, block, [0])).rejects.toThrow(/push_hosts_state: host id 0/);
    const bad = await raw(
      socket,
      "POST",
      "/v1/agent/publish",
      '{"host_id": 1}',
      "application/json",
    );
    expect(bad.status).toBe(400);
    expect(bad.body).toMatch(/expected a JSON body/);
    expect(await c.isHostAlive()).toEqual([1, 3]);
    await c.publish(1, earlier, [1, 3]);
    await pollFor("the earlier block back on storage", async () =>
      (await segmentOnDisk(domain.metadata, 1)).equals(earlier) ? true : undefined,
    );
  });

  it("gzips get_stats only for a client that accepts gzip, and the bytes decode to the plain answer", async () => {
    const call = serializeMethodCall("get_stats", []);
    const ask = (acceptEncoding?: string) =>
      new Promise<{ encoding: string; vary: string; body: Buffer }>((resolve, reject) => {
        const headers: Record<string, string | number> = {
          "content-type": "text/xml",
          "content-length": Buffer.byteLength(call),
        };
        if (acceptEncoding !== undefined) headers["accept-encoding"] = acceptEncoding;
        const req = http.request({ socketPath: socket, method: "POST", path: "/RPC2", headers });
        req.on("response", (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            resolve({
              encoding: String(res.headers["content-encoding"] ?? "identity"),
              vary: String(res.headers.vary ?? ""),
              body: Buffer.concat(chunks),
            }),
          );
        });
        req.on("error", reject);
        req.end(call);
      });
    const plain = await ask();
    expect(plain.encoding).toBe("identity");
    expect(plain.vary).toBe("Accept-Encoding");
    // two segments (global and host 1) of 4096 bytes, base64 in XML
    expect(plain.body.length).toBeGreaterThan(2 * 4096);
    for (const refused of ["gzip;q=0", "deflate", "br, identity", "*"]) {
      expect((await ask(refused)).encoding, refused).toBe("identity");
    }
    for (const accepted of ["gzip", "deflate, gzip;q=0.5", "GZIP"]) {
      const gz = await ask(accepted);
      expect(gz.encoding, accepted).toBe("gzip");
      expect(gunzipSync(gz.body).equals(plain.body)).toBe(true);
      expect(gz.body.length).toBeLessThan(plain.body.length / 4);
    }
    expect(parseMethodResponse(plain.body)).toEqual(
      parseMethodResponse(gunzipSync((await ask("gzip")).body)),
    );
  });

  it("runs the engine-health monitor against libvirt", async () => {
    const c = broker!.client;
    const id = await c.startMonitor("engine-health", {
      vm_uuid: "6695eb01-f6a4-8304-79aa-97f2502e193f",
      address: "engine.invalid",
      health_timeout: "2",
    });
    const value = await pollFor("engine-health value", async () => {
      const v = await c.statusMonitor(id);
      return v === "None" ? undefined : v;
    });
    // the VM runs here, and the engine's health page cannot be reached
    expect(JSON.parse(value)).toMatchObject({ vm: "up", health: "bad" });
    await c.stopMonitor(id);
  });

  it("exports metrics equal to what /v1/status shows", async () => {
    const c = broker!.client;
    await c.pushHostsState([1]);
    const status: BrokerStatus = await c.status();
    const text = await c.metricsText();
    const metric = (name: string, labels = "") => {
      const line = text
        .split("\n")
        .find((l) => l.startsWith(`${name}${labels} `) || l.startsWith(`${name}${labels}{`));
      return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
    };
    const host = status.hosts.find((h) => h.host_id === 1)!;
    const hl = `{host_id="1",hostname="${host.hostname}"}`;
    expect(metric("ovirt_ha_host_score", hl)).toBe(host.score);
    expect(metric("ovirt_ha_host_alive", hl)).toBe(host.alive ? 1 : 0);
    expect(host.alive).toBe(true);
    expect(metric("ovirt_ha_host_engine_vm_up", hl)).toBe(0);
    expect(metric("ovirt_ha_host_engine_health_good", hl)).toBe(0);
    expect(metric("ovirt_ha_host_local_maintenance", hl)).toBe(0);
    expect(
      metric(
        "ovirt_ha_host_agent_state",
        `{host_id="1",hostname="${host.hostname}",state="${host.state}"}`,
      ),
    ).toBe(1);
    expect(metric("ovirt_ha_global_maintenance")).toBe(status.global_maintenance ? 1 : 0);
    expect(metric("ovirt_ha_local_score", '{host_id="1"}')).toBe(status.local.score);
    expect(metric("ovirt_ha_lockspace_held", '{host_id="1"}')).toBe(1);
    expect(metric("ovirt_ha_storage_errors_total", '{operation="read"}')).toBe(
      status.storage.read_errors_total,
    );
    expect(metric("ovirt_ha_storage_writes_refused_total")).toBe(
      status.storage.writes_refused_total,
    );
    for (const m of status.local.monitors) {
      if (m.type === "mem-free") {
        expect(metric("ovirt_ha_memory_free_bytes")).toBe(Number(m.value) * 1024 * 1024);
        continue;
      }
      expect(metric("ovirt_ha_monitor_value", `{monitor="${m.id}",type="${m.type}"}`)).toBe(
        Number(m.value),
      );
    }
    expect(metric("ovirt_ha_storage_read_duration_seconds_count")).toBeGreaterThan(0);
    expect(metric("ovirt_ha_storage_write_duration_seconds_count")).toBeGreaterThan(0);
    expect(metric("ovirt_ha_notifications_sent_total")).toBe(0);
    // process metrics stay, the event loop sampled at the coarser idle-friendly rate
    expect(metric("process_cpu_seconds_total")).toBeGreaterThan(0);
    expect(metric("nodejs_eventloop_lag_p99_seconds")).toBeGreaterThanOrEqual(0);
    expect(metric("process_resident_memory_bytes")).toBeGreaterThan(0);
    expect(text).toMatch(/^# TYPE ovirt_ha_storage_errors_total counter$/m);
    expect(text).toMatch(
      /^ovirt_ha_build_info\{version="\d+\.\d+\.\d+[^"]*",commit="(?:[0-9a-f]+|unknown)",implementation="typescript"\} 1$/m,
    );
    expect(text).not.toMatch(/^nodejs_active_handles_total /m);
  });

  it("answers hostile and malformed requests with faults and keeps serving", async () => {
    const fault = (body: string): string => {
      try {
        parseMethodResponse(body);
      } catch (e) {
        if (e instanceof XmlRpcFault) return e.faultString;
      }
      throw new Error(`expected a fault, got ${body.slice(0, 200)}`);
    };
    const laughs =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">' +
      '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>' +
      "<methodCall><methodName>get_stats</methodName><params><param><value>&lol3;</value></param></params></methodCall>";
    expect(fault((await raw(socket, "POST", "/RPC2", laughs)).body)).toContain(
      "document type declarations",
    );
    const external =
      '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><methodCall><methodName>notify</methodName></methodCall>';
    expect(fault((await raw(socket, "POST", "/", external)).body)).toContain(
      "document type declarations",
    );

    const deep = `<methodCall><methodName>push_hosts_state</methodName><params><param>${"<value><array><data>".repeat(400)}${"</data></array></value>".repeat(400)}</param></params></methodCall>`;
    expect(fault((await raw(socket, "POST", "/RPC2", deep)).body)).toMatch(/nested/i);

    const huge = `<methodCall><methodName>put_stats</methodName><params><param><value><int>1</int></value></param><param><value><base64>${"QUFB".repeat(600_000)}</base64></value></param></params></methodCall>`;
    // refused before it is read: a fault when the answer beats the upload, else a closed connection
    const big = await raw(socket, "POST", "/RPC2", huge);
    if (big.status === 0) expect(big.body).toMatch(/EPIPE|ECONNRESET/);
    else expect(fault(big.body)).toMatch(/too large|exceeds|limit/i);

    expect(
      fault(
        (await raw(socket, "POST", "/RPC2", "<methodCall><methodName>get_stats</methodName>")).body,
      ),
    ).toContain("malformed XML");
    expect(fault((await raw(socket, "POST", "/RPC2", "")).body)).toMatch(/malformed|expected/);
    expect(fault((await raw(socket, "POST", "/RPC2", "not xml at all")).body)).toMatch(
      /malformed|expected/,
    );
    const wrongType =
      "<methodCall><methodName>put_stats</methodName><params><param><value><int>one</int></value></param><param><value><base64>AA==</base64></value></param></params></methodCall>";
    expect(fault((await raw(socket, "POST", "/RPC2", wrongType)).body)).toContain(
      "is not an integer",
    );
    const unknownType =
      "<methodCall><methodName>status_monitor</methodName><params><param><value><blob>x</blob></value></param></params></methodCall>";
    expect(fault((await raw(socket, "POST", "/RPC2", unknownType)).body)).toContain(
      "unknown value type <blob>",
    );
    const badEntity =
      "<methodCall><methodName>status_monitor</methodName><params><param><value>&nope;</value></param></params></methodCall>";
    expect(fault((await raw(socket, "POST", "/RPC2", badEntity)).body)).toMatch(/entity|malformed/);
    const proto = "<methodCall><methodName>__proto__</methodName></methodCall>";
    expect(fault((await raw(socket, "POST", "/RPC2", proto)).body)).toContain("is not supported");
    const struct =
      "<methodCall><methodName>start_monitor</methodName><params><param><value>mem-free</value></param><param><value><struct><member><name>__proto__</name><value><struct></struct></value></member></struct></value></param></params></methodCall>";
    expect(fault((await raw(socket, "POST", "/RPC2", struct)).body)).toContain("must be a string");

    // a flood of concurrent calls: every one answered
    const flood = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        raw(
          socket,
          "POST",
          "/RPC2",
          i % 2 ? laughs : "<methodCall><methodName>is_host_alive</methodName></methodCall>",
        ),
      ),
    );
    // beyond a process's share (16 connections at once, src/broker/api/connection-gate.ts)
    // a connection is closed unanswered; every answer is right
    const answered = flood.filter((r) => r.status !== 0);
    expect(
      flood
        .filter((r) => r.status === 0)
        .every((r) => /ECONNRESET|EPIPE|socket hang up/.test(r.body)),
    ).toBe(true);
    // (this process's keep-alive BrokerClient holds some of its share)
    expect(answered.length).toBeGreaterThanOrEqual(DEFAULT_GATE_LIMITS.perProcess - 2);
    expect(answered.every((r) => r.status === 200)).toBe(true);
    for (const r of answered) {
      expect(r.body).toMatch(
        r.body.includes("<fault>") ? /document type declarations/ : /<array><data>/,
      );
    }

    // still serving, whiteboard intact
    const stats = await broker!.client.getStats();
    expect(stats.get(1)!.subarray(0, 20).toString()).toMatch(/^1\|1\|2000\|1\|3000\|/);
    expect((await raw(socket, "GET", "/healthz", "")).status).toBe(200);
  });

  it("stops on SIGTERM, removing its socket", async () => {
    const code = await broker!.stop();
    expect(code).toBe(0);
    await expect(stat(socket)).rejects.toThrow(/ENOENT/);
  });
});
