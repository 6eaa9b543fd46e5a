import { mkdir, writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import pino from "pino";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parseNotifyConfig, splitAddresses } from "../../src/broker/notifications/config.js";
import { rfc2822LocalDate } from "../../src/broker/notifications/message.js";
import { Notifier } from "../../src/broker/notifications/notifier.js";
import { formatTemplate, TemplateError } from "../../src/broker/notifications/template.js";
import { removeDir, tempDir } from "../support/temp.js";

interface Received {
  from: string;
  to: string[];
  data: string;
}

let dir: string;
let templatesDir: string;
let smtp: SMTPServer;
let smtpPort: number;
let mail: Received[] = [];
const sockets: net.Server[] = [];
const logLines: Record<string, unknown>[] = [];
const log = pino({ level: "debug" }, { write: (s: string) => logLines.push(JSON.parse(s)) });
const date = new Date("2026-11-21T07:15:02Z");

beforeAll(async () => {
  dir = await tempDir("d1-notify");
  templatesDir = path.join(dir, "notifications");
  await mkdir(templatesDir);
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        mail.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          data: Buffer.concat(chunks).toString("utf8"),
        });
        callback();
      });
    },
  });
  await new Promise<void>((r) => smtp.listen(0, "127.0.0.1", r));
  smtpPort = (smtp.server.address() as net.AddressInfo).port;
});

beforeEach(() => {
  mail = [];
  logLines.length = 0;
});

afterAll(async () => {
  await new Promise<void>((r) => smtp.close(() => r()));
  for (const s of sockets) s.close();
  await removeDir(dir);
});

async function brokerConf(text: string): Promise<string> {
  const file = path.join(dir, `broker-${Math.random().toString(36).slice(2)}.conf`);
  await writeFile(file, text);
  return file;
}

function emailSection(port = smtpPort, timeout = 5): string {
  return [
    "[email]",
    "smtp-server=127.0.0.1",
    `smtp-port=${port}`,
    `smtp-timeout=${timeout}`,
    "destination-emails=admin@example.com, ops@example.com  pager@example.com",
    "source-email=ha@host1.example.com",
    "",
  ].join("\n");
}

const RULES = "[notify]\nstate_transition=maintenance|start|stop|migrate|up|down\n";

function notifier(configFile: string, dirOverride = path.join(dir, "no-templates")): Notifier {
  return new Notifier({ configFile, templatesDir: dirOverride, log, now: () => date });
}

describe("notify", () => {
  it("mails the state_transition template to every destination through SMTP", async () => {
    const n = notifier(await brokerConf(emailSection() + RULES));
    const r = await n.notify("state_transition", "EngineDown-EngineStart", { hostname: "host1" });
    expect(r).toBe("sent");
    expect(mail).toHaveLength(1);
    expect(mail[0]!.from).toBe("ha@host1.example.com");
    expect(mail[0]!.to).toEqual(["admin@example.com", "ops@example.com", "pager@example.com"]);
    expect(mail[0]!.data).toBe(
      "From: ha@host1.example.com\r\n" +
        "To: admin@example.com, ops@example.com  pager@example.com\r\n" +
        "Subject: ovirt-hosted-engine state transition EngineDown-EngineStart\r\n" +
        `Date: ${rfc2822LocalDate(date)}\r\n` +
        "\r\n" +
        "Hosted engine host: host1 changed state: EngineDown-EngineStart.\r\n",
    );
    expect(n.stats).toEqual({ sent: 1, failed: 0, ignored: 0, suppressed: 0 });
  });

  it("uses the template file of the notifications directory when there is one", async () => {
    await writeFile(
      path.join(templatesDir, "state_transition.txt"),
      "From: {source-email}\nTo: {destination-emails}\nSubject: [{cluster}] {detail}\n\n{{literal}} {hostname}: {detail!s}\n",
    );
    const n = notifier(await brokerConf(emailSection() + RULES), templatesDir);
    const r = await n.notify("state_transition", "EngineUp-LocalMaintenance", {
      hostname: "host2",
      cluster: "Default",
    });
    expect(r).toBe("sent");
    expect(mail[0]!.data).toContain("Subject: [Default] EngineUp-LocalMaintenance\r\n");
    expect(mail[0]!.data.endsWith("\r\n\r\n{literal} host2: EngineUp-LocalMaintenance\r\n")).toBe(
      true,
    );
  });

  it("searches the rule case-insensitively anywhere in the detail", async () => {
    const n = notifier(
      await brokerConf(`${emailSection()}[notify]\nstate_transition=MAINTENANCE\n`),
    );
    expect(await n.notify("state_transition", "EngineUp-LocalMaintenance", { hostname: "h" })).toBe(
      "sent",
    );
    expect(await n.notify("state_transition", "EngineDown-EngineStart", { hostname: "h" })).toBe(
      "ignored",
    );
    expect(mail).toHaveLength(1);
    expect(n.stats).toEqual({ sent: 1, failed: 0, ignored: 1, suppressed: 0 });
  });

  it("ignores events without a rule, a missing [notify], and a missing broker.conf", async () => {
    const noNotify = notifier(await brokerConf(emailSection()));
    expect(await noNotify.notify("state_transition", "EngineDown-EngineStart", {})).toBe("ignored");
    const otherEvent = notifier(await brokerConf(emailSection() + RULES));
    expect(await otherEvent.notify("disk_full", "down", {})).toBe("ignored");
    const noFile = notifier(path.join(dir, "absent.conf"));
    expect(await noFile.notify("state_transition", "EngineDown-EngineStart", {})).toBe("ignored");
    expect(mail).toHaveLength(0);
  });

  it("answers ignored, logs and counts a failure when the SMTP server is down; later mail still goes out", async () => {
    const closed = net.createServer();
    const port = await new Promise<number>((r) =>
      closed.listen(0, "127.0.0.1", () => r((closed.address() as net.AddressInfo).port)),
    );
    await new Promise((r) => closed.close(r));
    const down = notifier(await brokerConf(emailSection(port) + RULES));
    expect(await down.notify("state_transition", "EngineDown-EngineStart", { hostname: "h" })).toBe(
      "ignored",
    );
    expect(down.stats).toEqual({ sent: 0, failed: 1, ignored: 0, suppressed: 0 });
    expect(logLines.some((l) => l.msg === "notification failed" && l.level === 50)).toBe(true);
    const up = notifier(await brokerConf(emailSection() + RULES));
    expect(await up.notify("state_transition", "EngineStart-EngineUp", { hostname: "h" })).toBe(
      "sent",
    );
  });

  it("gives up after smtp-timeout when the server never greets", async () => {
    const silent = net.createServer(() => undefined);
    sockets.push(silent);
    const port = await new Promise<number>((r) =>
      silent.listen(0, "127.0.0.1", () => r((silent.address() as net.AddressInfo).port)),
    );
    const n = notifier(await brokerConf(emailSection(port, 0.5) + RULES));
    expect(await n.notify("state_transition", "EngineDown-EngineStart", { hostname: "h" })).toBe(
      "ignored",
    );
    expect(n.stats.failed).toBe(1);
  });

  it("answers ignored for a template naming a value nobody gave, and for a broken rule", async () => {
    await writeFile(path.join(templatesDir, "custom_event.txt"), "Subject: {nobody}\n\nx\n");
    const n = notifier(
      await brokerConf(`${emailSection()}[notify]\ncustom_event=.\nbroken_event=(unclosed\n`),
      templatesDir,
    );
    expect(await n.notify("custom_event", "anything", {})).toBe("ignored");
    expect(await n.notify("broken_event", "anything", {})).toBe("ignored");
    expect(n.stats).toEqual({ sent: 0, failed: 2, ignored: 0, suppressed: 0 });
    expect(mail).toHaveLength(0);
  });
});

describe("notification pieces", () => {
  it("mails a repeated transition once per repeat-interval, then says how many were held back", async () => {
    let now = new Date("2026-11-21T07:15:02Z");
    const n = new Notifier({
      configFile: await brokerConf(`${emailSection()}repeat-interval=60\n${RULES}`),
      templatesDir: path.join(dir, "no-templates"),
      log,
      now: () => now,
    });
    const flap = async () => [
      await n.notify("state_transition", "EngineDown-EngineStart", { hostname: "host2" }),
      await n.notify("state_transition", "EngineStart-EngineDown", { hostname: "host2" }),
    ];
    // a host retrying a start the lease refuses: every second for half a minute
    const answers: string[] = [];
    for (let i = 0; i < 30; i++) {
      answers.push(...(await flap()));
      now = new Date(now.getTime() + 1000);
    }
    expect(answers.filter((a) => a === "sent")).toHaveLength(2);
    expect(mail.map((m) => /^Subject: (.*)$/m.exec(m.data)?.[1])).toEqual([
      "ovirt-hosted-engine state transition EngineDown-EngineStart",
      "ovirt-hosted-engine state transition EngineStart-EngineDown",
    ]);
    // another host's same transition is its own kind
    expect(
      await n.notify("state_transition", "EngineDown-EngineStart", { hostname: "host3" }),
    ).toBe("sent");
    // past the interval: mailed again, with the count held back since the last mail
    now = new Date(now.getTime() + 60_000);
    expect(await flap()).toEqual(["sent", "sent"]);
    expect(mail[3]!.data).toContain(
      "Subject: ovirt-hosted-engine state transition EngineDown-EngineStart (and 29 more times since the last mail, not mailed)\r\n",
    );
    expect(n.stats).toEqual({ sent: 5, failed: 0, ignored: 0, suppressed: 58 });
  });

  it("mails every repeat with repeat-interval=0, and names a bad repeat-interval", async () => {
    const every = notifier(await brokerConf(`${emailSection()}repeat-interval=0\n${RULES}`));
    for (let i = 0; i < 3; i++)
      expect(await every.notify("state_transition", "EngineUp-EngineStop", { hostname: "h" })).toBe(
        "sent",
      );
    expect(mail).toHaveLength(3);
    const bad = notifier(await brokerConf(`${emailSection()}repeat-interval=soon\n${RULES}`));
    expect(await bad.notify("state_transition", "EngineUp-EngineStop", { hostname: "h" })).toBe(
      "ignored",
    );
    expect(bad.stats.failed).toBe(1);
    expect(JSON.stringify(logLines)).toContain(
      'broker.conf [email] repeat-interval=\\"soon\\" is not a number of seconds >= 0',
    );
  });

  it("holds back a repeat only after a mail went out: a failed send is retried next time", async () => {
    const closed = net.createServer();
    const port = await new Promise<number>((r) =>
      closed.listen(0, "127.0.0.1", () => r((closed.address() as net.AddressInfo).port)),
    );
    await new Promise((r) => closed.close(r));
    // broker.conf is read on every call: first it names a port nobody listens on
    const conf = await brokerConf(emailSection(port) + RULES);
    const n = notifier(conf);
    expect(await n.notify("state_transition", "EngineUp-EngineStop", { hostname: "h" })).toBe(
      "ignored",
    );
    await writeFile(conf, emailSection() + RULES);
    expect(await n.notify("state_transition", "EngineUp-EngineStop", { hostname: "h" })).toBe(
      "sent",
    );
    expect(await n.notify("state_transition", "EngineUp-EngineStop", { hostname: "h" })).toBe(
      "ignored",
    );
    expect(n.stats).toEqual({ sent: 1, failed: 1, ignored: 0, suppressed: 1 });
  });

  it("reads broker.conf with the original's defaults", () => {
    const cfg = parseNotifyConfig("[notify]\nState_Transition=up\n");
    expect(cfg.email).toEqual({
      "smtp-server": "localhost",
      "smtp-port": "25",
      "smtp-timeout": "10",
      "destination-emails": "root@localhost",
      "source-email": "root@localhost",
    });
    expect(cfg.rules).toEqual({ state_transition: "up" });
  });

  it("splits destination addresses on commas and spaces", () => {
    expect(splitAddresses(" a@x, b@x  c@x,,d@x ")).toEqual(["a@x", "b@x", "c@x", "d@x"]);
  });

  it("formats templates like Python's str.format", () => {
    expect(formatTemplate("{a}-{b:>3}{{x}}", { a: "1", b: "2" })).toBe("1-2{x}");
    expect(() => formatTemplate("{missing}", {})).toThrow(TemplateError);
    expect(() => formatTemplate("a } b", {})).toThrow(TemplateError);
  });

  it("writes the Date header like email.utils.formatdate(localtime=True)", () => {
    expect(rfc2822LocalDate(date)).toMatch(
      /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d [+-]\d{4}$/,
    );
  });
});
