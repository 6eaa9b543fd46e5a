import { execFile } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface Pem {
  key: string;
  cert: string;
}

export interface TestPki {
  ca: string;
  /** VDSM's own certificate (CN = the host's FQDN, as host-deploy makes it) */
  server: Pem;
  /** the host's VDSM client certificate, signed by the same CA */
  client: Pem;
  /** a second, unrelated CA and a client certificate it signed */
  rogueCa: string;
  rogueClient: Pem;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  await run("openssl", args, { cwd, timeout: 30_000 });
}

async function ca(dir: string, name: string): Promise<void> {
  await openssl(
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", `/CN=${name}`].concat([
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.pem`,
    ]),
    dir,
  );
}

async function signed(dir: string, caName: string, name: string, cn: string): Promise<Pem> {
  await openssl(
    ["req", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${cn}`, "-keyout", `${name}.key`].concat(
      ["-out", `${name}.csr`],
    ),
    dir,
  );
  await openssl(
    [
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      `${caName}.pem`,
      "-CAkey",
      `${caName}.key`,
    ].concat(["-CAcreateserial", "-days", "2", "-out", `${name}.pem`]),
    dir,
  );
  return {
    key: await readFile(path.join(dir, `${name}.key`), "utf8"),
    cert: await readFile(path.join(dir, `${name}.pem`), "utf8"),
  };
}

/** A CA with VDSM's server and client certificates, plus a rogue CA and client, made with openssl. */
export async function makeTestPki(dir: string): Promise<TestPki> {
  await mkdir(dir, { recursive: true });
  await Promise.all([ca(dir, "engine-ca"), ca(dir, "rogue-ca")]);
  const [server, client, rogueClient] = await Promise.all([
    signed(dir, "engine-ca", "vdsm-server", "host1.example.com"),
    signed(dir, "engine-ca", "vdsm-client", "host1.example.com"),
    signed(dir, "rogue-ca", "rogue-client", "host1.example.com"),
  ]);
  return {
    ca: await readFile(path.join(dir, "engine-ca.pem"), "utf8"),
    rogueCa: await readFile(path.join(dir, "rogue-ca.pem"), "utf8"),
    server,
    client,
    rogueClient,
  };
}

/** Writes the host's VDSM key, certificate and CA (from `pki`) under `root` where VDSM keeps them. */
export async function installVdsmPki(root: string, pki: TestPki): Promise<void> {
  const { vdsmPkiPaths } = await import("../../../src/vdsm/backend-choice.js");
  const p = vdsmPkiPaths(root);
  for (const [file, text] of [
    [p.key, pki.client.key],
    [p.cert, pki.client.cert],
    [p.ca, pki.ca],
  ] as const) {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, text, { mode: 0o600 });
  }
}
