import pino, { type DestinationStream, type Logger } from "pino";
import { type LogFile, type LogFileSettings, openLogFile } from "./log-file.js";
import { stdoutIsJournal, withPriorityPrefix } from "./log-journal.js";

export type { Logger };

/** pino's levels, quietest last; "silent" turns logging off. */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function isLogLevel(s: string): s is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(s);
}

export class LogLevelError extends Error {
  override name = "LogLevelError";
  constructor(
    readonly source: string,
    readonly value: string,
  ) {
    super(`${source}: log level "${value}" is not one of ${LOG_LEVELS.join(", ")}`);
  }
}

export interface LogLevelSources {
  /** `--log-level` */
  cli?: string | undefined;
  /** a configuration file's value, with the name of its source for error messages */
  config?: { value: string; source: string } | undefined;
  /** environment, default process.env (`HE_HA_LOG_LEVEL`, e.g. from the units' EnvironmentFile) */
  env?: NodeJS.ProcessEnv;
}

/**
 * The level in force: `--log-level`, else `HE_HA_LOG_LEVEL`, else the config file's,
 * else "info". An invalid value throws LogLevelError naming where it came from.
 */
export function resolveLogLevel(sources: LogLevelSources = {}): LogLevel {
  const env = sources.env ?? process.env;
  const candidates: Array<[string, string | undefined]> = [
    ["--log-level", sources.cli],
    ["HE_HA_LOG_LEVEL", env.HE_HA_LOG_LEVEL || undefined],
    [sources.config?.source ?? "config", sources.config?.value],
  ];
  for (const [source, raw] of candidates) {
    if (raw === undefined) continue;
    const value = raw.trim().toLowerCase();
    if (!isLogLevel(value)) throw new LogLevelError(source, raw);
    return value;
  }
  return "info";
}

/** `HE_HA_LOG_PRETTY=1|true|yes` forces pretty output, `0|false|no` forces JSON. */
function prettyFromEnv(env: NodeJS.ProcessEnv): boolean | undefined {
  const v = env.HE_HA_LOG_PRETTY?.trim().toLowerCase();
  if (v === undefined || v === "") return undefined;
  if (["1", "true", "yes", "on"].includes(v)) return true;
  if (["0", "false", "no", "off"].includes(v)) return false;
  return undefined;
}

export interface LogOptions {
  name: string;
  /** default: resolveLogLevel() (HE_HA_LOG_LEVEL or "info") */
  level?: string;
  /** human-readable output (pino-pretty); default: HE_HA_LOG_PRETTY, else on when stdout is a TTY */
  pretty?: boolean;
  /** where JSON lines go (default stdout); ignored when pretty */
  destination?: DestinationStream;
  /** extra fields on every line, e.g. { host_id: 1 } */
  base?: Record<string, unknown>;
  /**
   * prefix each line with its journald priority (`<3>` …); default: stdout is the journal
   * stream systemd names in JOURNAL_STREAM (or HE_HA_LOG_JOURNAL_PREFIX), never for a
   * given `destination`
   */
  journal?: boolean;
  /** also write every line to this log file (text or JSON lines; not with pretty) */
  file?: LogFileSettings | null;
}

/**
 * Structured JSON logs, one object per line on stdout: journald stores them as they are
 * and `journalctl -o cat | jq` reads them back. Pretty, colourised output for humans on a
 * TTY or when asked for.
 */
export function createLogger(opts: LogOptions): Logger {
  const pretty = opts.pretty ?? prettyFromEnv(process.env) ?? process.stdout.isTTY === true;
  const level = opts.level ?? resolveLogLevel();
  const options = {
    name: opts.name,
    level,
    base: { pid: process.pid, ...opts.base },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (pretty) {
    return pino({
      ...options,
      transport: {
        target: "pino-pretty",
        options: {
          colorize: process.stdout.isTTY === true,
          translateTime: "SYS:standard",
          ignore: "pid,hostname",
        },
      },
    });
  }
  const journal = opts.journal ?? (opts.destination ? false : stdoutIsJournal());
  if (!journal && !opts.file) {
    return opts.destination ? pino(options, opts.destination) : pino(options);
  }
  const out = opts.destination ?? pino.destination({ dest: 1, sync: false });
  const main: DestinationStream = journal
    ? { write: (line: string) => out.write(withPriorityPrefix(line)) }
    : out;
  if (!opts.file) return pino(options, main);
  const file = opts.file;
  let failed: Error | undefined;
  let log: Logger | undefined;
  let fileStream: LogFile["stream"];
  try {
    fileStream = openLogFile(file, (err) => {
      if (failed) return;
      failed = err;
      log?.error({ err, path: file.file }, "log file failed: logging to the journal only");
    }).stream;
  } catch (err) {
    log = pino(options, main);
    log.error({ err, path: file.file }, "log file disabled: logging to the journal only");
    return log;
  }
  const guarded: DestinationStream = {
    write: (line: string) => {
      if (!failed) fileStream.write(line);
    },
  };
  log = pino(
    options,
    pino.multistream([
      { level: "trace", stream: main },
      { level: "trace", stream: guarded },
    ]),
  );
  return log;
}

/** A logger that writes nothing, for pure code under test. */
export const silentLogger: Logger = pino({ level: "silent" });
