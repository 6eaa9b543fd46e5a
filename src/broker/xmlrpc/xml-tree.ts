/**
 * The little XML an XML-RPC document is, read into an order-preserving tree: elements
 * (attributes checked for syntax, then dropped), text (entities left as written: parse.ts
 * decodes the predefined ones), CDATA; the XML declaration, processing instructions and
 * comments skipped. A document type declaration is refused by the caller before this
 * runs. Anything not well-formed (an unclosed or mismatched tag, a `<` in text, text
 * beside the root, two roots) throws XmlSyntaxError with its line and column; elements
 * nested deeper than `maxDepth` throw XmlDepthError.
 *
 * Written for the broker's request and answer path instead of a general XML library:
 * it is what both daemons parse several times every loop, and the library cost each
 * daemon ~4 MiB of memory and most of an XML-RPC call's CPU time.
 */

/** One node: `{ tag: children }`, `{ "#text": text }` or `{ "#cdata": [{ "#text": text }] }`. */
export type XmlNode = { [tag: string]: XmlNode[] | string } & {
  "#text"?: string;
  "#cdata"?: XmlNode[];
};

export class XmlSyntaxError extends Error {
  override name = "XmlSyntaxError";
  constructor(
    readonly line: number,
    readonly column: number,
    readonly reason: string,
  ) {
    super(`malformed XML at line ${line}, column ${column}: ${reason}`);
  }
}

export class XmlDepthError extends Error {
  override name = "XmlDepthError";
  constructor(maxDepth: number) {
    super(`elements nested deeper than ${maxDepth}`);
  }
}

const NAME = /[A-Za-z_:][-A-Za-z0-9_:.]*/y;
const ATTRIBUTE = /\s+[A-Za-z_:][-A-Za-z0-9_:.]*\s*=\s*(?:"[^"<]*"|'[^'<]*')/y;
const SPACE = /\s*/y;
const BLANK = /^\s*$/;

/** Parses `xml` into its top-level nodes (exactly one element among them). */
export function parseXmlTree(xml: string, maxDepth: number): XmlNode[] {
  const top: XmlNode[] = [];
  const stack: Array<{ tag: string; children: XmlNode[] }> = [];
  let roots = 0;
  let i = 0;
  const fail = (at: number, reason: string): never => {
    let line = 1;
    let lineStart = 0;
    for (let k = xml.indexOf("\n"); k !== -1 && k < at; k = xml.indexOf("\n", k + 1)) {
      line++;
      lineStart = k + 1;
    }
    throw new XmlSyntaxError(line, at - lineStart + 1, reason);
  };
  const here = () => (stack.length > 0 ? stack[stack.length - 1]!.children : top);
  const skipTo = (from: number, end: string, what: string): number => {
    const k = xml.indexOf(end, from);
    if (k === -1) fail(from, `unterminated ${what}`);
    return k + end.length;
  };

  while (i < xml.length) {
    const lt = xml.indexOf("<", i);
    const textEnd = lt === -1 ? xml.length : lt;
    if (textEnd > i) {
      const text = xml.slice(i, textEnd);
      if (stack.length > 0) {
        // text split only by a comment or processing instruction is one text
        const siblings = here();
        const last = siblings[siblings.length - 1];
        if (last !== undefined && typeof last["#text"] === "string") last["#text"] += text;
        else siblings.push({ "#text": text });
      } else if (!BLANK.test(text)) fail(i, "text outside the root element");
      i = textEnd;
      continue;
    }
    // at "<"
    if (xml.startsWith("<?", i)) {
      i = skipTo(i + 2, "?>", "processing instruction");
    } else if (xml.startsWith("<!--", i)) {
      i = skipTo(i + 4, "-->", "comment");
    } else if (xml.startsWith("<![CDATA[", i)) {
      if (stack.length === 0) fail(i, "CDATA outside the root element");
      const end = xml.indexOf("]]>", i + 9);
      if (end === -1) fail(i, "unterminated CDATA section");
      here().push({ "#cdata": [{ "#text": xml.slice(i + 9, end) }] });
      i = end + 3;
    } else if (xml.startsWith("<!", i)) {
      fail(i, "declarations are not allowed here");
    } else if (xml.startsWith("</", i)) {
      NAME.lastIndex = i + 2;
      const m = NAME.exec(xml);
      if (!m) fail(i, "bad closing tag");
      const tag = m![0];
      SPACE.lastIndex = i + 2 + tag.length;
      SPACE.exec(xml);
      const close = SPACE.lastIndex;
      if (xml[close] !== ">") fail(close, `closing tag </${tag}> not ended by ">"`);
      const open = stack.pop();
      if (!open) fail(i, `closing tag </${tag}> without an opening tag`);
      if (open!.tag !== tag) fail(i, `closing tag </${tag}> does not match <${open!.tag}>`);
      i = close + 1;
    } else {
      NAME.lastIndex = i + 1;
      const m = NAME.exec(xml);
      if (!m) fail(i, "a tag name must follow <");
      const tag = m![0];
      let k = i + 1 + tag.length;
      for (;;) {
        ATTRIBUTE.lastIndex = k;
        if (!ATTRIBUTE.exec(xml)) break;
        k = ATTRIBUTE.lastIndex;
      }
      SPACE.lastIndex = k;
      SPACE.exec(xml);
      k = SPACE.lastIndex;
      let selfClosing = false;
      if (xml[k] === "/") {
        selfClosing = true;
        k++;
      }
      if (xml[k] !== ">") fail(k, `tag <${tag}> not ended by ">"`);
      if (stack.length === 0 && roots++ > 0) fail(i, "more than one root element");
      const children: XmlNode[] = [];
      here().push({ [tag]: children } as XmlNode);
      if (!selfClosing) {
        if (stack.length >= maxDepth) throw new XmlDepthError(maxDepth);
        stack.push({ tag, children });
      }
      i = k + 1;
    }
  }
  if (stack.length > 0) fail(xml.length, `<${stack[stack.length - 1]!.tag}> is not closed`);
  if (roots === 0) fail(xml.length, "no root element");
  return top;
}
