import {
  DEFAULT_LIMITS,
  FAULT,
  type XmlRpcCall,
  XmlRpcFault,
  type XmlRpcLimits,
  type XmlRpcStruct,
  type XmlRpcValue,
} from "./types.js";
import { parseXmlTree, XmlDepthError, type XmlNode, XmlSyntaxError } from "./xml-tree.js";

/**
 * XML-RPC documents → values. Safe by construction: DTDs (and so custom entities,
 * "billion laughs", external entities) are refused before parsing; only the five
 * predefined entities and numeric character references are decoded, by us, in one
 * pass without expansion. Size and nesting are bounded. Every problem is an
 * XmlRpcFault naming what is wrong and where.
 */

const TEXT = "#text";
const CDATA = "#cdata";

const ENTITY = /&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z]+);/g;
const NAMED: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** Decodes the predefined entities and character references; anything else is a fault. */
function decodeEntities(text: string, where: string): string {
  if (!text.includes("&")) return text;
  const out = text.replace(ENTITY, (whole, ref: string) => {
    if (ref[0] !== "#") {
      const named = NAMED[ref];
      if (named === undefined) {
        throw new XmlRpcFault(FAULT.parseError, `${where}: unknown entity ${whole}`);
      }
      return named;
    }
    const code =
      ref[1] === "x" ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
    if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff) || code === 0) {
      throw new XmlRpcFault(FAULT.parseError, `${where}: invalid character reference ${whole}`);
    }
    return String.fromCodePoint(code);
  });
  return out;
}

function tagOf(node: XmlNode): string | undefined {
  for (const k of Object.keys(node)) if (k !== ":@") return k;
  return undefined;
}

function childrenOf(node: XmlNode, tag: string): XmlNode[] {
  const c = node[tag];
  return Array.isArray(c) ? c : [];
}

/** Text content of an element's children (text and CDATA), entities decoded. */
function textOf(children: XmlNode[], where: string): string {
  let s = "";
  for (const c of children) {
    const tag = tagOf(c);
    if (tag === TEXT) s += decodeEntities(String(c[TEXT] ?? ""), where);
    else if (tag === CDATA) s += rawText(c[CDATA] ?? []);
    else throw new XmlRpcFault(FAULT.parseError, `${where}: unexpected element <${tag}>`);
  }
  return s;
}

/** CDATA content: taken as written, no entity decoding. */
function rawText(children: XmlNode[]): string {
  return children.map((c) => String(c[TEXT] ?? "")).join("");
}

function isBlank(node: XmlNode): boolean {
  return tagOf(node) === TEXT && String(node[TEXT] ?? "").trim() === "";
}

/** The element children of a node, ignoring whitespace between them. */
function elementsOf(children: XmlNode[], where: string): XmlNode[] {
  const out: XmlNode[] = [];
  for (const c of children) {
    if (isBlank(c)) continue;
    const tag = tagOf(c);
    if (tag === TEXT || tag === CDATA) {
      throw new XmlRpcFault(FAULT.parseError, `${where}: unexpected text`);
    }
    out.push(c);
  }
  return out;
}

function only(children: XmlNode[], tag: string, where: string): XmlNode {
  const els = elementsOf(children, where);
  if (els.length !== 1 || tagOf(els[0]!) !== tag) {
    throw new XmlRpcFault(FAULT.parseError, `${where}: expected one <${tag}>`);
  }
  return els[0]!;
}

const INT = /^[+-]?[0-9]+$/;
const DOUBLE = /^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/;
const DATETIME =
  /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):?(\d{2}):?(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/;
const BASE64 = /^[A-Za-z0-9+/\s]*={0,2}\s*$/;

function parseInteger(text: string, type: string, where: string): number | bigint {
  const t = text.trim();
  if (!INT.test(t))
    throw new XmlRpcFault(
      FAULT.parseError,
      `${where}: <${type}> "${t.slice(0, 40)}" is not an integer`,
    );
  const n = Number(t);
  if (type !== "i8" && (n > 2147483647 || n < -2147483648)) {
    throw new XmlRpcFault(FAULT.parseError, `${where}: <${type}> ${t} does not fit 32 bits`);
  }
  if (Number.isSafeInteger(n)) return n;
  const big = BigInt(t);
  if (big > 9223372036854775807n || big < -9223372036854775808n) {
    throw new XmlRpcFault(FAULT.parseError, `${where}: <i8> ${t} does not fit 64 bits`);
  }
  return big;
}

function parseDateTime(text: string, where: string): Date {
  const m = DATETIME.exec(text.trim());
  if (!m)
    throw new XmlRpcFault(
      FAULT.parseError,
      `${where}: "${text.slice(0, 40)}" is not a dateTime.iso8601`,
    );
  const [, y, mo, d, h, mi, s, zone] = m;
  let iso = `${y}-${mo}-${d}T${h}:${mi}:${s}`;
  iso +=
    zone === undefined ? "Z" : zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    throw new XmlRpcFault(FAULT.parseError, `${where}: "${text.slice(0, 40)}" is not a valid date`);
  }
  return date;
}

function parseValue(
  valueNode: XmlNode,
  where: string,
  depth: number,
  limits: XmlRpcLimits,
): XmlRpcValue {
  if (depth > limits.maxDepth)
    throw new XmlRpcFault(FAULT.limitExceeded, `${where}: values nested too deeply`);
  const children = childrenOf(valueNode, "value");
  const els = children.filter((c) => !isBlank(c) && tagOf(c) !== TEXT && tagOf(c) !== CDATA);
  if (els.length === 0) return textOf(children, where); // bare text is a string
  if (els.length !== 1)
    throw new XmlRpcFault(FAULT.parseError, `${where}: <value> holds more than one type`);
  const typed = els[0]!;
  if (children.some((c) => (tagOf(c) === TEXT && !isBlank(c)) || tagOf(c) === CDATA)) {
    throw new XmlRpcFault(FAULT.parseError, `${where}: <value> mixes text and a typed element`);
  }
  const type = tagOf(typed)!;
  const inner = childrenOf(typed, type);
  switch (type) {
    case "int":
    case "i4":
    case "i8":
      return parseInteger(textOf(inner, where), type, where);
    case "boolean": {
      const t = textOf(inner, where).trim();
      if (t === "1") return true;
      if (t === "0") return false;
      throw new XmlRpcFault(
        FAULT.parseError,
        `${where}: <boolean> "${t.slice(0, 40)}" is not 0 or 1`,
      );
    }
    case "string":
      return textOf(inner, where);
    case "double": {
      const t = textOf(inner, where).trim();
      if (!DOUBLE.test(t))
        throw new XmlRpcFault(
          FAULT.parseError,
          `${where}: <double> "${t.slice(0, 40)}" is not a number`,
        );
      return Number(t);
    }
    case "base64": {
      const t = textOf(inner, where);
      if (!BASE64.test(t))
        throw new XmlRpcFault(FAULT.parseError, `${where}: <base64> is not base64`);
      return Buffer.from(t.replace(/\s+/g, ""), "base64");
    }
    case "dateTime.iso8601":
      return parseDateTime(textOf(inner, where), where);
    case "nil":
      if (inner.some((c) => !isBlank(c))) {
        throw new XmlRpcFault(FAULT.parseError, `${where}: <nil/> must be empty`);
      }
      return null;
    case "array": {
      const data = only(inner, "data", `${where}.array`);
      return elementsOf(childrenOf(data, "data"), `${where}.array`).map((v, i) => {
        if (tagOf(v) !== "value")
          throw new XmlRpcFault(FAULT.parseError, `${where}.array: expected <value>`);
        return parseValue(v, `${where}[${i}]`, depth + 1, limits);
      });
    }
    case "struct": {
      const out: XmlRpcStruct = Object.create(null) as XmlRpcStruct;
      for (const m of elementsOf(inner, `${where}.struct`)) {
        if (tagOf(m) !== "member")
          throw new XmlRpcFault(FAULT.parseError, `${where}.struct: expected <member>`);
        const parts = elementsOf(childrenOf(m, "member"), `${where}.struct`);
        const nameNode = parts.find((p) => tagOf(p) === "name");
        const valueNode = parts.find((p) => tagOf(p) === "value");
        if (parts.length !== 2 || !nameNode || !valueNode) {
          throw new XmlRpcFault(
            FAULT.parseError,
            `${where}.struct: <member> needs one <name> and one <value>`,
          );
        }
        const name = textOf(childrenOf(nameNode, "name"), where);
        out[name] = parseValue(valueNode, `${where}.${name}`, depth + 1, limits);
      }
      return out;
    }
    default:
      throw new XmlRpcFault(FAULT.parseError, `${where}: unknown value type <${type}>`);
  }
}

/** Parses and checks the document, returning its root element. */
function rootOf(body: string | Buffer, expected: string, limits: XmlRpcLimits): XmlNode {
  const size = typeof body === "string" ? Buffer.byteLength(body) : body.length;
  if (size > limits.maxBytes) {
    throw new XmlRpcFault(
      FAULT.limitExceeded,
      `request of ${size} bytes exceeds the limit of ${limits.maxBytes}`,
    );
  }
  const xml = typeof body === "string" ? body : body.toString("utf8");
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) {
    throw new XmlRpcFault(FAULT.parseError, "document type declarations are not allowed");
  }
  let doc: XmlNode[];
  try {
    doc = parseXmlTree(xml, limits.maxDepth);
  } catch (e) {
    if (e instanceof XmlDepthError)
      throw new XmlRpcFault(FAULT.limitExceeded, `malformed XML: ${e.message}`);
    if (e instanceof XmlSyntaxError) throw new XmlRpcFault(FAULT.parseError, e.message);
    throw e;
  }
  const root = only(doc, expected, "document");
  return root;
}

function parseParams(parent: XmlNode, tag: string, limits: XmlRpcLimits): XmlRpcValue[] {
  const els = elementsOf(childrenOf(parent, tag), tag);
  const paramsNode = els.find((e) => tagOf(e) === "params");
  if (!paramsNode) return [];
  return elementsOf(childrenOf(paramsNode, "params"), "params").map((p, i) => {
    if (tagOf(p) !== "param") throw new XmlRpcFault(FAULT.parseError, "params: expected <param>");
    const v = only(childrenOf(p, "param"), "value", `param ${i + 1}`);
    return parseValue(v, `param ${i + 1}`, 1, limits);
  });
}

/** `<methodCall>` → method name and params. */
export function parseMethodCall(
  body: string | Buffer,
  limits: XmlRpcLimits = DEFAULT_LIMITS,
): XmlRpcCall {
  const root = rootOf(body, "methodCall", limits);
  const els = elementsOf(childrenOf(root, "methodCall"), "methodCall");
  const nameNode = els.find((e) => tagOf(e) === "methodName");
  if (!nameNode) throw new XmlRpcFault(FAULT.parseError, "methodCall: missing <methodName>");
  if (els.some((e) => tagOf(e) !== "methodName" && tagOf(e) !== "params")) {
    throw new XmlRpcFault(FAULT.parseError, "methodCall: unexpected element");
  }
  const method = textOf(childrenOf(nameNode, "methodName"), "methodName").trim();
  if (!/^[A-Za-z0-9_.:/]{1,128}$/.test(method)) {
    throw new XmlRpcFault(
      FAULT.parseError,
      `methodCall: invalid method name "${method.slice(0, 40)}"`,
    );
  }
  return { method, params: parseParams(root, "methodCall", limits) };
}

/**
 * `<methodResponse>` → the returned value. A `<fault>` answer is thrown as XmlRpcFault
 * carrying the server's faultCode and faultString.
 */
export function parseMethodResponse(
  body: string | Buffer,
  limits: XmlRpcLimits = DEFAULT_LIMITS,
): XmlRpcValue {
  const root = rootOf(body, "methodResponse", limits);
  const els = elementsOf(childrenOf(root, "methodResponse"), "methodResponse");
  const first = els[0];
  if (els.length === 1 && first && tagOf(first) === "fault") {
    const v = parseValue(only(childrenOf(first, "fault"), "value", "fault"), "fault", 1, limits);
    const s =
      v !== null &&
      typeof v === "object" &&
      !Array.isArray(v) &&
      !Buffer.isBuffer(v) &&
      !(v instanceof Date)
        ? (v as XmlRpcStruct)
        : {};
    const code = typeof s.faultCode === "number" ? s.faultCode : FAULT.serverError;
    const text = typeof s.faultString === "string" ? s.faultString : "fault without faultString";
    throw new XmlRpcFault(code, text);
  }
  const params = parseParams(root, "methodResponse", limits);
  if (params.length !== 1) {
    throw new XmlRpcFault(
      FAULT.parseError,
      `methodResponse: expected one param, got ${params.length}`,
    );
  }
  return params[0]!;
}
