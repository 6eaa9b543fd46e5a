const ZEROS = Buffer.alloc(4096);

/**
 * End of `buf[start, end)` with trailing NUL bytes removed (Python's `rstrip('\0')`).
 * Finds the first NUL natively and confirms the rest is all NUL with one memcmp, so the
 * usual NUL padding costs no per-byte JavaScript loop.
 */
export function endWithoutTrailingNuls(buf: Buffer, start: number, end: number): number {
  const firstNul = buf.indexOf(0, start);
  if (firstNul === -1 || firstNul >= end) return end;
  if (
    end - firstNul <= ZEROS.length &&
    buf.compare(ZEROS, 0, end - firstNul, firstNul, end) === 0
  ) {
    return firstNul;
  }
  let e = end;
  while (e > start && buf[e - 1] === 0) e--;
  return e;
}

/** Index just past the leading NUL bytes of `buf[start, end)`. */
export function startWithoutLeadingNuls(buf: Buffer, start: number, end: number): number {
  let s = start;
  while (s < end && buf[s] === 0) s++;
  return s;
}
