import type { Command } from "commander";
import { haPaths } from "../../common/paths.js";
import type { DecodeResult } from "../../storage/whiteboard/types.js";
import { MAX_HOST_ID, SEGMENT_SIZE } from "../../storage/whiteboard/types.js";
import { CliError, UsageError } from "../errors.js";
import { group, withJson } from "../program.js";

interface CleanOptions {
  hostId?: string;
  force?: boolean;
  json?: boolean;
}

function parseHostId(text: string): number {
  const id = Number(text);
  if (!/^\d+$/.test(text) || id < 1 || id > MAX_HOST_ID) {
    throw new UsageError(`--host-id "${text}" is not a host id in 1..${MAX_HOST_ID}`);
  }
  return id;
}

/**
 * Why the segment must not be erased, or undefined when it may be. Only a block whose
 * agent published `stopped` is safe: a running agent would rewrite it within seconds and
 * a block that does not decode cannot show that the agent stopped.
 */
function refusal(decoded: DecodeResult | undefined): string | undefined {
  if (decoded === undefined) return undefined;
  if (!decoded.ok) {
    return `its block does not decode (${decoded.error.reason}), so it cannot show that its agent stopped`;
  }
  const b = decoded.block;
  if (b.stopped) return undefined;
  const state = b.extra.state ? `state ${b.extra.state}, ` : "";
  return `the agent on ${b.hostname} has not stopped (${state}score ${b.score}); stop ovirt-ha-agent there first`;
}

export function register(program: Command): void {
  withJson(
    group(program, "metadata", "the shared whiteboard (metadata volume)")
      .command("clean")
      .description(
        "erase a host's whiteboard segment (hosted-engine --clean-metadata); its agent must have stopped",
      )
      .option("--host-id <n>", "the host whose segment to erase (default: this host's host_id)")
      .option(
        "--force",
        "erase even when the block does not say the agent stopped (--force-clean)",
      ),
  ).action(async (opts: CleanOptions) => {
    // loaded here, not at startup: every he-ha run registers every command
    const { loadHostConfig } = await import("../../common/host-config.js");
    const { MetadataVolume } = await import("../../storage/direct-io.js");
    const { haVolumes } = await import("../../storage/domain.js");
    const { decodeHostBlock } = await import("../../storage/whiteboard/host-block-decode.js");
    const paths = haPaths();
    const requested = opts.hostId === undefined ? undefined : parseHostId(opts.hostId);
    const conf = await loadHostConfig(paths.hostConf);
    const hostId = requested ?? conf.hostId;
    const file = haVolumes(conf, paths).metadata;
    const volume = await MetadataVolume.open(file);
    try {
      const segment = await volume.readSegment(hostId);
      if (segment.length === 0 || segment[0] === 0) {
        report(
          opts,
          { hostId, path: file, cleaned: false, forced: false },
          `host ${hostId} has no metadata block in ${file}; nothing to clean`,
        );
        return;
      }
      const why = refusal(decodeHostBlock(segment, hostId));
      if (why !== undefined && !opts.force) {
        throw new CliError(
          `refusing to clean the metadata of host ${hostId}: ${why} (or use --force)`,
        );
      }
      await volume.writeSegment(hostId, Buffer.alloc(SEGMENT_SIZE));
      const forced = why !== undefined;
      const note = forced ? ` (forced: ${why})` : "";
      report(
        opts,
        { hostId, path: file, cleaned: true, forced },
        `cleaned the metadata of host ${hostId}: segment at byte ${hostId * SEGMENT_SIZE} of ${file} is now empty${note}`,
      );
    } finally {
      await volume.close();
    }
  });
}

function report(
  opts: CleanOptions,
  result: { hostId: number; path: string; cleaned: boolean; forced: boolean },
  text: string,
): void {
  process.stdout.write(opts.json ? `${JSON.stringify(result)}\n` : `${text}\n`);
}
