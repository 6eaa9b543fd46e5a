import type { Command } from "commander";
import { group, withJson } from "../program.js";

/** The implementations (tar, gzip, the archive codec) load in the actions, not at start-up. */
const actions = () => import("../actions/archive.js");

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
      .option(
        "--gzip",
        "gzip-compress the archive (a reader test input: he-ha reads it, the Python heconflib does not; never write it to a cluster's volume)",
      ),
  ).action(async (opts: { from: string; out: string; gzip?: boolean; json?: boolean }) =>
    (await actions()).createArchive(opts),
  );

  withJson(
    archive
      .command("list")
      .description(
        "list the members of the archive at offset 0 of FILE (plain or gzip); exit 1 unless all five configuration members are there",
      )
      .argument("<file>", "archive file or volume"),
  ).action(async (file: string, opts: { json?: boolean }) =>
    (await actions()).listArchive(file, opts),
  );

  archive
    .command("extract")
    .description("print one member of the archive at offset 0 of FILE")
    .argument("<file>", "archive file or volume")
    .argument("<member>", "member name, e.g. hosted-engine.conf")
    .action(async (file: string, member: string) => (await actions()).extractMember(file, member));
}
