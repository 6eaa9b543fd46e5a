import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { hostname as osHostname } from "node:os";
import path from "node:path";
import type { HostConfig } from "./host-config.js";

/** VDSM's host certificate, whose CN names the host in the engine (under HE_HA_ROOT). */
export function vdsmCertPath(root: string): string {
  return path.join(root, "etc", "pki", "vdsm", "certs", "vdsmcert.pem");
}

/** The CN of a PEM certificate's subject, or undefined when there is none. */
export function certificateCn(pem: string): string | undefined {
  const subject = new X509Certificate(pem).subject;
  const cn = subject
    .split("\n")
    .find((l) => l.startsWith("CN="))
    ?.slice(3)
    .trim();
  return cn || undefined;
}

/**
 * The hostname this host publishes on the whiteboard: `hostname` in hosted-engine.conf
 * when set (our addition), else the CN of VDSM's host certificate (what the original
 * publishes), else the system hostname. A missing or unreadable certificate is not an
 * error: the next source is used.
 */
export async function publishedHostname(conf: HostConfig, root: string): Promise<string> {
  const configured = conf.raw.get("hostname")?.trim();
  if (configured) return configured;
  try {
    const cn = certificateCn(await readFile(vdsmCertPath(root), "utf8"));
    if (cn) return cn;
  } catch {
    // no certificate (not an oVirt host), or not a PEM certificate
  }
  return osHostname();
}
