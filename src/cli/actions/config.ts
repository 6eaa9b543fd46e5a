import { readFile, rename, writeFile } from "node:fs/promises";
import { loadHostConfig } from "../../common/host-config.js";
import { haPaths } from "../../common/paths.js";
import {
  type ConfArchive,
  type ConfMemberName,
  readConfArchive,
  updateConfMember,
} from "../../storage/archive/conf-archive.js";
import { ArchiveConflictError } from "../../storage/archive/errors.js";
import { regionMd5 } from "../../storage/archive/volume.js";
import { haVolumes } from "../../storage/domain.js";
import { CliError } from "../errors.js";
import {
  type ConfigSource,
  type ConfigType,
  getKey,
  HE_OPTIONAL_KEYS,
  resolveSource,
  TAKES_EFFECT,
  withKeySet,
} from "../shared-config.js";

const ARCHIVE_MEMBERS: Partial<Record<ConfigType, ConfMemberName>> = {
  he_shared: "hosted-engine.conf",
  broker: "broker.conf",
  vm: "vm.conf",
};

async function readOptional(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return "";
    throw new CliError(`${file}: cannot read: ${(e as Error).message}`);
  }
}

export interface Loaded {
  sources: ConfigSource[];
  archive: ConfArchive | undefined;
}

/** Reads the sources `type` may need (all when no type): local files, and the archive for shared types. */
export async function loadSources(type: string | undefined): Promise<Loaded> {
  const paths = haPaths();
  const conf = await loadHostConfig(paths.hostConf);
  const sources: ConfigSource[] = [];
  const wantArchive = type === undefined || ARCHIVE_MEMBERS[type as ConfigType] !== undefined;
  let archive: ConfArchive | undefined;
  if (wantArchive) {
    const volume = haVolumes(conf, paths).conf;
    if (!volume) {
      throw new CliError(
        `${paths.hostConf}: conf_image_UUID/conf_volume_UUID are not set: the configuration is not on shared storage`,
      );
    }
    archive = await readConfArchive(volume);
  }
  const keyValue = (
    t: ConfigType,
    where: string,
    text: string,
    optional: readonly string[] = [],
  ): ConfigSource => ({
    type: t,
    where,
    format: "keyvalue",
    text,
    optionalKeys: optional,
  });
  sources.push(
    keyValue("he_local", paths.hostConf, await readOptional(paths.hostConf), HE_OPTIONAL_KEYS),
  );
  if (archive) {
    const at = (m: string) => `${m} in the configuration archive ${archive.volume}`;
    sources.push(
      keyValue(
        "he_shared",
        at("hosted-engine.conf"),
        archive.members["hosted-engine.conf"],
        HE_OPTIONAL_KEYS,
      ),
    );
    sources.push({
      type: "broker",
      where: at("broker.conf"),
      format: "ini",
      text: archive.members["broker.conf"],
      optionalKeys: [],
    });
    sources.push(keyValue("vm", at("vm.conf"), archive.members["vm.conf"]));
  }
  sources.push(keyValue("ha", paths.haConf, await readOptional(paths.haConf)));
  return { sources, archive };
}

async function writeLocal(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: 0o644 });
  await rename(tmp, file);
}

/**
 * Writes the new text of `src`: local files atomically; archive members with the
 * archive's compare-and-swap, checked against the very read the new text came from.
 */
export async function store(
  src: ConfigSource,
  text: string,
  archive: ConfArchive | undefined,
): Promise<void> {
  const member = ARCHIVE_MEMBERS[src.type];
  if (member === undefined) {
    await writeLocal(src.type === "ha" ? haPaths().haConf : haPaths().hostConf, text);
    return;
  }
  const read = archive!;
  try {
    await updateConfMember(read.volume, member, text, {
      beforeWrite: async () => {
        if ((await regionMd5(read.volume, read.regionLength)) !== read.md5)
          throw new ArchiveConflictError(read.volume);
      },
    });
  } catch (e) {
    if (e instanceof ArchiveConflictError) throw new CliError(e.message);
    throw e;
  }
}

/** `he-ha config get KEY`. */
export async function configGet(
  key: string,
  opts: { type?: string; json?: boolean },
): Promise<void> {
  const { sources } = await loadSources(opts.type);
  const src = resolveSource(sources, key, opts.type);
  const value = getKey(src, key);
  if (opts.json)
    process.stdout.write(`${JSON.stringify({ key, value: value ?? null, type: src.type })}\n`);
  else process.stdout.write(`\n${key} : ${value ?? "None"}, type : ${src.type}\n\n`);
}

/** `he-ha config set KEY VALUE`. */
export async function configSet(
  key: string,
  value: string,
  opts: { type?: string; json?: boolean },
): Promise<void> {
  const { sources, archive } = await loadSources(opts.type);
  const src = resolveSource(sources, key, opts.type);
  const previous = getKey(src, key);
  if (previous !== value) await store(src, withKeySet(src, key, value), archive);
  const takesEffect = TAKES_EFFECT[src.type];
  if (opts.json) {
    process.stdout.write(
      `${JSON.stringify({ key, value, previous: previous ?? null, type: src.type, where: src.where, takes_effect: previous === value ? null : takesEffect })}\n`,
    );
  } else if (previous === value) {
    process.stdout.write(
      `${key} is already ${value} in ${src.type} (${src.where}); nothing written\n`,
    );
  } else {
    process.stdout.write(
      `${key}: ${previous ?? "None"} -> ${value} in ${src.type} (${src.where})\ntakes effect: ${takesEffect}\n`,
    );
  }
}
