import { accessSync, constants, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import type { createStream as CreateStream, RotatingFileStream } from "rotating-file-stream";

/**
 * rotating-file-stream is loaded only when a log file is configured (off by default):
 * it and what it pulls in cost ~2.7 MiB of RSS, and the agent's budget is 80 MB.
 * Synchronously (its CommonJS build), because loggers are made synchronously at start.
 */
function loadCreateStream(): typeof CreateStream {
  const require = createRequire(import.meta.url);
  return (require("rotating-file-stream") as { createStream: typeof CreateStream }).createStream;
}

/**
 * Optional log files beside the journal, for sosreport and log collectors that read
 * /var/log/ovirt-hosted-engine-ha/{agent,broker}.log as they did with the Python
 * services. Off unless HE_HA_LOG_DIR is set (the units' EnvironmentFile,
 * /etc/default/ovirt-ha-{agent,broker} or /etc/sysconfig/...). Rotation is logrotate's
 * classic scheme done in-process by rotating-file-stream: agent.log, agent.log.1, ...
 */
export const LOG_DIR_ENV = "HE_HA_LOG_DIR";
export const LOG_FILE_SIZE_ENV = "HE_HA_LOG_FILE_SIZE";
export const LOG_FILE_KEEP_ENV = "HE_HA_LOG_FILE_KEEP";
export const DEFAULT_LOG_FILE_SIZE = "10M";
export const DEFAULT_LOG_FILE_KEEP = 5;

export interface LogFileSettings {
  /** the file written now, e.g. /var/log/ovirt-hosted-engine-ha/agent.log */
  file: string;
  /** rotate when the file reaches this size (rotating-file-stream syntax: 10M, 500K, 1G) */
  size: string;
  /** rotated files kept (agent.log.1 … agent.log.N) */
  keep: number;
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
 * or empty. Bad sizes and counts throw LogFileConfigError naming the variable.
 */
export function logFileSettings(program: string, env: NodeJS.ProcessEnv): LogFileSettings | null {
  const dir = env[LOG_DIR_ENV]?.trim();
  if (!dir) return null;
  if (!path.isAbsolute(dir))
    throw new LogFileConfigError(`${LOG_DIR_ENV}="${dir}" is not an absolute directory path`);
  const size = env[LOG_FILE_SIZE_ENV]?.trim() || DEFAULT_LOG_FILE_SIZE;
  if (!/^[1-9]\d*[BKMG]$/.test(size))
    throw new LogFileConfigError(
      `${LOG_FILE_SIZE_ENV}="${size}" is not a size like 500K, 10M or 1G`,
    );
  const keepRaw = env[LOG_FILE_KEEP_ENV]?.trim() || String(DEFAULT_LOG_FILE_KEEP);
  const keep = Number(keepRaw);
  if (!/^\d+$/.test(keepRaw) || keep < 1 || keep > 1000)
    throw new LogFileConfigError(
      `${LOG_FILE_KEEP_ENV}="${keepRaw}" is not a whole number of files from 1 to 1000`,
    );
  return { file: path.join(dir, logFileName(program)), size, keep };
}

/**
 * Opens the rotating log file (creating its directory). Throws, naming the path, when the
 * directory cannot be created or written; write errors later are passed to `onError`
 * (the file is then abandoned, the journal keeps every line).
 */
export function openLogFile(s: LogFileSettings, onError: (err: Error) => void): RotatingFileStream {
  const dir = path.dirname(s.file);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o750 });
    accessSync(dir, constants.W_OK);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new LogFileConfigError(`cannot write log files in ${dir}: ${err.code ?? err.message}`);
  }
  const stream = loadCreateStream()(path.basename(s.file), {
    path: dir,
    size: s.size,
    rotate: s.keep,
    mode: 0o640,
  });
  stream.on("error", onError);
  return stream;
}
