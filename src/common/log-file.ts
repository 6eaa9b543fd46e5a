import { accessSync, constants, mkdirSync } from "node:fs";
import path from "node:path";
import pino, { type DestinationStream } from "pino";
import { formatJsonLine } from "./log-line.js";

/**
 * The log files beside the journal, where sosreport and support engineers look as they
 * did with the Python services: /var/log/ovirt-hosted-engine-ha/{agent,broker}.log. On
 * for the installed services (the units set HE_HA_LOG_DIR; an empty value in
 * /etc/sysconfig/ovirt-ha-{agent,broker} turns them off), off for a daemon started by
 * hand without it. One text line per record (log-line.ts), or pino's JSON lines with
 * HE_HA_LOG_FILE_FORMAT=json.
 *
 * Rotation is logrotate's (packaging/logrotate/ovirt-hosted-engine-ha: daily, 7 kept,
 * like the original's TimedRotatingFileHandler('d', 1, 7)); after moving the file it
 * sends SIGHUP, on which the daemon reopens its log file by name.
 */
export const LOG_DIR_ENV = "HE_HA_LOG_DIR";
export const LOG_FILE_FORMAT_ENV = "HE_HA_LOG_FILE_FORMAT";
export const LOG_FILE_FORMATS = ["text", "json"] as const;
export type LogFileFormat = (typeof LOG_FILE_FORMATS)[number];
/** The signal logrotate's postrotate sends; the daemon then reopens its log file. */
export const LOG_REOPEN_SIGNAL = "SIGHUP";

export interface LogFileSettings {
  /** the file written, e.g. /var/log/ovirt-hosted-engine-ha/agent.log */
  file: string;
  format: LogFileFormat;
}

export class LogFileConfigError extends Error {
  override name = "LogFileConfigError";
}

/** `ovirt-ha-agent` → `agent.log`, `ovirt-ha-broker` → `broker.log`. */
export function logFileName(program: string): string {
  return `${program.replace(/^ovirt-ha-/, "")}.log`;
}

/**
 * Pure: the log file settings from the environment, or null when HE_HA_LOG_DIR is unset
 * or empty. A relative directory or an unknown format throws LogFileConfigError naming
 * the variable.
 */
export function logFileSettings(program: string, env: NodeJS.ProcessEnv): LogFileSettings | null {
  const dir = env[LOG_DIR_ENV]?.trim();
  if (!dir) return null;
  if (!path.isAbsolute(dir))
    throw new LogFileConfigError(`${LOG_DIR_ENV}="${dir}" is not an absolute directory path`);
  const format = (env[LOG_FILE_FORMAT_ENV]?.trim().toLowerCase() || "text") as LogFileFormat;
  if (!LOG_FILE_FORMATS.includes(format))
    throw new LogFileConfigError(
      `${LOG_FILE_FORMAT_ENV}="${env[LOG_FILE_FORMAT_ENV]}" is not one of ${LOG_FILE_FORMATS.join(", ")}`,
    );
  return { file: path.join(dir, logFileName(program)), format };
}

export interface LogFile {
  /** takes pino's JSON lines */
  stream: DestinationStream;
  /** reopens the file by name (after logrotate moved it) */
  reopen(): void;
}

/**
 * Opens the log file for appending (creating its directory), mode 0640; it is reopened
 * on SIGHUP once reopenLogFilesOnSignal() is installed (daemonLogger does). Throws, naming the directory, when it cannot be created or written; write
 * errors later are passed to `onError` (the caller then stops writing the file, the
 * journal keeps every line). Writes are asynchronous (sonic-boom), never blocking the loop.
 */
export function openLogFile(s: LogFileSettings, onError: (err: Error) => void): LogFile {
  const dir = path.dirname(s.file);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o750 });
    accessSync(dir, constants.W_OK);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new LogFileConfigError(`cannot write log files in ${dir}: ${err.code ?? err.message}`);
  }
  const boom = pino.destination({ dest: s.file, append: true, sync: false, mode: 0o640 });
  boom.on("error", onError);
  const name = path.basename(s.file, ".log");
  const stream: DestinationStream =
    s.format === "json"
      ? boom
      : { write: (line: string) => boom.write(formatJsonLine(line, `ovirt-ha-${name}`)) };
  const reopen = () => boom.reopen();
  reopeners.add(reopen);
  return { stream, reopen };
}

const reopeners = new Set<() => void>();
let reopenInstalled = false;

/**
 * Installs, once, the SIGHUP handler of a daemon: every open log file is reopened. A
 * daemon without a log file ignores SIGHUP rather than dying of it (Node's default), so
 * a postrotate signal after the files were turned off harms nothing.
 */
export function reopenLogFilesOnSignal(): void {
  if (reopenInstalled) return;
  reopenInstalled = true;
  process.on(LOG_REOPEN_SIGNAL, () => {
    for (const reopen of reopeners) reopen();
  });
}
