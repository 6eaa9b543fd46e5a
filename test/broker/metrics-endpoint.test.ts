import { mkdir } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { productArgs } from "../../lab/children.js";
import { pollFor } from "../../lab/standins/processes.js";
import { type BrokerProcess, startBrokerProcess } from "../support/broker-process.js";
import { runTool } from "../support/run.js";
import { removeDir, tempDir } from "../support/temp.js";
import { makeDomain, makeHostRoot, type TestDomain } from "./broker-harness.js";

/**
 * The broker's TCP metrics endpoint, as a real broker process serves it and clients we
 * did not write see it: `ss` for the bound address, `openssl` for the certificate,
 * `curl` for TLS and basic auth; the password hash comes from `he-ha metrics
 * hash-password`.
 */
let dir: string;
let domain: TestDomain;
let hostId = 0;
const PASSWORD = "s3cret pass:word";

beforeAll(async () => {
  dir = await tempDir("metrics-endpoint");
  domain = await makeDomain(dir, { lockspace: false });
});
afterAll(async () => {
  await removeDir(dir);
});

const freePort = () => 20000 + Math.floor(Math.random() * 20000);

async function broker(extraConf: Record<string, string>): Promise<BrokerProcess> {
  hostId += 1;
  const root = await makeHostRoot(dir, hostId, domain, { extraConf });
  return startBrokerProcess(root, {
    env: { ...process.env, HE_HA_SOCKET_GROUP: "", SANLOCK_RUN_DIR: path.join(dir, "no-sanlock") },
    logLevel: "info",
  });
}

/** The local address of the TCP socket listening on `port`, as `ss` reports it. */
async function listeningOn(port: number): Promise<string[]> {
  const ss = await runTool("ss", ["-Hltn", `sport = :${port}`], {
    hint: "apt-get install iproute2",
  });
  return ss.stdout
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => l.trim().split(/\s+/)[3] ?? "");
}

async function curl(
  args: string[],
): Promise<{ code: number | null; status: string; body: string }> {
  const res = await runTool("curl", ["-sS", "-o", "-", "-w", "\n%{http_code}", ...args], {
    hint: "apt-get install curl",
  });
  const i = res.stdout.lastIndexOf("\n");
  return { code: res.code, status: res.stdout.slice(i + 1), body: res.stdout.slice(0, i) };
}

describe("the metrics endpoint", () => {
  it("binds 127.0.0.1 when metrics_listen is a bare port", async () => {
    const port = freePort();
    const b = await broker({ metrics_listen: String(port) });
    try {
      const bound = await pollFor("the metrics listener", async () => {
        const l = await listeningOn(port);
        return l.length > 0 ? l : undefined;
      });
      expect(bound).toEqual([`127.0.0.1:${port}`]);
      const r = await curl([`http://127.0.0.1:${port}/metrics`]);
      expect(r.status).toBe("200");
      expect(r.body).toMatch(/^ovirt_ha_global_maintenance /m);
    } finally {
      await b.stop();
    }
  });

  it("serves TLS with the configured certificate and answers 401 without the right user and password", async () => {
    const pki = path.join(dir, "pki");
    await mkdir(pki);
    const cert = path.join(pki, "metrics.crt");
    const key = path.join(pki, "metrics.key");
    const ossl = await runTool(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=DNS:localhost",
        "-keyout",
        key,
        "-out",
        cert,
      ],
      { hint: "apt-get install openssl" },
    );
    expect(ossl.code, ossl.stderr).toBe(0);
    const hashed = await runTool(
      process.execPath,
      productArgs("he-ha", "metrics", "hash-password"),
      {
        stdin: `${PASSWORD}\n`,
      },
    );
    expect(hashed.code, hashed.stderr).toBe(0);
    const hash = hashed.stdout.trim();
    expect(hash).toMatch(/^scrypt\$/);
    expect(hash).not.toContain(PASSWORD);
    const port = freePort();
    const b = await broker({
      metrics_listen: `localhost:${port}`,
      metrics_tls_cert: cert,
      metrics_tls_key: key,
      metrics_user: "prometheus",
      metrics_password_hash: hash,
    });
    try {
      const url = `https://localhost:${port}/metrics`;
      const tls = ["--cacert", cert];
      await pollFor("the metrics listener", async () =>
        (await listeningOn(port)).length > 0 ? true : undefined,
      );
      const none = await curl([...tls, "-D", "-", url]);
      expect(none.status).toBe("401");
      expect(none.body).toMatch(/^www-authenticate: Basic realm="ovirt-ha-broker metrics"/im);
      expect((await curl([...tls, "-u", "prometheus:wrong", url])).status).toBe("401");
      expect((await curl([...tls, "-u", `grafana:${PASSWORD}`, url])).status).toBe("401");
      const ok = await curl([...tls, "-u", `prometheus:${PASSWORD}`, url]);
      expect(ok.status).toBe("200");
      expect(ok.body).toMatch(/^ovirt_ha_global_maintenance /m);
      // again: the verified credentials are remembered, the answer is the same
      expect((await curl([...tls, "-u", `prometheus:${PASSWORD}`, url])).status).toBe("200");
      expect(
        (await curl([...tls, "-u", `prometheus:${PASSWORD}`, `https://localhost:${port}/healthz`]))
          .status,
      ).toBe("200");
      // the certificate is the one configured: curl verifies it against that file only
      const wrongCa = await curl(["--cacert", "/etc/ssl/certs/ca-certificates.crt", url]);
      expect(wrongCa.code).not.toBe(0);
      // no plain HTTP on the TLS port
      expect((await curl([`http://localhost:${port}/metrics`])).status).not.toBe("200");
      const log = await b.log();
      expect(log).toContain('"tls":true');
      expect(log).toContain('"basic_auth":true');
      expect(log).not.toContain(hash);
      expect(log).not.toContain(PASSWORD);
    } finally {
      await b.stop();
    }
  }, 60_000);

  it("logs one error naming the key and serves no TCP metrics when half of a pair is set; the broker runs on", async () => {
    const port = freePort();
    const b = await broker({ metrics_listen: `127.0.0.1:${port}`, metrics_tls_cert: "/x.crt" });
    try {
      await b.client.status(); // the broker answers on its socket
      const line = await pollFor("the metrics error", async () =>
        (await b.log()).split("\n").find((l) => l.includes("metrics not served on TCP")),
      );
      expect(line).toContain("metrics_tls_key is missing");
      expect(await listeningOn(port)).toEqual([]);
      expect(
        (await b.log()).split("\n").filter((l) => l.includes("metrics not served")),
      ).toHaveLength(1);
    } finally {
      await b.stop();
    }
  });
});
