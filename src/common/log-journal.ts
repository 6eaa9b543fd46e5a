import { fstatSync } from "node:fs";

/**
 * journald's side of logging. A service's stdout is a stream socket to journald, which
 * gives every line one priority unless the line starts with an sd-daemon level prefix
 * (`<3>` = err, see sd-daemon(3)): then it strips the prefix and stores the line with
 * that PRIORITY, so `journalctl -p err` selects errors. systemd tells a service that its
 * stdout is the journal by `JOURNAL_STREAM=<device>:<inode>` of that socket
 * (systemd.exec(5)); the prefix is only written when fd 1 is that very socket, so a
 * redirected or piped stdout gets clean JSON.
 */

/** `HE_HA_LOG_JOURNAL_PREFIX=1|0` forces the prefix on or off (e.g. under systemd-cat, which sets no JOURNAL_STREAM). */
export const JOURNAL_PREFIX_ENV = "HE_HA_LOG_JOURNAL_PREFIX";

/** syslog priority of a pino level number: fatal → crit (2), error → err (3), warn → warning (4), info → info (6), debug/trace → debug (7). */
export function syslogPriority(pinoLevel: number): number {
  if (pinoLevel >= 60) return 2;
  if (pinoLevel >= 50) return 3;
  if (pinoLevel >= 40) return 4;
  if (pinoLevel >= 30) return 6;
  return 7;
}

const LEVEL_AT_START = /^\{"level":(\d+)/;

/** `{"level":50,...}` → `<3>{"level":50,...}`; a line without a leading level gets info. */
export function withPriorityPrefix(line: string): string {
  const m = LEVEL_AT_START.exec(line);
  return `<${m ? syslogPriority(Number(m[1])) : 6}>${line}`;
}

/** Pure: does `JOURNAL_STREAM` name the file `stat` describes? */
export function journalStreamIs(
  journalStream: string | undefined,
  stat: { dev: number | bigint; ino: number | bigint } | undefined,
): boolean {
  if (!journalStream || !stat) return false;
  const m = /^(\d+):(\d+)$/.exec(journalStream.trim());
  if (!m) return false;
  return BigInt(m[1] ?? "") === BigInt(stat.dev) && BigInt(m[2] ?? "") === BigInt(stat.ino);
}

/**
 * Whether stdout lines get the priority prefix: HE_HA_LOG_JOURNAL_PREFIX when set,
 * else whether fd 1 is the journal stream systemd names in JOURNAL_STREAM.
 */
export function stdoutIsJournal(env: NodeJS.ProcessEnv = process.env): boolean {
  const forced = env[JOURNAL_PREFIX_ENV]?.trim().toLowerCase();
  if (forced && ["1", "true", "yes", "on"].includes(forced)) return true;
  if (forced && ["0", "false", "no", "off"].includes(forced)) return false;
  if (!env.JOURNAL_STREAM) return false;
  let stat: { dev: bigint; ino: bigint } | undefined;
  try {
    stat = fstatSync(1, { bigint: true });
  } catch {
    stat = undefined;
  }
  return journalStreamIs(env.JOURNAL_STREAM, stat);
}
