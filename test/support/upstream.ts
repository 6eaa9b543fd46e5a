import { existsSync } from "node:fs";
import path from "node:path";
import { type Ran, REPO, runTool } from "./run.js";

/**
 * The original's source checkouts, for tests that RUN upstream code on our bytes (never
 * copied into this repository): $HE_HA_UPSTREAM, a directory holding
 * ovirt-hosted-engine-ha/, vdsm/, ... (default /work/upstream, where this project's
 * machine has them). A test skips, saying why, when the checkout it needs is absent.
 */
export const UPSTREAM_DIR = process.env.HE_HA_UPSTREAM ?? "/work/upstream";

/** The ovirt-hosted-engine-ha checkout, or undefined when absent. */
export function haCheckout(): string | undefined {
  const dir = path.join(UPSTREAM_DIR, "ovirt-hosted-engine-ha");
  return existsSync(path.join(dir, "ovirt_hosted_engine_ha/lib/heconflib.py")) ? dir : undefined;
}

/** Why a test needing the ovirt-hosted-engine-ha checkout is skipped. */
export const NO_HA_CHECKOUT = `no ovirt-hosted-engine-ha checkout at ${UPSTREAM_DIR}/ovirt-hosted-engine-ha (set HE_HA_UPSTREAM to a directory holding one): the original's heconflib cannot be run`;

export interface HeconflibRead {
  valid: boolean;
  members: Record<string, string | null>;
}

/** The configuration volume read by the original's heconflib (test/python/heconflib_read.py). */
export async function readWithHeconflib(checkout: string, volume: string): Promise<HeconflibRead> {
  const r: Ran = await runTool("python3", [
    path.join(REPO, "test/python/heconflib_read.py"),
    checkout,
    volume,
  ]);
  if (r.code !== 0) throw new Error(`heconflib_read.py failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as HeconflibRead;
}

/**
 * `dd if=<volume> bs=4k | tar -tvf -`, exactly the pipe heconflib runs to validate; the
 * exit code is tar's, as heconflib takes it (dd ends on SIGPIPE once tar has read the
 * end of the archive).
 */
export function ddTarList(volume: string): Promise<Ran> {
  return runTool("bash", ["-c", 'dd if="$1" bs=4k 2>/dev/null | tar -tvf -', "-", volume]);
}
