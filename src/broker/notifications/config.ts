import { readFile } from "node:fs/promises";
import { configText, type IniSchema, parseStrictIni } from "../../common/strict-ini.js";

/** `[email]` of broker.conf, with the original's defaults. */
export interface SmtpSettings {
  "smtp-server": string;
  "smtp-port": string;
  "smtp-timeout": string;
  "destination-emails": string;
  "source-email": string;
  /** any other key of [email], usable as a template placeholder */
  [key: string]: string;
}

export const DEFAULT_SMTP: Readonly<SmtpSettings> = Object.freeze({
  "destination-emails": "root@localhost",
  "source-email": "root@localhost",
  "smtp-server": "localhost",
  "smtp-port": "25",
  "smtp-timeout": "10",
});

export interface NotifyConfig {
  email: SmtpSettings;
  /** `[notify]`: event type → regex, keys lower-cased as configparser does */
  rules: Record<string, string>;
}

/** [email] keys are template placeholders too; [notify] keys are event types */
const BROKER_CONF_SCHEMA: IniSchema = { email: "any", notify: "any" };

/**
 * broker.conf text → settings; absent sections give defaults and no rules. A line that
 * is not INI or a section other than [email] and [notify] throws ConfigSyntaxError
 * naming the file and line.
 */
export function parseNotifyConfig(text: string, file = "broker.conf"): NotifyConfig {
  const doc = parseStrictIni(text, file, BROKER_CONF_SCHEMA);
  return {
    email: { ...DEFAULT_SMTP, ...Object.fromEntries(doc.get("email") ?? []) },
    rules: Object.fromEntries(doc.get("notify") ?? []),
  };
}

/** Reads broker.conf afresh (the original re-reads it on every notify); absent file = no rules. */
export async function loadNotifyConfig(file: string): Promise<NotifyConfig> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    buf = Buffer.alloc(0);
  }
  return parseNotifyConfig(configText(buf, file), file);
}

/** `destination-emails`: addresses separated by commas and/or spaces. */
export function splitAddresses(list: string): string[] {
  return list.split(/[\s,]+/).filter((a) => a !== "");
}
