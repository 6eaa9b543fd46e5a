import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { formatBool } from "../../common/keyvalue.js";
import type { Logger } from "../../common/log.js";
import type { VdsmHostSource } from "../../vdsm/host-stats-source.js";
import { VdsmError } from "../../vdsm/json-rpc-client.js";
import { PeriodicMonitor } from "./periodic.js";
import { bridgeUpOf } from "./vdsm-host.js";

const IFF_UP = 0x1;

export type BridgeCheck = "up" | "missing" | "not-a-bridge" | "down";

/**
 * The bridge as `/sys/class/net/<name>` shows it: present, a bridge (has `bridge/`),
 * administratively up (IFF_UP in `flags`) and operationally up (`operstate` "up", or
 * "unknown" for drivers that do not report it). A bridge without working ports has
 * operstate "down": VDSM, which the original asked, reports it as not up either.
 */
export async function checkBridge(sysRoot: string, name: string): Promise<BridgeCheck> {
  const dir = path.join(sysRoot, "class", "net", name);
  if (name.includes("/") || name === "." || name === "..") return "missing";
  try {
    await stat(dir);
  } catch {
    return "missing";
  }
  try {
    if (!(await stat(path.join(dir, "bridge"))).isDirectory()) return "not-a-bridge";
  } catch {
    return "not-a-bridge";
  }
  const [flagsText, operstate] = await Promise.all([
    readFile(path.join(dir, "flags"), "utf8"),
    readFile(path.join(dir, "operstate"), "utf8"),
  ]);
  const adminUp = (Number.parseInt(flagsText.trim(), 16) & IFF_UP) !== 0;
  const oper = operstate.trim();
  return adminUp && (oper === "up" || oper === "unknown") ? "up" : "down";
}

/**
 * `mgmt-bridge`: "True" while the bridge is up. On VDSM hosts `network[bridge].state` of
 * VDSM's Host.getStats, as the original (no `network` or a VDSM error: None; VDSM not
 * reachable: the last value stays); elsewhere `/sys/class/net`.
 */
export class MgmtBridgeMonitor extends PeriodicMonitor<boolean> {
  private lastCheck: string | undefined;

  constructor(
    id: string,
    log: Logger,
    intervalMs: number,
    private readonly sysRoot: string,
    private readonly bridge: string,
    private readonly vdsm?: VdsmHostSource,
  ) {
    super("mgmt-bridge", id, log, intervalMs);
  }

  protected encode(v: boolean): string {
    return formatBool(v);
  }

  protected async probe(): Promise<boolean | undefined> {
    if (this.vdsm !== undefined) return this.probeVdsm(this.vdsm);
    const check = await checkBridge(this.sysRoot, this.bridge);
    if (check !== this.lastCheck) {
      const level = check === "up" ? "info" : "warn";
      this.log[level]({ bridge: this.bridge, check }, `bridge ${this.bridge}: ${check}`);
      this.lastCheck = check;
    }
    return check === "up";
  }

  private async probeVdsm(vdsm: VdsmHostSource): Promise<boolean | undefined> {
    let up: boolean | null;
    try {
      up = bridgeUpOf(await vdsm.hostStats(), this.bridge);
      if (up === null)
        this.throttled.error("network", {}, "Failed to getVdsStats: No 'network' in result");
    } catch (err) {
      if (!(err instanceof VdsmError)) throw err;
      this.throttled.error("vdsm", { err }, "Host.getStats failed");
      up = null;
    }
    if (up === null) {
      this.clearValue();
      return undefined;
    }
    const check = up ? "up" : "not up (VDSM)";
    if (check !== this.lastCheck) {
      this.log[up ? "info" : "warn"](
        { bridge: this.bridge, check },
        `bridge ${this.bridge}: ${check}`,
      );
      this.lastCheck = check;
    }
    return up;
  }
}
