import { execFile } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Monitor } from "../../src/broker/monitors/monitor.js";
import type { PeriodicMonitor } from "../../src/broker/monitors/periodic.js";
import { createMonitor } from "../../src/broker/monitors/registry.js";
import { silentLogger } from "../../src/common/log.js";
import { waitFor } from "./monitors-support.js";

const exec = promisify(execFile);
const started: Monitor[] = [];
const servers: net.Server[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((m) => m.stop()));
});

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(() => r(undefined)))));
});

/** Starts the monitor and waits for its first full probe round; returns its value. */
async function firstRound(opts: Record<string, unknown>): Promise<string | null> {
  const m = createMonitor("network", opts, { log: silentLogger, intervalSeconds: 0.05 });
  started.push(m);
  m.start();
  await waitFor(() => ((m as PeriodicMonitor<number>).completedProbes() >= 1 ? true : undefined));
  return m.value();
}

function listen(server: net.Server): Promise<number> {
  servers.push(server);
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port));
  });
}

async function closedPort(): Promise<number> {
  const s = net.createServer();
  const port = await new Promise<number>((resolve) =>
    s.listen(0, "127.0.0.1", () => resolve((s.address() as net.AddressInfo).port)),
  );
  await new Promise((r) => s.close(r));
  return port;
}

/**
 * A DNS server over TCP on 127.0.0.1 answering NOERROR with the question echoed, for
 * the first `answered` queries; later connections are closed without an answer.
 */
async function dnsResponder(answered: number): Promise<{ port: number; queries: () => number }> {
  let count = 0;
  const server = net.createServer((sock) => {
    let buf = Buffer.alloc(0);
    sock.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
      const query = buf.subarray(2, 2 + buf.readUInt16BE(0));
      count += 1;
      if (count > answered) {
        sock.destroy();
        return;
      }
      let end = 12;
      while (query[end] !== 0) end += 1 + query[end]!;
      const question = query.subarray(12, end + 5);
      const header = Buffer.alloc(12);
      query.copy(header, 0, 0, 2);
      header.writeUInt16BE(0x8180, 2);
      header.writeUInt16BE(1, 4);
      const reply = Buffer.concat([header, question]);
      const len = Buffer.alloc(2);
      len.writeUInt16BE(reply.length);
      sock.end(Buffer.concat([len, reply]));
    });
    sock.on("error", () => undefined);
  });
  const port = await listen(server);
  return { port, queries: () => count };
}

describe("network: tcp", () => {
  it("is 1.0 when every connect to tcp_t_address:tcp_t_port succeeds", async () => {
    let accepted = 0;
    const port = await listen(
      net.createServer((s) => {
        accepted += 1;
        s.destroy();
      }),
    );
    const v = await firstRound({
      network_test: "tcp",
      tcp_t_address: "127.0.0.1",
      tcp_t_port: String(port),
      count: 3,
      delay: 0,
    });
    expect(v).toBe("1.0");
    await waitFor(() => (accepted >= 3 ? true : undefined));
  });

  it("is 0.0 when the port is closed", async () => {
    const v = await firstRound({
      network_test: "tcp",
      tcp_t_address: "127.0.0.1",
      tcp_t_port: await closedPort(),
      count: 2,
      delay: 0,
      timeout: 2,
    });
    expect(v).toBe("0.0");
  });
});

describe("network: dns", () => {
  it("is 1.0 when the DNS server answers every query over TCP", async () => {
    const dns = await dnsResponder(100);
    const v = await firstRound({
      network_test: "dns",
      dns_server: "127.0.0.1",
      dns_port: dns.port,
      count: 2,
      delay: 0,
      timeout: 2,
    });
    expect(v).toBe("1.0");
    expect(dns.queries()).toBeGreaterThanOrEqual(2);
  });

  it("reports the ratio of answered queries (3 of 5 → 0.6)", async () => {
    const dns = await dnsResponder(3);
    const v = await firstRound({
      network_test: "dns",
      dns_server: "127.0.0.1",
      dns_port: dns.port,
      count: 5,
      delay: 0,
      timeout: 1,
    });
    expect(v).toBe("0.6");
  });
});

describe("network: ping on loopback", () => {
  it("pings 127.0.0.1 and ::1 (IPv6 with -6)", async () => {
    expect(await firstRound({ addr: "127.0.0.1", count: 2, delay: 0, timeout: 2 })).toBe("1.0");
    await Promise.all(started.splice(0).map((m) => m.stop()));
    expect(
      await firstRound({ network_test: "ping", addr: "::1", count: 2, delay: 0, timeout: 2 }),
    ).toBe("1.0");
  });
});

describe("network: ping between network namespaces", () => {
  const tag = `hed1${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
  const nsA = `${tag}a`;
  const nsB = `${tag}b`;
  const root = path.resolve(import.meta.dirname, "../..");
  const ip = (...args: string[]) => exec("ip", args);

  beforeAll(async () => {
    await ip("netns", "add", nsA);
    await ip("netns", "add", nsB);
    await ip("-n", nsA, "link", "add", "ve0", "type", "veth", "peer", "name", "ve1", "netns", nsB);
    await ip("-n", nsA, "addr", "add", "192.0.2.1/24", "dev", "ve0");
    await ip("-n", nsB, "addr", "add", "192.0.2.2/24", "dev", "ve1");
    await ip("-n", nsA, "addr", "add", "2001:db8::1/64", "dev", "ve0", "nodad");
    await ip("-n", nsB, "addr", "add", "2001:db8::2/64", "dev", "ve1", "nodad");
    for (const [ns, dev] of [
      [nsA, "ve0"],
      [nsB, "ve1"],
    ] as const) {
      await ip("-n", ns, "link", "set", dev, "up");
      await ip("-n", ns, "link", "set", "lo", "up");
    }
  });

  afterAll(async () => {
    await ip("netns", "del", nsA).catch(() => undefined);
    await ip("netns", "del", nsB).catch(() => undefined);
  });

  /** One probe round of a network monitor running inside namespace A. */
  async function roundInA(opts: Record<string, unknown>): Promise<string | null> {
    const { stdout } = await exec(
      "ip",
      [
        "netns",
        "exec",
        nsA,
        path.join(root, "node_modules/.bin/vite-node"),
        path.join(root, "test/broker/monitors-netns-child.ts"),
      ],
      {
        cwd: root,
        env: { ...process.env, MONITOR_OPTIONS: JSON.stringify(opts) },
        timeout: 60_000,
      },
    );
    const line = stdout.trim().split("\n").at(-1)!;
    return (JSON.parse(line) as { value: string | null }).value;
  }

  it("is 1.0 for the peer's IPv4 and IPv6 addresses, 0.0 for an address nobody has", async () => {
    const [v4, v6, none] = await Promise.all([
      roundInA({ addr: "192.0.2.2", count: 3, delay: 0, timeout: 2 }),
      roundInA({ network_test: "ping", addr: "2001:db8::2", count: 3, delay: 0, timeout: 2 }),
      roundInA({ addr: "192.0.2.77", count: 2, delay: 0, timeout: 1 }),
    ]);
    expect(v4).toBe("1.0");
    expect(v6).toBe("1.0");
    expect(none).toBe("0.0");
  });
});
