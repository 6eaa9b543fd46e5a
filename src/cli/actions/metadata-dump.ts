import { loadHostConfig } from "../../common/host-config.js";
import { formatBool } from "../../common/keyvalue.js";
import { haPaths } from "../../common/paths.js";
import { MetadataVolume } from "../../storage/direct-io.js";
import { haVolumes } from "../../storage/domain.js";
import {
  type DecodeError,
  decodeWhiteboard,
  type GlobalBlock,
  type HostBlock,
  type WhiteboardSnapshot,
} from "../../storage/whiteboard/index.js";
import { CliError } from "../errors.js";

/** `metadata dump --json`: the whole whiteboard as read from storage. */
export interface MetadataDump {
  path: string;
  directIo: boolean;
  /** bytes read (2001 segments, or the file's size when it is shorter) */
  bytes: number;
  global: GlobalBlock;
  globalWarnings: string[];
  hosts: Record<string, HostBlock>;
  errors: DecodeError[];
  tooNew: boolean;
}

export function metadataDump(
  path: string,
  directIo: boolean,
  bytes: number,
  s: WhiteboardSnapshot,
): MetadataDump {
  const hosts: Record<string, HostBlock> = {};
  for (const id of [...s.hosts.keys()].sort((a, b) => a - b)) hosts[String(id)] = s.hosts.get(id)!;
  return {
    path,
    directIo,
    bytes,
    global: s.global,
    globalWarnings: s.globalWarnings ?? [],
    hosts,
    errors: [...s.errors].sort((a, b) => a.hostId - b.hostId),
    tooNew: s.tooNew,
  };
}

/** The dump as text: the global block, then every non-empty segment in host id order. */
export function formatMetadataDump(d: MetadataDump): string {
  const out: string[] = [];
  out.push(
    `metadata volume ${d.path} (${d.bytes} bytes read, ${d.directIo ? "O_DIRECT" : "buffered"})`,
  );
  out.push("", "global block:", `  maintenance=${formatBool(d.global.maintenance)}`);
  for (const [k, v] of Object.entries(d.global.unknown)) out.push(`  ${k}=${v}`);
  for (const w of d.globalWarnings) out.push(`  warning: ${w}`);
  const entries: Array<[number, string[]]> = [];
  for (const b of Object.values(d.hosts)) entries.push([b.hostId, hostLines(b)]);
  for (const e of d.errors)
    entries.push([e.hostId, [`host ${e.hostId}: ERROR ${e.kind}: ${e.reason}`]]);
  entries.sort((a, b) => a[0] - b[0]);
  if (entries.length === 0) out.push("", "no host blocks");
  for (const [, lines] of entries) out.push("", ...lines);
  if (d.tooNew) {
    out.push(
      "",
      "a block is too new for this version: agents of this version stop managing the VM",
    );
  }
  return `${out.join("\n")}\n`;
}

function hostLines(b: HostBlock): string[] {
  const lines = [
    `host ${b.hostId}: ${b.hostname}`,
    `  score=${b.score}`,
    `  timestamp=${b.timestamp}`,
    `  engine_status=${b.engineStatusRaw}`,
    `  maintenance=${b.maintenance ? 1 : 0}`,
    `  stopped=${b.stopped ? 1 : 0}`,
    `  crc32=${b.crc32 || "(none)"}`,
    `  conf_on_shared_storage=${b.confOnSharedStorage ? 1 : 0}`,
    `  vm_conf_refresh_time=${b.vmConfRefreshTime}`,
    `  versions=${b.parseVersion}/${b.featureVersion}`,
  ];
  const extra = Object.entries(b.extra);
  if (extra.length > 0) {
    lines.push("  extra:");
    for (const [k, v] of extra) lines.push(`    ${k}=${v}`);
  }
  return lines;
}

async function locateVolume(file: string | undefined): Promise<string> {
  if (file !== undefined) return file;
  const paths = haPaths();
  const conf = await loadHostConfig(paths.hostConf);
  return haVolumes(conf, paths).metadata;
}

/** `he-ha metadata dump`: reads the volume (O_DIRECT when it can) and prints every block. */
export async function dumpMetadata(opts: { file?: string; json?: boolean }): Promise<void> {
  const path = await locateVolume(opts.file);
  let volume: MetadataVolume;
  try {
    volume = await MetadataVolume.open(path, { readOnly: true });
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  let buf: Buffer;
  try {
    buf = await volume.readAll();
  } finally {
    await volume.close();
  }
  const dump = metadataDump(path, volume.directIo, buf.length, decodeWhiteboard(buf));
  process.stdout.write(opts.json ? `${JSON.stringify(dump, null, 2)}\n` : formatMetadataDump(dump));
}
