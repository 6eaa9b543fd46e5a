/**
 * Domain XML as fast-xml-parser's order-preserving tree: parsed and built by the library
 * (which escapes every text and attribute value), edited as plain data in between.
 */
import { XMLBuilder, XMLParser } from "fast-xml-parser";

const ATTRS = ":@";
const TEXT = "#text";

/** one node: `{ tag: children, ":@"?: { "@_name": value } }` or `{ "#text": value }` */
export type XmlNode = { [key: string]: XmlNode[] | Record<string, string> | string };

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: true,
  htmlEntities: false,
});

const builder = new XMLBuilder({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  suppressEmptyNode: true,
  processEntities: true,
});

export function parseXmlTree(xml: string): XmlNode[] {
  return parser.parse(xml) as XmlNode[];
}

export function buildXml(nodes: XmlNode[]): string {
  return builder.build(nodes) as string;
}

/** An element; attributes with undefined values are left out. */
export function el(
  name: string,
  attrs: Record<string, string | number | undefined> = {},
  content: XmlNode[] | string | number = [],
): XmlNode {
  const children =
    typeof content === "string" || typeof content === "number"
      ? [{ [TEXT]: String(content) }]
      : content;
  const node: XmlNode = { [name]: children };
  const present = Object.entries(attrs).filter(([, v]) => v !== undefined);
  if (present.length > 0) {
    node[ATTRS] = Object.fromEntries(present.map(([k, v]) => [`@_${k}`, String(v)]));
  }
  return node;
}

/** the element name of a node (undefined for text) */
export function tagOf(node: XmlNode): string | undefined {
  return Object.keys(node).find((k) => k !== ATTRS && k !== TEXT);
}

export function childrenOf(node: XmlNode): XmlNode[] {
  const tag = tagOf(node);
  const value = tag ? node[tag] : undefined;
  return Array.isArray(value) ? value : [];
}

export function attrOf(node: XmlNode, name: string): string | undefined {
  const attrs = node[ATTRS];
  return attrs && typeof attrs === "object" && !Array.isArray(attrs)
    ? attrs[`@_${name}`]
    : undefined;
}

export function setAttr(node: XmlNode, name: string, value: string): void {
  const attrs = node[ATTRS];
  if (attrs && typeof attrs === "object" && !Array.isArray(attrs)) attrs[`@_${name}`] = value;
  else node[ATTRS] = { [`@_${name}`]: value };
}

/** the first child element called `name` */
export function childNamed(node: XmlNode, name: string): XmlNode | undefined {
  return childrenOf(node).find((c) => tagOf(c) === name);
}
