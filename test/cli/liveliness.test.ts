import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HostRoot, makeHostRoot, runHeHa } from "./harness.js";

/** A stand-in engine: its health page answers what `reply` says. */
let reply: { status: number; body: string } = {
  status: 200,
  body: "DB Up!Welcome to Health Status!",
};
let server: Server;
let port: number;
const roots: HostRoot[] = [];

async function hostFor(fqdn: string): Promise<HostRoot> {
  const h = await makeHostRoot(1, { fqdn });
  roots.push(h);
  return h;
}

describe("he-ha liveliness (hosted-engine --check-liveliness)", () => {
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url !== "/ovirt-engine/services/health") {
        res.writeHead(404).end("not found");
        return;
      }
      res.writeHead(reply.status, { "content-type": "text/plain" }).end(reply.body);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await Promise.all(roots.map((h) => h.cleanup()));
  });

  it("reports a healthy engine and exits 0", async () => {
    reply = { status: 200, body: "DB Up!Welcome to Health Status!" };
    const h = await hostFor(`127.0.0.1:${port}`);
    const r = await runHeHa(h.root, ["liveliness"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      `Hosted Engine is up! (http://127.0.0.1:${port}/ovirt-engine/services/health: HTTP 200: DB Up!Welcome to Health Status!)\n`,
    );
  });

  it("an engine answering an error is not up: exit 1; the --check-liveliness spelling and --json", async () => {
    reply = { status: 500, body: "DB Down!" };
    const h = await hostFor(`127.0.0.1:${port}`);
    const r = await runHeHa(h.root, ["--check-liveliness", "--json"]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({
      url: `http://127.0.0.1:${port}/ovirt-engine/services/health`,
      healthy: false,
      status: 500,
      detail: "DB Down!",
    });
  });

  it("an engine that does not answer is not up, with the reason", async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const h = await hostFor(`127.0.0.1:${deadPort}`);
    const r = await runHeHa(h.root, ["liveliness", "--timeout", "5"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /^Hosted Engine is not up! \(http:\/\/127\.0\.0\.1:\d+\/ovirt-engine\/services\/health: .*ECONNREFUSED.*\)\n$/,
    );
  });

  it("a host without fqdn fails naming the file; a bad --timeout is a usage error", async () => {
    const h = await hostFor("");
    const r = await runHeHa(h.root, ["liveliness"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `he-ha: ${h.root}/etc/ovirt-hosted-engine/hosted-engine.conf: fqdn (the engine's name) is not set\n`,
    );
    const u = await runHeHa(h.root, ["liveliness", "--timeout", "soon"]);
    expect(u.code).toBe(2);
    expect(u.stderr).toBe('he-ha: --timeout "soon" is not a positive number\n');
  });
});
