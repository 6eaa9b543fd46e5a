import { connect } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { MailSink } from "../../lab/demo/mail-sink.js";

describe("the demo's SMTP mailbox", () => {
  const sink = new MailSink();
  afterAll(() => sink.stop());

  it("survives a client whose connection is reset mid-mail (a host killed while sending), and still receives mail", async () => {
    await sink.start();
    // open a session, start a mail, then reset the connection
    await new Promise<void>((resolve) => {
      const sock = connect(sink.port, "127.0.0.1");
      sock.once("data", () => {
        sock.write(
          "EHLO killed.example\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nSubject: half\r\n",
        );
        setTimeout(() => {
          sock.resetAndDestroy();
          resolve();
        }, 100);
      });
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(sink.connectionErrors).toBeGreaterThanOrEqual(1);
    // a whole mail afterwards still arrives
    const { createTransport } = await import("nodemailer");
    await createTransport({
      host: "127.0.0.1",
      port: sink.port,
      secure: false,
      ignoreTLS: true,
    }).sendMail({
      from: "ha@demo.local",
      to: "admin@demo.local",
      subject: "ovirt-hosted-engine state transition EngineDown-EngineStart",
      text: "body",
    });
    expect(sink.mails.map((m) => m.subject)).toContain(
      "ovirt-hosted-engine state transition EngineDown-EngineStart",
    );
  });
});
