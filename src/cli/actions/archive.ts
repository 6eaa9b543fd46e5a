import { readFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import {
  buildConfArchive,
  CONF_MEMBERS,
  type ConfContents,
  DEFAULT_VERSION_MEMBER,
  findMember,
  memberName,
  missingConfMembers,
} from "../../storage/archive/conf-archive.js";
import { readTarVolume, writeAtStart } from "../../storage/archive/volume.js";
import { CliError } from "../errors.js";

/** What `he-ha archive create|list|extract` do; loaded by their actions, not at start-up. */

const gzipAsync = promisify(gzip);

async function readMemberFiles(dir: string): Promise<ConfContents> {
  const contents = {} as ConfContents;
  for (const name of CONF_MEMBERS) {
    const file = path.join(dir, name);
    try {
      contents[name] = await readFile(file, "utf8");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (name === "version" && code === "ENOENT") contents[name] = DEFAULT_VERSION_MEMBER;
      else throw new CliError(`${file}: cannot read member "${name}": ${(e as Error).message}`);
    }
  }
  return contents;
}

export async function createArchive(opts: {
  from: string;
  out: string;
  gzip?: boolean;
  json?: boolean;
}): Promise<void> {
  const plain = buildConfArchive(await readMemberFiles(opts.from), opts.out);
  const bytes = opts.gzip ? await gzipAsync(plain) : plain;
  await writeAtStart(opts.out, bytes);
  const result = {
    out: opts.out,
    bytes: bytes.length,
    compressed: Boolean(opts.gzip),
    members: [...CONF_MEMBERS],
  };
  if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else
    process.stdout.write(
      `${opts.out}: ${bytes.length} bytes${opts.gzip ? " (gzip)" : ""}, members ${CONF_MEMBERS.join(", ")}\n`,
    );
}

export async function listArchive(file: string, opts: { json?: boolean }): Promise<void> {
  const tar = await readTarVolume(file);
  const missing = missingConfMembers(tar);
  const members = tar.entries.map((e) => ({
    name: memberName(e),
    size: e.data.length,
    mode: e.mode,
    mtime: e.mtime,
    type: e.type,
  }));
  if (opts.json) {
    process.stdout.write(
      `${JSON.stringify({ file, compressed: tar.compressed, valid: missing.length === 0, missing, members })}\n`,
    );
  } else {
    for (const m of members) process.stdout.write(`${String(m.size).padStart(8)}  ${m.name}\n`);
    process.stdout.write(
      missing.length === 0
        ? `valid configuration archive (${tar.compressed ? "gzip" : "plain"})\n`
        : `not a valid configuration archive: missing ${missing.join(", ")}\n`,
    );
  }
  if (missing.length > 0) process.exitCode = 1;
}

export async function extractMember(file: string, member: string): Promise<void> {
  const tar = await readTarVolume(file);
  const data = findMember(tar.entries, member);
  if (data === undefined) throw new CliError(`${file}: the archive has no member "${member}"`);
  process.stdout.write(data);
}
