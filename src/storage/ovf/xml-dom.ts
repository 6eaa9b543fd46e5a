import { XMLParser, XMLValidator } from "fast-xml-parser";
import { OvfError } from "./errors.js";

/**
 * A small namespace-aware document tree over fast-xml-parser's ordered output, with the
 * text semantics of lxml (`.text` is the text before the first child node; CDATA is
 * merged into text) so OVF queries behave as in the original.
 */
export interface XAttr {
  qname: string;
  local: string;
  ns: string | undefined;
  value: string;
}

export interface XElement {
  kind: "element";
  qname: string;
  local: string;
  ns: string | undefined;
  /** `xmlns`/`xmlns:p` declarations, in document order */
  nsDecls: XAttr[];
  attrs: XAttr[];
  children: XNode[];
}
export interface XText {
  kind: "text";
  value: string;
}
export interface XComment {
  kind: "comment";
  value: string;
}
export interface XPi {
  kind: "pi";
  target: string;
}
export type XNode = XElement | XText | XComment | XPi;

export interface XDocument {
  root: XElement;
}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: "",
  trimValues: false,
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: false,
  htmlEntities: false,
  commentPropName: "#comment",
  cdataPropName: "#cdata",
  allowBooleanAttributes: false,
  ignorePiTags: false,
});

const PREDEFINED: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

/** XML 1.0 Char production. */
function isXmlChar(cp: number): boolean {
  return (
    cp === 0x9 ||
    cp === 0xa ||
    cp === 0xd ||
    (cp >= 0x20 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

function decodeEntities(s: string, where: string): string {
  if (!s.includes("&")) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z_][\w.-]*);?/g, (all, ref: string) => {
    if (!all.endsWith(";")) throw new OvfError(where, `malformed entity reference "${all}"`);
    if (ref.startsWith("#")) {
      const cp = ref.startsWith("#x")
        ? Number.parseInt(ref.slice(2), 16)
        : Number.parseInt(ref.slice(1), 10);
      if (!isXmlChar(cp))
        throw new OvfError(where, `character reference "${all}" is not a valid XML character`);
      return String.fromCodePoint(cp);
    }
    const v = PREDEFINED[ref];
    if (v === undefined) throw new OvfError(where, `undefined entity "&${ref};"`);
    return v;
  });
}

type Raw = Record<string, unknown>;

function splitQName(qname: string): [string | undefined, string] {
  const i = qname.indexOf(":");
  return i === -1 ? [undefined, qname] : [qname.slice(0, i), qname.slice(i + 1)];
}

function build(raw: Raw, scope: Map<string | undefined, string>, where: string): XNode | undefined {
  const key = Object.keys(raw).find((k) => k !== ":@");
  if (key === undefined) return undefined;
  const body = raw[key];
  if (key === "#text") return { kind: "text", value: decodeEntities(String(body), where) };
  const innerText = () =>
    (body as Raw[]).map((t) => String((t as { "#text"?: unknown })["#text"] ?? "")).join("");
  if (key === "#cdata") return { kind: "text", value: innerText() };
  if (key === "#comment") return { kind: "comment", value: innerText() };
  if (key.startsWith("?")) return { kind: "pi", target: key.slice(1) };
  const rawAttrs = (raw[":@"] ?? {}) as Record<string, unknown>;
  const local = new Map(scope);
  const nsDecls: XAttr[] = [];
  const plain: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(rawAttrs)) {
    const v = decodeEntities(String(value).replace(/[\t\n]/g, " "), `${key}/@${name}`);
    if (name === "xmlns" || name.startsWith("xmlns:")) {
      const prefix = name === "xmlns" ? undefined : name.slice(6);
      local.set(prefix, v);
      nsDecls.push({ qname: name, local: prefix ?? "", ns: undefined, value: v });
    } else {
      plain.push([name, v]);
    }
  }
  const [prefix, localName] = splitQName(key);
  const attrs = plain.map(([name, value]): XAttr => {
    const [p, l] = splitQName(name);
    return { qname: name, local: p ? l : name, ns: p ? local.get(p) : undefined, value };
  });
  const el: XElement = {
    kind: "element",
    qname: key,
    local: prefix && local.has(prefix) ? localName : prefix ? key : localName,
    ns: local.get(prefix),
    nsDecls,
    attrs,
    children: [],
  };
  for (const child of (body as Raw[]) ?? []) {
    const node = build(child, local, key);
    if (!node) continue;
    const last = el.children[el.children.length - 1];
    if (node.kind === "text" && last?.kind === "text") last.value += node.value;
    else el.children.push(node);
  }
  return el;
}

/** Parses XML text. Malformed XML → OvfError naming `what` with line and column. */
export function parseXml(text: string, what = "XML"): XDocument {
  const normalized = text.replace(/\r\n?/g, "\n");
  const valid = XMLValidator.validate(normalized);
  if (valid !== true) {
    const { msg, line, col } = valid.err;
    throw new OvfError(what, `malformed XML at line ${line}, column ${col}: ${msg}`);
  }
  const top = parser.parse(normalized) as Raw[];
  const nodes = top.map((r) =>
    build(r, new Map([["xml", "http://www.w3.org/XML/1998/namespace"]]), what),
  );
  const root = nodes.find((n): n is XElement => n?.kind === "element");
  if (!root) throw new OvfError(what, "no root element");
  return { root };
}

/** lxml's `.text`: the text before the first child node, or null when there is none. */
export function textOf(el: XElement): string | null {
  const first = el.children[0];
  return first?.kind === "text" && first.value !== "" ? first.value : null;
}

/** All text nodes of the element (XPath `text()`). */
export function textNodes(el: XElement): string[] {
  return el.children.filter((c): c is XText => c.kind === "text").map((c) => c.value);
}

export function childElements(el: XElement): XElement[] {
  return el.children.filter((c): c is XElement => c.kind === "element");
}

/** Element name test: local name and namespace (undefined = no namespace). */
export function isNamed(el: XElement, local: string, ns?: string): boolean {
  return el.local === local && el.ns === ns;
}

/** ElementPath `a/b/c` from `el`: the matching descendants along the path, in document order. */
export function findAll(el: XElement, path: ReadonlyArray<[string, string?]>): XElement[] {
  let current = [el];
  for (const [local, ns] of path) {
    current = current.flatMap((e) => childElements(e).filter((c) => isNamed(c, local, ns)));
  }
  return current;
}

export function find(el: XElement, path: ReadonlyArray<[string, string?]>): XElement | undefined {
  return findAll(el, path)[0];
}

/** Every descendant element (self included), in document order. */
export function* descendants(el: XElement): Generator<XElement> {
  yield el;
  for (const c of el.children) if (c.kind === "element") yield* descendants(c);
}

export function attr(el: XElement, local: string, ns?: string): string | undefined {
  return el.attrs.find((a) => a.local === local && a.ns === ns)?.value;
}
