import { MonitorOptionError } from "./monitor.js";

/**
 * start_monitor options as the XML-RPC layer hands them over: values may be strings,
 * numbers, booleans or nil (the original agent sends `tcp_t_address: None`). Nil and
 * empty strings count as absent; everything else becomes its string form.
 */
export type RawMonitorOptions = Record<string, unknown>;

export class MonitorOptions {
  private readonly values = new Map<string, string>();

  constructor(
    readonly monitorType: string,
    raw: RawMonitorOptions,
  ) {
    for (const [k, v] of Object.entries(raw)) {
      if (v === null || v === undefined) continue;
      const s = typeof v === "string" ? v.trim() : String(v);
      if (s !== "" && s !== "None") this.values.set(k, s);
    }
  }

  get(key: string): string | undefined {
    return this.values.get(key);
  }

  require(key: string): string {
    const v = this.values.get(key);
    if (v === undefined) throw new MonitorOptionError(this.monitorType, `requires ${key}`);
    return v;
  }

  number(key: string, fallback: number, check: { min?: number; integer?: boolean } = {}): number {
    const raw = this.values.get(key);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    const bad =
      !Number.isFinite(n) ||
      (check.integer === true && !Number.isInteger(n)) ||
      (check.min !== undefined && n < check.min);
    if (bad) {
      const what = check.integer ? "an integer" : "a number";
      const floor = check.min !== undefined ? ` >= ${check.min}` : "";
      throw new MonitorOptionError(this.monitorType, `${key}="${raw}" is not ${what}${floor}`);
    }
    return n;
  }
}
