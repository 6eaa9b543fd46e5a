import { XMLParser, XMLValidator } from "fast-xml-parser";
import { describe, expect, it } from "vitest";
import { parseXmlTree, XmlDepthError, XmlSyntaxError } from "../../src/broker/xmlrpc/xml-tree.js";
import { SeededRandom } from "../../src/simulator/random.js";

/**
 * The broker's own XML reader (src/broker/xmlrpc/xml-tree.ts) against fast-xml-parser,
 * the library it replaced on the XML-RPC path, on generated documents: the same tree
 * for every well-formed one, both refusing the malformed ones.
 */
const library = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: false,
  processEntities: false,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  cdataPropName: "#cdata",
  commentPropName: false,
});

const TAGS = ["value", "struct", "member", "name", "array", "data", "dateTime.iso8601", "i8"];
const TEXTS = ["", " ", "\n  ", "abc", "1&amp;2", "&#65;", "x y", "é€", "a>b", "'q'\"q\""];

function element(r: () => number, depth: number): string {
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  const tag = pick(TAGS);
  const attrs = r() < 0.2 ? ` a="1" b='x y'` : "";
  if (depth > 4 || r() < 0.2) return r() < 0.5 ? `<${tag}${attrs}/>` : `<${tag}${attrs} />`;
  let inner = "";
  const n = Math.floor(r() * 4);
  for (let k = 0; k < n; k++) {
    const x = r();
    if (x < 0.45) inner += element(r, depth + 1);
    else if (x < 0.85) inner += pick(TEXTS);
    else if (x < 0.93) inner += `<![CDATA[${pick(TEXTS)}<&>]]>`;
    else inner += "<!-- note -->";
  }
  return `<${tag}${attrs}>${inner}</${tag}>`;
}

describe("xml-tree (the XML-RPC path's reader)", () => {
  it("reads generated well-formed documents into the same tree as fast-xml-parser", () => {
    for (let seed = 1; seed <= 500; seed++) {
      const g = new SeededRandom(seed);
      const r = () => g.next();
      const decl = r() < 0.5 ? "<?xml version='1.0'?>\n" : "";
      const xml = `${decl}${element(r, 0)}${r() < 0.5 ? "\n" : ""}`;
      expect(XMLValidator.validate(xml), `seed ${seed}: ${xml}`).toBe(true);
      expect(parseXmlTree(xml, 48), `seed ${seed}: ${xml}`).toEqual(library.parse(xml));
    }
  });

  it("refuses what is not well-formed, naming line and column, as the library's validator does", () => {
    const bad = [
      "<a><b></a></b>",
      "<a>",
      "<a></a><b></b>",
      "text<a/>",
      "<a>1 < 2</a>",
      "<a x=1></a>",
      "<a><!-- unterminated </a>",
      "<a><![CDATA[ x </a>",
      "</a>",
      "<1a/>",
      "",
    ];
    for (const xml of bad) {
      expect(XMLValidator.validate(xml), xml).not.toBe(true);
      expect(() => parseXmlTree(xml, 48), xml).toThrow(XmlSyntaxError);
    }
    expect(() => parseXmlTree("<a>\n  <b>\n</a>", 48)).toThrow(/line 3, column 1/);
    // text after the root is not XML (the library's validator lets it pass; we do not)
    expect(() => parseXmlTree("<a/>text", 48)).toThrow(/text outside the root/);
  });

  it("stops at the nesting limit", () => {
    const deep = `${"<v>".repeat(60)}${"</v>".repeat(60)}`;
    expect(() => parseXmlTree(deep, 48)).toThrow(XmlDepthError);
    expect(parseXmlTree(deep, 64)).toHaveLength(1);
  });
});
