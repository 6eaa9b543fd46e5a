import { readFile } from "node:fs/promises";
import ini from "ini";

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

function section(doc: Record<string, unknown>, name: string): Record<string, string> {
  const raw = doc[name];
  const out: Record<string, string> = {};
  if (typeof raw !== "object" || raw === null) return out;
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof v !== "object" || v === null) out[k.toLowerCase()] = String(v).trim();
  }
  return out;
}

/** broker.conf text → settings; absent sections give defaults and no rules. */
export function parseNotifyConfig(text: string): NotifyConfig {
  const doc = ini.parse(text) as Record<string, unknown>;
  return {
    email: { ...DEFAULT_SMTP, ...section(doc, "email") },
    rules: section(doc, "notify"),
  };
}

/** Reads broker.conf afresh (the original re-reads it on every notify); absent file = no rules. */
export async function loadNotifyConfig(file: string): Promise<NotifyConfig> {
  let text = "";
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  return parseNotifyConfig(text);
}

/** `destination-emails`: addresses separated by commas and/or spaces. */
export function splitAddresses(list: string): string[] {
  return list.split(/[\s,]+/).filter((a) => a !== "");
}
