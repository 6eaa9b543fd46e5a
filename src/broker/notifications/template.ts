/**
 * The shipped `state_transition.txt` of the original (no newline after the body), used
 * when the notifications directory has none.
 */
export const DEFAULT_STATE_TRANSITION_TEMPLATE =
  "From: {source-email}\n" +
  "To: {destination-emails}\n" +
  "Subject: ovirt-hosted-engine state transition {detail}\n" +
  "\n" +
  "Hosted engine host: {hostname} changed state: {detail}.";

export const DEFAULT_TEMPLATES: Readonly<Record<string, string>> = Object.freeze({
  state_transition: DEFAULT_STATE_TRANSITION_TEMPLATE,
});

export class TemplateError extends Error {
  override name = "TemplateError";
}

/**
 * Python's `template.format(**values)` for what the templates use: `{name}` (a
 * conversion `!r`/`!s` or a `:spec` after the name is accepted and ignored), `{{` and
 * `}}` for literal braces. A missing name or a lone brace throws TemplateError.
 */
export function formatTemplate(template: string, values: Record<string, string>): string {
  let out = "";
  let i = 0;
  while (i < template.length) {
    const ch = template[i]!;
    const next = template[i + 1];
    if (ch === "{" && next === "{") {
      out += "{";
      i += 2;
    } else if (ch === "}" && next === "}") {
      out += "}";
      i += 2;
    } else if (ch === "{") {
      const end = template.indexOf("}", i + 1);
      if (end < 0) throw new TemplateError(`unmatched "{" at offset ${i}`);
      const field = template.slice(i + 1, end);
      const name = field.split(/[!:]/, 1)[0]!;
      const value = values[name];
      if (value === undefined) throw new TemplateError(`no value for placeholder {${name}}`);
      out += value;
      i = end + 1;
    } else if (ch === "}") {
      throw new TemplateError(`single "}" at offset ${i}`);
    } else {
      out += ch;
      i += 1;
    }
  }
  return out;
}
