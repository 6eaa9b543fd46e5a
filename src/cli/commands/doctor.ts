import type { Command } from "commander";
import { UsageError } from "../errors.js";
import { withJson } from "../program.js";

export function register(program: Command): void {
  withJson(
    program
      .command("doctor")
      .description(
        "check what makes failover fail (equal agent.conf on every host, host ids, stale hosts, network test, storage latency, sector size, clock skew, watchdog, lock manager, VDSM, SELinux); exit 2 on an error, 1 on a warning",
      )
      .option(
        "--stale-after <seconds>",
        "a host block unchanged this long is stale (default 3600)",
      ),
  ).action(async (opts: { json?: boolean; staleAfter?: string }) => {
    const stale = opts.staleAfter === undefined ? undefined : Number(opts.staleAfter);
    if (stale !== undefined && !(Number.isFinite(stale) && stale >= 0)) {
      throw new UsageError(`--stale-after "${opts.staleAfter}" is not a number of seconds`);
    }
    const { withBroker } = await import("../broker-connection.js");
    const { exitCode } = await import("../../doctor/checks.js");
    const { formatFindings } = await import("../../doctor/format.js");
    const query = stale === undefined ? "" : `?stale_after=${stale}`;
    const doc = await withBroker((b) =>
      b.getJson<{ findings: import("../../doctor/checks.js").Finding[] }>(`/v1/doctor${query}`),
    );
    process.stdout.write(
      opts.json ? `${JSON.stringify(doc, null, 2)}\n` : formatFindings(doc.findings),
    );
    process.exitCode = exitCode(doc.findings);
  });
}
