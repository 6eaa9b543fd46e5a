/**
 * The text line of the log files (/var/log/ovirt-hosted-engine-ha/{agent,broker}.log),
 * shaped like the Python services' (agent-log.conf's `long` formatter:
 * `thread::LEVEL::asctime::module::lineno::logger::(func) message`) so a person and the
 * greps support engineers already use (`::ERROR::`, `::WARNING::`) read it:
 *
 *   MainThread::INFO::2026-12-07 20:00:00,123::agent::ovirt-ha-agent::Current state EngineUp host_id=1 score=3400
 *
 * Fields: the thread (always MainThread: every line is written on Node's main thread),
 * Python's level name, the local time as Python's asctime writes it, the component (a
 * child logger's `component` binding, else the daemon's short name), the logger name,
 * then the message and every other structured field as ` key=value`. Python's lineno and
 * funcName have no counterpart here and are left out rather than faked. An error's stack
 * follows on the next lines, as Python's traceback does.
 *
 * Pure: a parsed pino record in, one string (ending in a newline) out.
 */

/** pino level number → the level name Python's logging writes. */
export function pythonLevelName(level: number): string {
  if (level >= 60) return "CRITICAL";
  if (level >= 50) return "ERROR";
  if (level >= 40) return "WARNING";
  if (level >= 30) return "INFO";
  if (level >= 20) return "DEBUG";
  return "TRACE";
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** `2026-12-07 20:00:00,123` in local time, Python's asctime. */
export function asctime(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())},${pad(d.getMilliseconds(), 3)}`;
}

/** Fields of a pino record that have their own place in the line (or none). */
const PLACED = new Set(["level", "time", "pid", "hostname", "name", "msg", "component"]);

const BARE = /^[^\s"=\\]+$/;

function fieldValue(v: unknown): string {
  if (typeof v === "string") return BARE.test(v) ? v : JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean" || v === null) return String(v);
  return JSON.stringify(v) ?? String(v);
}

interface ErrorLike {
  message?: unknown;
  stack?: unknown;
}

function isErrorLike(v: unknown): v is ErrorLike {
  return typeof v === "object" && v !== null && ("stack" in v || "message" in v);
}

/** One pino record (as parsed from its JSON line) as the text line of the log file. */
export function formatLogLine(rec: Record<string, unknown>, fallbackName = "ovirt-ha"): string {
  const level = typeof rec.level === "number" ? rec.level : 30;
  const time =
    typeof rec.time === "string" || typeof rec.time === "number" ? new Date(rec.time) : undefined;
  const stamp = time && !Number.isNaN(time.getTime()) ? asctime(time) : "-";
  const name = typeof rec.name === "string" ? rec.name : fallbackName;
  const component =
    typeof rec.component === "string" ? rec.component : name.replace(/^ovirt-ha-/, "");
  const msg = typeof rec.msg === "string" ? rec.msg.replace(/\r?\n/g, "\\n") : "";
  const fields: string[] = [];
  const stacks: string[] = [];
  for (const [k, v] of Object.entries(rec)) {
    if (PLACED.has(k) || v === undefined) continue;
    if (isErrorLike(v)) {
      fields.push(`${k}=${fieldValue(typeof v.message === "string" ? v.message : v)}`);
      if (typeof v.stack === "string") stacks.push(v.stack);
      continue;
    }
    fields.push(`${k}=${fieldValue(v)}`);
  }
  const head = `MainThread::${pythonLevelName(level)}::${stamp}::${component}::${name}::${msg}`;
  const line = fields.length > 0 ? `${head} ${fields.join(" ")}` : head;
  return `${[line, ...stacks].join("\n")}\n`;
}

/** A JSON line of pino's as the text line; a line that is not JSON is kept as it is. */
export function formatJsonLine(json: string, fallbackName?: string): string {
  let rec: unknown;
  try {
    rec = JSON.parse(json);
  } catch {
    return json.endsWith("\n") ? json : `${json}\n`;
  }
  if (typeof rec !== "object" || rec === null || Array.isArray(rec))
    return json.endsWith("\n") ? json : `${json}\n`;
  return formatLogLine(rec as Record<string, unknown>, fallbackName);
}
