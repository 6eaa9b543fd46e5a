import type { XmlRpcFault, XmlRpcStruct, XmlRpcValue } from "./types.js";

/**
 * Values → XML-RPC documents, with the `<nil/>` and `<i8>` extensions that Python's
 * xmlrpc.client (allow_none) and the original brokerlink understand. Integers within
 * 32 bits are `<int>`, larger ones `<i8>`; other numbers `<double>`.
 */

const XML_HEADER = "<?xml version='1.0'?>\n";

/** Characters XML 1.0 cannot carry at all, even escaped. */
const NOT_XML_CHAR = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/;

const NOT_XML_CHAR_G = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;

export function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, "0");
}

/** Python's xmlrpc DateTime form: `20261121T06:48:19` (UTC). */
function formatDateTime(d: Date): string {
  return (
    `${pad(d.getUTCFullYear(), 4)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}` +
    `T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
  );
}

function integer(n: number | bigint): string {
  const big = typeof n === "bigint" ? n : BigInt(n);
  if (big > 9223372036854775807n || big < -9223372036854775808n) {
    throw new RangeError(`integer ${big} does not fit XML-RPC i8`);
  }
  return big > 2147483647n || big < -2147483648n ? `<i8>${big}</i8>` : `<int>${big}</int>`;
}

function value(v: XmlRpcValue, depth: number, out: string[]): void {
  if (depth > 64) throw new RangeError("value nested too deeply to serialise");
  out.push("<value>");
  if (v === null || v === undefined) out.push("<nil/>");
  else if (typeof v === "boolean") out.push(`<boolean>${v ? 1 : 0}</boolean>`);
  else if (typeof v === "bigint") out.push(integer(v));
  else if (typeof v === "number") {
    if (Number.isInteger(v)) out.push(integer(v));
    else if (Number.isFinite(v)) out.push(`<double>${v}</double>`);
    else throw new RangeError(`${v} cannot be sent over XML-RPC`);
  } else if (typeof v === "string") {
    if (NOT_XML_CHAR.test(v))
      throw new RangeError("string holds characters XML cannot carry; send base64");
    out.push(`<string>${escapeXml(v)}</string>`);
  } else if (Buffer.isBuffer(v)) out.push(`<base64>${v.toString("base64")}</base64>`);
  else if (v instanceof Date) out.push(`<dateTime.iso8601>${formatDateTime(v)}</dateTime.iso8601>`);
  else if (Array.isArray(v)) {
    out.push("<array><data>");
    for (const item of v) value(item, depth + 1, out);
    out.push("</data></array>");
  } else {
    out.push("<struct>");
    for (const [k, item] of Object.entries(v as XmlRpcStruct)) {
      out.push(`<member><name>${escapeXml(k)}</name>`);
      value(item, depth + 1, out);
      out.push("</member>");
    }
    out.push("</struct>");
  }
  out.push("</value>");
}

export function serializeValue(v: XmlRpcValue): string {
  const out: string[] = [];
  value(v, 0, out);
  return out.join("");
}

/** A successful `<methodResponse>` carrying one value. */
export function serializeMethodResponse(result: XmlRpcValue): string {
  return `${XML_HEADER}<methodResponse><params><param>${serializeValue(result)}</param></params></methodResponse>\n`;
}

/** A `<methodResponse><fault>` with faultCode and faultString. */
export function serializeFault(fault: Pick<XmlRpcFault, "faultCode" | "faultString">): string {
  const body = serializeValue({
    faultCode: fault.faultCode,
    faultString: fault.faultString.replace(NOT_XML_CHAR_G, "?"),
  });
  return `${XML_HEADER}<methodResponse><fault>${body}</fault></methodResponse>\n`;
}

/** A `<methodCall>` (the client side). */
export function serializeMethodCall(method: string, params: readonly XmlRpcValue[]): string {
  const out: string[] = [
    `${XML_HEADER}<methodCall><methodName>${escapeXml(method)}</methodName><params>`,
  ];
  for (const p of params) {
    out.push("<param>");
    value(p, 0, out);
    out.push("</param>");
  }
  out.push("</params></methodCall>\n");
  return out.join("");
}
