import type { DaemonOptions } from "./daemon-cli.js";
import { createLogger, type Logger, resolveLogLevel } from "./log.js";
import { type LogFileSettings, logFileSettings, reopenLogFilesOnSignal } from "./log-file.js";
import { setSystemdNotifyLogger } from "./systemd-notify.js";

/** How long a daemon waits for pino to flush its last lines before exiting. */
const FLUSH_MS = 100;

/**
 * The logger of a daemon executable (level and pretty printing from its command line),
 * also used for sd_notify failures. An unhandled rejection is logged, never fatal: a
 * daemon does not die of one bad request or probe.
 */
export function daemonLogger(
  name: string,
  args: Pick<DaemonOptions, "logLevel" | "logPretty">,
): Logger {
  // first: logrotate's SIGHUP must never kill a daemon, with or without a log file
  reopenLogFilesOnSignal();
  let file: LogFileSettings | null = null;
  let fileError: unknown;
  try {
    file = logFileSettings(name, process.env);
  } catch (e) {
    fileError = e;
  }
  const log = createLogger({
    name,
    level: resolveLogLevel({ cli: args.logLevel }),
    ...(args.logPretty === undefined ? {} : { pretty: args.logPretty }),
    file,
  });
  if (fileError) log.error({ err: fileError }, "log file disabled: logging to the journal only");
  setSystemdNotifyLogger(log);
  process.on("unhandledRejection", (reason) => {
    log.error(
      { err: reason instanceof Error ? reason.message : String(reason) },
      "unhandled rejection",
    );
  });
  return log;
}

/** Exits with `code` once the logger had time to flush. */
export async function exitAfterFlush(code: number): Promise<never> {
  await new Promise((r) => setTimeout(r, FLUSH_MS));
  process.exit(code);
}

/**
 * A daemon that cannot go on: logs `what` at fatal with the error, prints
 * "<name>: <message>" on stderr and exits 1.
 */
export function exitFatal(log: Logger, name: string, what: string, e: unknown): Promise<never> {
  const msg = e instanceof Error ? e.message : String(e);
  log.fatal({ err: msg, kind: e instanceof Error ? e.name : typeof e }, what);
  process.stderr.write(`${name}: ${msg}\n`);
  return exitAfterFlush(1);
}
