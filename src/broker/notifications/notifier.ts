import { readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Logger } from "../../common/log.js";
import type { NotifyResult } from "../env.js";
import { loadNotifyConfig, type SmtpSettings, splitAddresses } from "./config.js";
import { buildMessage } from "./message.js";
import { RepeatLimiter } from "./repeat-limit.js";
import { DEFAULT_TEMPLATES, formatTemplate } from "./template.js";

/** Counters for metrics (`ovirt_ha_notifications_*_total`). */
export interface NotificationStats {
  /** mails the SMTP server accepted */
  sent: number;
  /** mails that matched a rule but could not be built or sent */
  failed: number;
  /** calls with no rule or no match */
  ignored: number;
  /** matching calls held back as repeats (`[email] repeat-interval`) */
  suppressed: number;
}

export interface NotifierOptions {
  /** broker.conf (`/var/lib/ovirt-hosted-engine-ha/broker.conf`) */
  configFile: string;
  /** where `<event>.txt` templates live (`/etc/ovirt-hosted-engine-ha/notifications`) */
  templatesDir: string;
  log: Logger;
  /** default `{hostname}` when the caller does not pass one; os.hostname() */
  hostname?: string;
  now?: () => Date;
}

const EVENT_NAME = /^[A-Za-z0-9_-]+$/;

/** Default `[email] repeat-interval`: seconds between two mails of the same kind. */
export const DEFAULT_REPEAT_INTERVAL_S = 300;

function repeatIntervalSeconds(value: string | undefined): number {
  if (value === undefined || value === "") return DEFAULT_REPEAT_INTERVAL_S;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0)
    throw new Error(
      `broker.conf [email] repeat-interval="${value}" is not a number of seconds >= 0`,
    );
  return n;
}

/**
 * `notify(event_type, detail, options)` of behaviour.md §10 and the original broker:
 * broker.conf and the template are read afresh on every call; `[notify] <event>` is a
 * regex searched case-insensitively in `detail`; no rule or no match → "ignored". A
 * matching event is mailed through SMTP with the configured timeout; any failure (bad
 * regex, template, SMTP) is logged, counted, and answered "ignored" as the original
 * answered False. Never throws. Our addition: the same event, detail and host again
 * within `[email] repeat-interval` seconds (default 300, 0 = off) of its last mail is
 * held back and counted; the next mail of it says how many were.
 */
export class Notifier {
  readonly stats: NotificationStats = { sent: 0, failed: 0, ignored: 0, suppressed: 0 };
  private readonly log: Logger;
  private readonly repeats = new RepeatLimiter();

  constructor(private readonly opts: NotifierOptions) {
    this.log = opts.log.child({ component: "notifications" });
  }

  async notify(
    eventType: string,
    detail: string,
    options: Record<string, unknown> = {},
  ): Promise<NotifyResult> {
    try {
      return await this.tryNotify(eventType, detail, options);
    } catch (err) {
      this.stats.failed += 1;
      this.log.error({ err, event: eventType, detail }, "notification failed");
      return "ignored";
    }
  }

  private async tryNotify(
    eventType: string,
    detail: string,
    options: Record<string, unknown>,
  ): Promise<NotifyResult> {
    const cfg = await loadNotifyConfig(this.opts.configFile);
    const rule = EVENT_NAME.test(eventType) ? cfg.rules[eventType.toLowerCase()] : undefined;
    if (rule === undefined || !new RegExp(rule.toLowerCase()).test(detail.toLowerCase())) {
      this.stats.ignored += 1;
      this.log.debug({ event: eventType, detail, rule }, "notification not wanted");
      return "ignored";
    }
    const values: Record<string, string> = {
      hostname: this.opts.hostname ?? os.hostname(),
      ...cfg.email,
    };
    for (const [k, v] of Object.entries(options)) {
      if (v !== null && v !== undefined) values[k] = String(v);
    }
    const now = (this.opts.now ?? (() => new Date()))();
    const interval = repeatIntervalSeconds(cfg.email["repeat-interval"]);
    const kind = `${eventType}\n${detail}\n${values.hostname}`;
    if (!this.repeats.admit(kind, now.getTime(), interval * 1000)) {
      this.stats.suppressed += 1;
      this.log.debug(
        { event: eventType, detail, held: this.repeats.held(kind), repeat_interval: interval },
        "notification held back: the same one was mailed less than repeat-interval ago",
      );
      return "ignored";
    }
    const held = this.repeats.held(kind);
    values.detail =
      held === 0
        ? detail
        : `${detail} (and ${held} more time${held === 1 ? "" : "s"} since the last mail, not mailed)`;
    const template = await this.template(eventType);
    const raw = buildMessage(formatTemplate(template, values), now);
    await this.send(cfg.email, raw);
    this.repeats.sent(kind, now.getTime());
    this.stats.sent += 1;
    this.log.info({ event: eventType, detail, held }, "notification sent");
    return "sent";
  }

  private async template(eventType: string): Promise<string> {
    const file = path.join(this.opts.templatesDir, `${eventType}.txt`);
    try {
      return await readFile(file, "utf8");
    } catch (err) {
      const fallback = DEFAULT_TEMPLATES[eventType];
      if ((err as NodeJS.ErrnoException).code === "ENOENT" && fallback !== undefined)
        return fallback;
      throw err;
    }
  }

  private async send(smtp: SmtpSettings, raw: string): Promise<void> {
    const port = Number(smtp["smtp-port"]);
    const timeoutMs = Number(smtp["smtp-timeout"]) * 1000;
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new Error(`broker.conf [email] smtp-port="${smtp["smtp-port"]}" is not a port`);
    }
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new Error(`broker.conf [email] smtp-timeout="${smtp["smtp-timeout"]}" is not positive`);
    }
    const to = splitAddresses(smtp["destination-emails"]);
    if (to.length === 0) throw new Error("broker.conf [email] destination-emails is empty");
    // loaded on the first mail: most brokers never send one, and it costs ~1.5 MB resident
    const { default: nodemailer } = await import("nodemailer");
    // Plain SMTP like the original's smtplib.SMTP: no TLS, no authentication.
    const transport = nodemailer.createTransport({
      host: smtp["smtp-server"],
      port,
      secure: false,
      ignoreTLS: true,
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: timeoutMs,
    });
    try {
      await transport.sendMail({ envelope: { from: smtp["source-email"], to }, raw });
    } finally {
      transport.close();
    }
  }
}
