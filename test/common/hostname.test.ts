import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { hostConfigFrom } from "../../src/common/host-config.js";
import { publishedHostname, vdsmCertPath } from "../../src/common/hostname.js";
import { removeDir, tempDir } from "../support/temp.js";

const run = promisify(execFile);
const conf = (extra: Array<[string, string]> = []) =>
  hostConfigFrom(new Map([["host_id", "1"], ...extra]), "hosted-engine.conf");

describe("the hostname a host publishes on the whiteboard", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await removeDir(d);
  });
  async function root(): Promise<string> {
    const d = await tempDir("hostname");
    dirs.push(d);
    return d;
  }

  it("is the CN of VDSM's host certificate, as the original publishes", async () => {
    const r = await root();
    const cert = vdsmCertPath(r);
    await mkdir(path.dirname(cert), { recursive: true });
    const key = path.join(r, "key.pem");
    await run("openssl", [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/O=Test/CN=hv7.example.com",
      "-keyout",
      key,
      "-out",
      cert,
    ]);
    expect(await publishedHostname(conf(), r)).toBe("hv7.example.com");
  });

  it("is the hosted-engine.conf `hostname` key when set, over the certificate", async () => {
    expect(await publishedHostname(conf([["hostname", "host1.lab"]]), await root())).toBe(
      "host1.lab",
    );
  });

  it("falls back to the system hostname when there is no certificate or it is not one", async () => {
    const r = await root();
    expect(await publishedHostname(conf(), r)).toBe(hostname());
    await mkdir(path.dirname(vdsmCertPath(r)), { recursive: true });
    await writeFile(vdsmCertPath(r), "not a certificate");
    expect(await publishedHostname(conf(), r)).toBe(hostname());
  });
});
