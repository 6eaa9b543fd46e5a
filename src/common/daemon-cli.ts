import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { isLogLevel, LOG_LEVELS, type LogLevel } from "./log.js";
import { versionLine } from "./version.js";

/**
 * Command-line handling shared by ovirt-ha-broker and ovirt-ha-agent: --help, --version,
 * --log-level, --log-pretty/--no-log-pretty, --root, plus per-daemon extra options.
 */

export interface DaemonOptions {
  /** --log-level; undefined = not given (fall back to HE_HA_LOG_LEVEL, config, "info") */
  logLevel: LogLevel | undefined;
  /** --log-pretty → true, --no-log-pretty → false, neither → undefined (pretty on a TTY) */
  logPretty: boolean | undefined;
  /** --root, else $HE_HA_ROOT, else "/": prefix of every default path (haPaths(root)) */
  root: string;
}

/** One extra option of a daemon, in commander's terms. */
export interface ExtraOption {
  /** e.g. "--host-id <n>" or "--cleanup" */
  flags: string;
  description: string;
  /** converts the argument; throw InvalidArgumentError (or any Error) for bad input → exit 2 */
  parse?: (value: string) => unknown;
  defaultValue?: unknown;
}

export interface ParsedDaemonArgs extends DaemonOptions {
  /** the extra options' values, keyed by commander's camel-cased attribute name */
  extra: Record<string, unknown>;
}

export type DaemonArgsOutcome<T> =
  | { kind: "run"; options: T }
  | { kind: "exit"; code: 0 | 2; stdout: string; stderr: string };

const DESCRIPTIONS: Record<string, string> = {
  "ovirt-ha-broker":
    "oVirt hosted-engine HA broker: watches this host, reads and writes the shared whiteboard, " +
    "serves the local API socket, exposes metrics and sends notifications.",
  "ovirt-ha-agent":
    "oVirt hosted-engine HA agent: joins the sanlock lockspace, keeps the configuration fresh " +
    "and runs the state machine that starts and stops the engine VM.",
};

const ENVIRONMENT_HELP = `
Environment:
  HE_HA_ROOT        prefix of every default path (default /), same as --root
  HE_HA_LOG_LEVEL   log level when --log-level is not given
  HE_HA_LOG_PRETTY  1 = human-readable logs, 0 = JSON lines (default: pretty on a TTY)
  NOTIFY_SOCKET     set by systemd (Type=notify): readiness and watchdog are reported to it

Logs are JSON lines on stdout (journald); exit status 0 = clean stop, 1 = failure,
2 = bad command line.`;

function parseLogLevel(value: string): LogLevel {
  const v = value.trim().toLowerCase();
  if (!isLogLevel(v)) throw new InvalidArgumentError(`must be one of ${LOG_LEVELS.join(", ")}.`);
  return v;
}

function buildCommand(
  name: string,
  extraOptions: readonly ExtraOption[],
  out: { stdout: string; stderr: string },
) {
  const program = new Command(name)
    .description(DESCRIPTIONS[name] ?? `${name} (hosted-engine HA daemon)`)
    .version(versionLine(name), "-V, --version", "print the version and exit")
    .helpOption("-h, --help", "print this help and exit")
    .addOption(
      new Option("--log-level <level>", "minimum level logged")
        .choices(LOG_LEVELS)
        .argParser(parseLogLevel),
    )
    .option("--log-pretty", "human-readable, colourised logs (default on a TTY)")
    .option("--no-log-pretty", "JSON log lines even on a TTY")
    .option("--root <dir>", "prefix of every default path, like HE_HA_ROOT")
    .addHelpText("after", ENVIRONMENT_HELP)
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => {
        out.stdout += s;
      },
      writeErr: (s) => {
        out.stderr += s;
      },
    });
  for (const extra of extraOptions) {
    const opt = new Option(extra.flags, extra.description);
    if (extra.parse) {
      const parse = extra.parse;
      opt.argParser((value: string) => {
        try {
          return parse(value);
        } catch (e) {
          if (e instanceof InvalidArgumentError) throw e;
          throw new InvalidArgumentError((e as Error).message);
        }
      });
    }
    if (extra.defaultValue !== undefined) opt.default(extra.defaultValue);
    program.addOption(opt);
  }
  return program;
}

/**
 * Parses `argv` (the arguments after the executable, i.e. process.argv.slice(2)) without
 * exiting: "run" with the options, or "exit" with the code and what would be printed
 * (help and version on stdout with 0; usage errors on stderr with 2).
 */
export function daemonArgsOutcome(
  name: string,
  argv: readonly string[],
  extraOptions: readonly ExtraOption[] = [],
): DaemonArgsOutcome<ParsedDaemonArgs> {
  const out = { stdout: "", stderr: "" };
  const program = buildCommand(name, extraOptions, out);
  try {
    program.parse([...argv], { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) {
      const ok = e.code === "commander.helpDisplayed" || e.code === "commander.version";
      if (e.code === "commander.version") out.stdout = `${versionLine(name)}\n`;
      if (!ok && !out.stderr) out.stderr = `${e.message}\n`;
      return { kind: "exit", code: ok ? 0 : 2, ...out };
    }
    throw e;
  }
  const o = program.opts<
    { logLevel?: LogLevel; logPretty?: boolean; root?: string } & Record<string, unknown>
  >();
  const extra: Record<string, unknown> = {};
  for (const opt of program.options) {
    const key = opt.attributeName();
    if (["logLevel", "logPretty", "root", "version"].includes(key)) continue;
    extra[key] = o[key];
  }
  return {
    kind: "run",
    options: {
      logLevel: o.logLevel,
      logPretty: o.logPretty,
      root: o.root ?? (process.env.HE_HA_ROOT || "/"),
      extra,
    },
  };
}

/** Writes an "exit" outcome and exits the process; returns the options of a "run" one. */
function settle<T>(name: string, outcome: DaemonArgsOutcome<T>): T {
  if (outcome.kind === "run") return outcome.options;
  if (outcome.stdout) process.stdout.write(outcome.stdout);
  if (outcome.stderr) {
    process.stderr.write(
      outcome.stderr.startsWith("error:") ? `${name}: ${outcome.stderr}` : outcome.stderr,
    );
    if (outcome.code === 2) process.stderr.write(`Try '${name} --help'.\n`);
  }
  process.exit(outcome.code);
}

/**
 * The daemons' argument parser: returns the options to run with, or prints help/version
 * and exits 0, or prints the usage error and exits 2. Call it before anything else.
 */
export function parseDaemonArgs(
  name: string,
  argv: readonly string[],
  extraOptions: readonly ExtraOption[] = [],
): ParsedDaemonArgs {
  return settle(name, daemonArgsOutcome(name, argv, extraOptions));
}

// ---- the two daemons' typed front ends ----

export type BrokerOptions = DaemonOptions;

export interface AgentOptions extends DaemonOptions {
  /** --cleanup: erase this host's whiteboard segment (only if it says stopped) and exit */
  cleanup: boolean;
  /** --force-cleanup / --force: with --cleanup, erase even when the segment is not clean */
  forceCleanup: boolean;
  /** --host-id N: override hosted-engine.conf host_id */
  hostId: number | undefined;
}

function parseHostId(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n < 1 || n > 2000) {
    throw new InvalidArgumentError("must be an integer in 1..2000.");
  }
  return n;
}

export const AGENT_EXTRA_OPTIONS: readonly ExtraOption[] = Object.freeze([
  {
    flags: "--cleanup",
    description: "erase this host's metadata segment (when it says stopped) and exit",
  },
  {
    flags: "--force-cleanup",
    description: "with --cleanup: erase the segment even when it is not clean",
  },
  { flags: "--force", description: "same as --force-cleanup" },
  {
    flags: "--host-id <n>",
    description: "use this host id instead of hosted-engine.conf's",
    parse: parseHostId,
  },
]);

function withoutExtra({ extra: _extra, ...rest }: ParsedDaemonArgs): DaemonOptions {
  return rest;
}

/** ovirt-ha-agent's arguments, typed; same outcome rules as daemonArgsOutcome. */
export function agentArgsOutcome(argv: readonly string[]): DaemonArgsOutcome<AgentOptions> {
  const outcome = daemonArgsOutcome("ovirt-ha-agent", argv, AGENT_EXTRA_OPTIONS);
  if (outcome.kind === "exit") return outcome;
  const { extra } = outcome.options;
  const forceCleanup = extra.forceCleanup === true || extra.force === true;
  const cleanup = extra.cleanup === true;
  if (forceCleanup && !cleanup) {
    return {
      kind: "exit",
      code: 2,
      stdout: "",
      stderr: "error: --force-cleanup only makes sense with --cleanup\n",
    };
  }
  return {
    kind: "run",
    options: {
      ...withoutExtra(outcome.options),
      cleanup,
      forceCleanup,
      hostId: typeof extra.hostId === "number" ? extra.hostId : undefined,
    },
  };
}

/** ovirt-ha-broker's arguments, typed. */
export function brokerArgsOutcome(argv: readonly string[]): DaemonArgsOutcome<BrokerOptions> {
  const outcome = daemonArgsOutcome("ovirt-ha-broker", argv);
  if (outcome.kind === "exit") return outcome;
  return { kind: "run", options: withoutExtra(outcome.options) };
}

/** For src/bin/ovirt-ha-agent.ts: options, or help/version (exit 0) / usage error (exit 2). */
export function parseAgentArgs(argv: readonly string[]): AgentOptions {
  return settle("ovirt-ha-agent", agentArgsOutcome(argv));
}

/** For src/bin/ovirt-ha-broker.ts: options, or help/version (exit 0) / usage error (exit 2). */
export function parseBrokerArgs(argv: readonly string[]): BrokerOptions {
  return settle("ovirt-ha-broker", brokerArgsOutcome(argv));
}
