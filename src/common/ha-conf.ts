import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { formatBool, parseBool, parseKeyValue } from "./keyvalue.js";

/** ha.conf: this host's local maintenance flags (behaviour.md §2). */
export interface HaConf {
  localMaintenance: boolean;
  localMaintenanceManual: boolean;
  /** other keys, kept as written */
  other: Map<string, string>;
}

const EMPTY: HaConf = { localMaintenance: false, localMaintenanceManual: false, other: new Map() };

/** A missing file means no maintenance; a malformed one throws ConfigSyntaxError naming the line. */
export async function readHaConf(file: string): Promise<HaConf> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { ...EMPTY, other: new Map() };
    throw e;
  }
  const kv = parseKeyValue(text, file);
  const other = new Map(kv);
  other.delete("local_maintenance");
  other.delete("local_maintenance_manual");
  return {
    localMaintenance: parseBool(kv.get("local_maintenance")) ?? false,
    localMaintenanceManual: parseBool(kv.get("local_maintenance_manual")) ?? false,
    other,
  };
}

/** Writes ha.conf atomically (temp file + rename), keeping unknown keys. */
export async function writeHaConf(file: string, conf: HaConf): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  let text = "";
  for (const [k, v] of conf.other) text += `${k}=${v}\n`;
  text += `local_maintenance=${formatBool(conf.localMaintenance)}\n`;
  text += `local_maintenance_manual=${formatBool(conf.localMaintenanceManual)}\n`;
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: 0o644 });
  await rename(tmp, file);
}
