import type { VdsmApi } from "./api.js";
import { VdsmError } from "./json-rpc-client.js";
import { VdsmCode } from "./wire.js";

/** The CPU fields of VM.getStats the cpu-load-no-engine monitor reads. */
export interface VdsmCpuStats {
  cpuUser?: string | number | undefined;
  cpuSys?: string | number | undefined;
  cpuActual?: boolean | undefined;
  cpuUsage?: string | undefined;
}

/** What VM.getStats answered for the engine VM (the fields engine-health and cpu-load-no-engine read). */
export interface VdsmVmStats extends VdsmCpuStats {
  status: string;
  exitMessage?: string | undefined;
  exitReason?: number | undefined;
}

/**
 * The engine VM as the broker's engine-health and cpu-load-no-engine watch it through
 * VDSM: `VM.getStats(vmID)[0]` (the original's only call there). null = VDSM answered "no such VM" (code 1); a
 * VdsmError with another code = VDSM answered an error; VdsmUnavailableError = VDSM could
 * not be reached or did not answer.
 */
export interface VdsmVmStatsSource {
  vmStats(vmUuid: string): Promise<VdsmVmStats | null>;
  close(): void;
}

export function vdsmVmStatsSource(api: VdsmApi): VdsmVmStatsSource {
  return {
    async vmStats(vmUuid) {
      try {
        const s = await api.vmStats(vmUuid);
        return {
          status: s.status,
          exitMessage: s.exitMessage,
          exitReason: s.exitReason,
          cpuUser: s.cpuUser as string | undefined,
          cpuSys: s.cpuSys as string | undefined,
          cpuActual: s.cpuActual as boolean | undefined,
          cpuUsage: s.cpuUsage as string | undefined,
        };
      } catch (err) {
        if (err instanceof VdsmError && err.code === VdsmCode.noSuchVm) return null;
        throw err;
      }
    },
    close: () => api.client.close(),
  };
}
