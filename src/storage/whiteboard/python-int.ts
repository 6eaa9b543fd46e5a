const INT = /^\s*[+-]?\d+(?:_\d+)*\s*$/;

/** Python's `int(text)` for base-10 text: surrounding whitespace, sign, `_` groups. */
export function parsePythonInt(text: string): number | undefined {
  // fast path: plain ASCII digits, the only form writers actually produce
  const len = text.length;
  if (len > 0 && len < 16) {
    let n = 0;
    let i = 0;
    for (; i < len; i++) {
      const c = text.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      n = n * 10 + c;
    }
    if (i === len) return n;
  }
  if (!INT.test(text)) return undefined;
  const n = Number(text.trim().replaceAll("_", ""));
  return Number.isSafeInteger(n) ? n : undefined;
}
