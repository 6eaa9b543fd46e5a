/**
 * `repr()`/`str()` of a Python float: the shortest round-trip digits (as JavaScript),
 * but always with a fraction (`1.0`), and in exponent form `1e-05` / `1e+16` outside
 * 1e-4 <= |x| < 1e16, exactly where Python switches.
 */
export function pythonFloatStr(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const [mantissa, expText] = x.toExponential().split("e") as [string, string];
  const exp = Number(expText);
  const sign = mantissa.startsWith("-") ? "-" : "";
  const digits = mantissa.replace("-", "").replace(".", "");
  if (exp < -4 || exp >= 16) {
    const frac = digits.length > 1 ? `.${digits.slice(1)}` : "";
    const e = Math.abs(exp).toString().padStart(2, "0");
    return `${sign}${digits[0]}${frac}e${exp < 0 ? "-" : "+"}${e}`;
  }
  if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
  const intPart = digits.slice(0, exp + 1).padEnd(exp + 1, "0");
  const fracPart = digits.slice(exp + 1) || "0";
  return `${sign}${intPart}.${fracPart}`;
}

/** `"{0:.4f}".format(x)`: fixed four decimals, ties to even like Python. */
export function pythonFixed4(x: number): string {
  // Both round the exact binary value; they differ only on exact ties, which toFixed
  // rounds away from zero and Python to even. A double is such a tie iff x * 32 is an
  // odd integer (x = n / 20000 with n odd, and 20000 = 32 * 625).
  const thirtySeconds = x * 32;
  if (Number.isInteger(thirtySeconds) && Math.abs(thirtySeconds) % 2 === 1) {
    const down = Math.floor(x * 1e4);
    const even = down % 2 === 0 ? down : down + 1;
    return (even / 1e4).toFixed(4);
  }
  return x.toFixed(4);
}
