import { describe, expect, it } from "vitest";
import {
  FAULT,
  parseMethodCall,
  parseMethodResponse,
  serializeFault,
  serializeMethodCall,
  serializeMethodResponse,
  XmlRpcFault,
  type XmlRpcValue,
} from "../../src/broker/xmlrpc/index.js";

/** What Python's xmlrpc.client (allow_none, brokerlink's i8 marshaller) puts on the wire. */
const PYTHON_PUT_STATS = `<?xml version='1.0'?>
<methodCall>
<methodName>put_stats</methodName>
<params>
<param>
<value><int>2</int></value>
</param>
<param>
<value><base64>
MXwxfDEyMzQ1fDJ8MzQwMA==
</base64></value>
</param>
</params>
</methodCall>
`;

function faultOf(fn: () => unknown): XmlRpcFault {
  try {
    fn();
  } catch (e) {
    if (e instanceof XmlRpcFault) return e;
    throw e;
  }
  throw new Error("expected a fault");
}

describe("XML-RPC codec", () => {
  it("parses a call as Python's xmlrpc.client writes it", () => {
    const call = parseMethodCall(PYTHON_PUT_STATS);
    expect(call.method).toBe("put_stats");
    expect(call.params[0]).toBe(2);
    expect(Buffer.isBuffer(call.params[1])).toBe(true);
    expect((call.params[1] as Buffer).toString()).toBe("1|1|12345|2|3400");
  });

  it("reads every value type, bare text and whitespace exactly", () => {
    const xml = `<methodCall><methodName>m</methodName><params>
      <param><value><i4>-7</i4></value></param>
      <param><value><i8>9007199254740993</i8></value></param>
      <param><value><i8>4294967296</i8></value></param>
      <param><value><boolean>1</boolean></value></param>
      <param><value>  bare &amp; text &lt;x&gt; &#65;&#x42; </value></param>
      <param><value><string></string></value></param>
      <param><value><string/></value></param>
      <param><value><double>-1.5e3</double></value></param>
      <param><value><dateTime.iso8601>20261121T06:48:19</dateTime.iso8601></value></param>
      <param><value><nil/></value></param>
      <param><value><array><data><value><int>1</int></value><value>two</value></data></array></value></param>
      <param><value><struct><member><name>a b</name><value><boolean>0</boolean></value></member></struct></value></param>
      <param><value><![CDATA[<raw &amp;>]]></value></param>
    </params></methodCall>`;
    const p = parseMethodCall(xml).params;
    expect(p[0]).toBe(-7);
    expect(p[1]).toBe(9007199254740993n);
    expect(p[2]).toBe(4294967296);
    expect(p[3]).toBe(true);
    expect(p[4]).toBe("  bare & text <x> AB ");
    expect(p[5]).toBe("");
    expect(p[6]).toBe("");
    expect(p[7]).toBe(-1500);
    expect((p[8] as Date).toISOString()).toBe("2026-11-21T06:48:19.000Z");
    expect(p[9]).toBeNull();
    expect(p[10]).toEqual([1, "two"]);
    expect(p[11]).toEqual({ "a b": false });
    expect(p[12]).toBe("<raw &amp;>");
  });

  it("round-trips responses, with <i8> above 32 bits and <nil/>", () => {
    const value: XmlRpcValue = {
      "0": Buffer.from("maintenance=1"),
      list: [1, 2 ** 31, -(2 ** 31) - 1, 0.25, "a<b>&c", null, true],
      when: new Date("2026-01-02T03:04:05Z"),
    };
    const xml = serializeMethodResponse(value);
    expect(xml).toContain("<i8>2147483648</i8>");
    expect(xml).toContain("<int>1</int>");
    expect(xml).toContain("<nil/>");
    expect(xml).toContain("a&lt;b&gt;&amp;c");
    expect(parseMethodResponse(xml)).toEqual(value);
    const call = serializeMethodCall("push_hosts_state", [[1, 2]]);
    expect(parseMethodCall(call)).toEqual({ method: "push_hosts_state", params: [[1, 2]] });
  });

  it("turns a fault response into an XmlRpcFault with its code and text", () => {
    const xml = serializeFault({ faultCode: 1, faultString: "<class 'Exception'>:boom" });
    const f = faultOf(() => parseMethodResponse(xml));
    expect(f.faultCode).toBe(1);
    expect(f.faultString).toBe("<class 'Exception'>:boom");
  });

  it("refuses DTDs: billion laughs and external entities never expand", () => {
    const laughs = `<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><methodCall><methodName>&c;</methodName></methodCall>`;
    const f = faultOf(() => parseMethodCall(laughs));
    expect(f.faultCode).toBe(FAULT.parseError);
    expect(f.faultString).toContain("document type declarations are not allowed");
    const xxe = `<!doctype m [<!ENTITY x SYSTEM "file:///etc/shadow">]><methodCall><methodName>&x;</methodName></methodCall>`;
    expect(faultOf(() => parseMethodCall(xxe)).faultString).toContain("document type declarations");
    const undeclared =
      "<methodCall><methodName>m</methodName><params><param><value>&x;</value></param></params></methodCall>";
    expect(faultOf(() => parseMethodCall(undeclared)).faultString).toMatch(/entity &x;|malformed/);
  });

  it("bounds size and nesting", () => {
    const huge = `<methodCall><methodName>m</methodName><params><param><value>${"x".repeat(2 * 1024 * 1024)}</value></param></params></methodCall>`;
    expect(faultOf(() => parseMethodCall(huge)).faultCode).toBe(FAULT.limitExceeded);
    const deep = `<methodCall><methodName>m</methodName><params><param>${"<value><array><data>".repeat(200)}${"</data></array></value>".repeat(200)}</param></params></methodCall>`;
    expect(faultOf(() => parseMethodCall(deep)).faultCode).toBe(FAULT.limitExceeded);
  });

  it("answers malformed documents and wrong types with parse faults naming the problem", () => {
    const cases: Array<[string, RegExp]> = [
      ["", /malformed|expected one <methodCall>/],
      ["<methodCall><methodName>m</methodName>", /malformed XML/],
      ["<methodResponse/>", /expected one <methodCall>/],
      ["<methodCall><params/></methodCall>", /missing <methodName>/],
      ["<methodCall><methodName>bad name!</methodName></methodCall>", /invalid method name/],
      [v("<int>12x</int>"), /is not an integer/],
      [v("<int>4294967296</int>"), /does not fit 32 bits/],
      [v("<i8>99999999999999999999</i8>"), /does not fit 64 bits/],
      [v("<boolean>yes</boolean>"), /is not 0 or 1/],
      [v("<double>1.2.3</double>"), /is not a number/],
      [v("<base64>!!!</base64>"), /is not base64/],
      [v("<dateTime.iso8601>yesterday</dateTime.iso8601>"), /dateTime/],
      [v("<nil>x</nil>"), /must be empty/],
      [v("<int>1</int><int>2</int>"), /more than one type/],
      [v("text<int>1</int>"), /mixes text/],
      [v("<struct><member><name>a</name></member></struct>"), /one <name> and one <value>/],
      [v("<array><value>1</value></array>"), /expected one <data>/],
      [v("<object/>"), /unknown value type <object>/],
      [v("&#0;"), /invalid character reference/],
    ];
    for (const [xml, re] of cases) {
      const f = faultOf(() => parseMethodCall(xml));
      expect(f.faultString, xml).toMatch(re);
    }
  });
});

function v(inner: string): string {
  return `<methodCall><methodName>m</methodName><params><param><value>${inner}</value></param></params></methodCall>`;
}
