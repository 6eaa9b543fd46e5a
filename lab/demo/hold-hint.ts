import { shellQuote } from "../../src/common/shell-quote.js";

/**
 * What `npm run demo -- --hold` prints so that the operator can try `he-ha` as each host of
 * the held cluster, from a checkout where `he-ha` is not on PATH: the compiled CLI by
 * its absolute path under node, with the host's HE_HA_ROOT (its configuration and broker
 * socket) and SANLOCK_RUN_DIR (its own sanlock daemon, which `vm start` and
 * `lockspace reinit` talk to). Pure.
 */
export interface HintHost {
  name: string;
  root: string;
  sanlockRunDir: string;
}

/** The command prefix that runs he-ha as `h`: env assignments, node, the CLI's path. */
export function heHaAs(h: HintHost, node: string, cli: string): string {
  return [
    `HE_HA_ROOT=${shellQuote(h.root)}`,
    `SANLOCK_RUN_DIR=${shellQuote(h.sanlockRunDir)}`,
    shellQuote(node),
    shellQuote(cli),
  ].join(" ");
}

/** The lines of the hint: one `status` command per host, then what else to try. */
export function holdHint(hosts: readonly HintHost[], node: string, cli: string): string[] {
  return [
    "cluster kept running; run he-ha as any host (copy a line; works from any directory):",
    ...hosts.map((h) => `  ${h.name}: ${heHaAs(h, node, cli)} status`),
    "  then e.g. `... vm status`, `... maintenance --mode global`, `... vm start` in place of `status`",
  ];
}
