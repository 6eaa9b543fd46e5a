import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { formatBool } from "../../common/keyvalue.js";
import type { Logger } from "../../common/log.js";
import { PeriodicMonitor } from "./periodic.js";

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

/** `mgmt-bridge`: "True" while the management bridge is present, a bridge, and up. */
export class MgmtBridgeMonitor extends PeriodicMonitor<boolean> {
  private lastCheck: BridgeCheck | undefined;

  constructor(
    id: string,
    log: Logger,
    intervalMs: number,
    private readonly sysRoot: string,
    private readonly bridge: string,
  ) {
    super("mgmt-bridge", id, log, intervalMs);
  }

  protected encode(v: boolean): string {
    return formatBool(v);
  }

  protected async probe(): Promise<boolean> {
    const check = await checkBridge(this.sysRoot, this.bridge);
    if (check !== this.lastCheck) {
      const level = check === "up" ? "info" : "warn";
      this.log[level]({ bridge: this.bridge, check }, `bridge ${this.bridge}: ${check}`);
      this.lastCheck = check;
    }
    return check === "up";
  }
}
