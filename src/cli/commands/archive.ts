import { readFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import type { Command } from "commander";
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
import { group, withJson } from "../program.js";

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

export function register(program: Command): void {
  const archive = group(
    program,
    "archive",
    "configuration archives (the tar on the configuration volume)",
  );

  withJson(
    archive
      .command("create")
      .description(
        "build a configuration archive from DIR/{version,fhanswers.conf,hosted-engine.conf,broker.conf,vm.conf}",
      )
      .requiredOption("--from <dir>", "directory holding the member files (version is optional)")
      .requiredOption("--out <file>", "archive file or volume to write at offset 0")
      .option("--gzip", "gzip-compress the archive (readers accept both)"),
  ).action(async (opts: { from: string; out: string; gzip?: boolean; json?: boolean }) => {
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
  });

  withJson(
    archive
      .command("list")
      .description(
        "list the members of the archive at offset 0 of FILE (plain or gzip); exit 1 unless all five configuration members are there",
      )
      .argument("<file>", "archive file or volume"),
  ).action(async (file: string, opts: { json?: boolean }) => {
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
  });

  archive
    .command("extract")
    .description("print one member of the archive at offset 0 of FILE")
    .argument("<file>", "archive file or volume")
    .argument("<member>", "member name, e.g. hosted-engine.conf")
    .action(async (file: string, member: string) => {
      const tar = await readTarVolume(file);
      const data = findMember(tar.entries, member);
      if (data === undefined) throw new CliError(`${file}: the archive has no member "${member}"`);
      process.stdout.write(data);
    });
}
