import type { XAttr, XDocument, XElement, XNode } from "./xml-dom.js";

/**
 * Serialises a parsed document the way libxml2 does for lxml's
 * `etree.tostring(root, xml_declaration=True, encoding="UTF-8")`: single-quoted
 * declaration line, namespace declarations before attributes, childless elements as
 * `<a/>`, libxml2's escaping of text and attribute values; comments and processing
 * instructions outside the root element are not part of it.
 */
export function serializeLikeLxml(doc: XDocument): string {
  return `<?xml version='1.0' encoding='UTF-8'?>\n${node(doc.root)}`;
}

function escapeText(s: string): string {
  return s.replace(/[&<>\r]/g, (c) =>
    c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : "&#13;",
  );
}

const ATTR_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "\n": "&#10;",
  "\r": "&#13;",
  "\t": "&#9;",
};

function escapeAttr(s: string): string {
  return s.replace(/[&<>"\n\r\t]/g, (c) => ATTR_ESCAPES[c]!);
}

function attribute(a: XAttr): string {
  return ` ${a.qname}="${escapeAttr(a.value)}"`;
}

function node(n: XNode): string {
  switch (n.kind) {
    case "text":
      return escapeText(n.value);
    case "comment":
      return `<!--${n.value}-->`;
    case "pi":
      return `<?${n.target}?>`;
    case "element":
      return element(n);
  }
}

function element(el: XElement): string {
  let s = `<${el.qname}`;
  for (const d of el.nsDecls) s += attribute(d);
  for (const a of el.attrs) s += attribute(a);
  if (el.children.length === 0) return `${s}/>`;
  s += ">";
  for (const c of el.children) s += node(c);
  return `${s}</${el.qname}>`;
}
