import { describe, expect, it } from "vitest";
import { encodeFrame, StompFrameError, StompParser } from "../../src/vdsm/stomp-frame.js";
import { clientHeartBeat, heartBeatTimeoutMs } from "../../src/vdsm/wire.js";

describe("STOMP 1.2 frames as VDSM writes them", () => {
  it("encodes a request as yajsonrpc's client sends it (content-length from the body, NUL at the end)", () => {
    const body = '{"jsonrpc":"2.0","method":"Host.ping2","params":{},"id":"1"}';
    const bytes = encodeFrame(
      "SEND",
      {
        destination: "jms.topic.vdsm_requests",
        "content-type": "application/json",
        "reply-to": "a1b2",
      },
      body,
    );
    expect(bytes.toString("utf8")).toBe(
      `SEND\ndestination:jms.topic.vdsm_requests\ncontent-type:application/json\nreply-to:a1b2\ncontent-length:${body.length}\n\n${body}\0`,
    );
  });

  it("encodes CONNECT with no body and no content-length", () => {
    expect(
      encodeFrame("CONNECT", { "accept-version": "1.2", "heart-beat": "0,24000" }).toString(),
    ).toBe("CONNECT\naccept-version:1.2\nheart-beat:0,24000\n\n\0");
  });

  it("escapes and unescapes \\\\, :, CR and LF in header names and values", () => {
    const bytes = encodeFrame("MESSAGE", { "a:b": "x\\y\nz\r:" }, "b");
    expect(bytes.toString()).toContain("a\\cb:x\\\\y\\nz\\r\\c\n");
    const [f] = new StompParser().push(bytes);
    expect(f?.headers["a:b"]).toBe("x\\y\nz\r:");
  });

  it("parses frames split anywhere, with heart-beats between them, and a body holding NUL", () => {
    const body = Buffer.from([0x7b, 0x00, 0x7d]);
    const all = Buffer.concat([
      Buffer.from("\n\n"),
      encodeFrame("CONNECTED", { version: "1.2", "heart-beat": "0,0" }),
      Buffer.from("\n"),
      encodeFrame("MESSAGE", { destination: "d", subscription: "s" }, body),
      Buffer.from("\r\n"),
    ]);
    const p = new StompParser();
    const frames = [];
    for (let i = 0; i < all.length; i += 3) frames.push(...p.push(all.subarray(i, i + 3)));
    expect(frames.map((f) => f.command)).toEqual(["CONNECTED", "MESSAGE"]);
    expect(frames[0]?.headers).toEqual({ version: "1.2", "heart-beat": "0,0" });
    expect(frames[1]?.body.equals(body)).toBe(true);
    expect(frames[1]?.headers["content-length"]).toBe("3");
  });

  it("keeps the first of repeated headers and reads a body without content-length up to the NUL", () => {
    const [f] = new StompParser().push(Buffer.from("MESSAGE\nx:1\nx:2\n\nhello\0"));
    expect(f?.headers.x).toBe("1");
    expect(f?.body.toString()).toBe("hello");
  });

  it("refuses malformed frames with an error naming what is wrong", () => {
    expect(() => new StompParser().push(Buffer.from("MESSAGE\nnocolon\n\n\0"))).toThrow(
      /header line without ':'/,
    );
    expect(() => new StompParser().push(Buffer.from("MESSAGE\nk:\\q\n\n\0"))).toThrow(
      /invalid escape sequence/,
    );
    expect(() => new StompParser().push(Buffer.from("MESSAGE\ncontent-length:2\n\nabc\0"))).toThrow(
      StompFrameError,
    );
  });
});

describe("STOMP heart-beats as yajsonrpc's client and server agree on them", () => {
  it("CONNECT asks for none outgoing and incoming × 0.8 (stompclient.handle_connect)", () => {
    expect(clientHeartBeat()).toBe("0,24000");
    expect(clientHeartBeat(1500)).toBe("0,1200");
  });

  it("silence that drops the connection: none when VDSM sends none, else the incoming interval (or VDSM's, with the grace period)", () => {
    expect(heartBeatTimeoutMs("24000,0", 30_000)).toBe(30_000);
    expect(heartBeatTimeoutMs("0,0", 30_000)).toBeNull();
    expect(heartBeatTimeoutMs(undefined, 30_000)).toBeNull();
    expect(heartBeatTimeoutMs("nonsense", 30_000)).toBeNull();
    expect(heartBeatTimeoutMs("50000,0", 30_000)).toBe(60_000);
    expect(heartBeatTimeoutMs("24000,0", 0)).toBeNull();
  });
});
