import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";

export interface ReceivedMail {
  from: string;
  to: string[];
  subject: string;
  body: string;
}

/**
 * The administrators' mailbox of the demo: a real SMTP server on loopback that the
 * brokers' `state_transition` notifications are sent to (broker.conf in the shared
 * configuration archive points at it). Each mail received becomes a timeline line.
 */
export class MailSink {
  readonly mails: ReceivedMail[] = [];
  /** connections that broke (reset by a killed client) */
  connectionErrors = 0;
  onMail: ((m: ReceivedMail) => void) | undefined;
  private server: SMTPServer | undefined;
  port = 0;

  async start(): Promise<void> {
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS", "AUTH"],
      logger: false,
      size: 1024 * 1024,
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on("data", (c: Buffer) => chunks.push(c));
        stream.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const [head = "", ...rest] = text.split(/\r?\n\r?\n/);
          const mail: ReceivedMail = {
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
            to: session.envelope.rcptTo.map((r) => r.address),
            subject: /^Subject:\s*(.*)$/im.exec(head)?.[1]?.trim() ?? "",
            body: rest.join("\n\n").trim(),
          };
          this.mails.push(mail);
          this.onMail?.(mail);
          callback();
        });
      },
    });
    // A client that dies mid-mail (a host killed hard while its broker was sending)
    // resets its connection: count it, never let it end the demo.
    server.on("error", () => {
      this.connectionErrors++;
    });
    await new Promise<void>((resolve, reject) => {
      server.server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    this.port = (server.server.address() as AddressInfo).port;
    this.server = server;
  }

  /** broker.conf for the shared archive: notify the sink of every state transition */
  brokerConf(): string {
    return [
      "[email]",
      "smtp-server = 127.0.0.1",
      `smtp-port = ${this.port}`,
      "smtp-timeout = 5",
      "source-email = ha-agent@demo.local",
      "destination-emails = admin@demo.local",
      "",
      "[notify]",
      "state_transition = maintenance|start|stop|migrate|up|down",
      "",
    ].join("\n");
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
