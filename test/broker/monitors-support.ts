import * as libvirt from "@unraid/libvirt";
import { pollFor } from "../../lab/standins/processes.js";
import { silentLogger } from "../../src/common/log.js";
import { HypervisorConnection } from "../../src/libvirt/hypervisor.js";

/** Polls every 20 ms until `fn` returns a value other than undefined (or throws after `ms`). */
export function waitFor<T>(
  fn: () => T | undefined | Promise<T | undefined>,
  ms = 20_000,
  what = "condition",
): Promise<T> {
  return pollFor(what, async () => fn(), ms, 20);
}

/**
 * libvirt's test driver twice: a raw @unraid/libvirt connection for the test to act on
 * domains (suspend, destroy, ...), and src/libvirt's HypervisorConnection, which the
 * monitors read. `test:///default` connections of one process share one fake hypervisor.
 */
export async function openTestHypervisor(
  uri = "test:///default",
): Promise<{ hv: libvirt.Hypervisor; source: HypervisorConnection }> {
  const hv = new libvirt.Hypervisor({ uri });
  await hv.connectOpen();
  const source = new HypervisorConnection(uri, silentLogger);
  await source.connect();
  return { hv, source };
}

/** The running domain that libvirt's test:///default driver starts with. */
export const TEST_DRIVER_DOMAIN_UUID = "6695eb01-f6a4-8304-79aa-97f2502e193f";
