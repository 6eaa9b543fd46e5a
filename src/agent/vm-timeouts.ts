import type { VmPort } from "./ports.js";

/** A hypervisor call that did not answer in time (libvirtd hung): treated as a failure. */
export class VmCallTimeoutError extends Error {
  override name = "VmCallTimeoutError";
  constructor(
    readonly call: string,
    readonly ms: number,
  ) {
    super(`hypervisor did not answer ${call} within ${ms} ms`);
  }
}

function bounded<T>(call: string, ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new VmCallTimeoutError(call, ms)), ms);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

/**
 * The VM port with every call bounded in time, so a hung libvirtd never stalls the
 * agent loop: a state query that times out counts as "cannot tell", an action that
 * times out as failed.
 */
export function withTimeouts(vm: VmPort, limits: { queryMs: number; actionMs: number }): VmPort {
  return {
    isActive: () => bounded("domain state", limits.queryMs, vm.isActive()),
    start: (conf, leases) => bounded("start", limits.actionMs, vm.start(conf, leases)),
    shutdown: () => bounded("shutdown", limits.actionMs, vm.shutdown()),
    powerOff: () => bounded("power off", limits.actionMs, vm.powerOff()),
    // closing is best effort: the connection is dropped either way
    close: () => bounded("close", limits.queryMs, vm.close()).catch(() => undefined),
  };
}
