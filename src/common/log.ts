import pino, { type Logger } from "pino";

export type { Logger };

export interface LogOptions {
  name: string;
  level?: string;
  /** human-readable output (pino-pretty); default: on when stdout is a TTY */
  pretty?: boolean;
}

/** Structured JSON logs to stdout (journald picks them up); pretty on a TTY. */
export function createLogger(opts: LogOptions): Logger {
  const pretty = opts.pretty ?? process.stdout.isTTY === true;
  return pino({
    name: opts.name,
    level: opts.level ?? process.env.HE_HA_LOG_LEVEL ?? "info",
    base: { pid: process.pid },
    ...(pretty ? { transport: { target: "pino-pretty", options: { colorize: true } } } : {}),
  });
}

/** A logger that writes nothing, for pure code under test. */
export const silentLogger: Logger = pino({ level: "silent" });
