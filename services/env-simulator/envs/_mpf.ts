/**
 * Just enough of mpmath (binary floating point of arbitrary precision, round-half-even) and
 * of Python's `decimal` for MathAPI: `log(x)/log(b)` with its `mpf` repr, and `Decimal.sqrt`.
 * @module
 */

/** An mpf value `man * 2^exp` (`man` is normalised to the working precision). */
export interface Mpf {
  readonly man: bigint;
  readonly exp: number;
}

function bitLen(n: bigint): number {
  return n === 0n ? 0 : (n < 0n ? -n : n).toString(2).length;
}

function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** mpmath `dps_to_prec`. */
export function dpsToPrec(dps: number): number {
  return Math.max(1, roundHalfEven((Math.trunc(dps) + 1) * 3.3219280948873626));
}

/** mpmath `repr_dps` of a binary precision. */
export function reprDigits(prec: number): number {
  const dps = Math.max(1, roundHalfEven(prec / 3.3219280948873626) - 1);
  return dps === 15 ? 17 : dps + 3;
}

/** Round `man * 2^exp` (plus a sticky flag for discarded nonzero bits) to `prec` bits. */
function normalize(man: bigint, exp: number, prec: number, sticky = false): Mpf {
  if (man === 0n) return { man: 0n, exp: 0 };
  const neg = man < 0n;
  let m = neg ? -man : man;
  const shift = bitLen(m) - prec;
  if (shift > 0) {
    const half = 1n << BigInt(shift - 1);
    const rem = m & ((1n << BigInt(shift)) - 1n);
    m >>= BigInt(shift);
    exp += shift;
    if (rem > half || (rem === half && (sticky || (m & 1n) === 1n))) m += 1n;
    if (bitLen(m) > prec) {
      m >>= 1n;
      exp += 1;
    }
  }
  while (m !== 0n && (m & 1n) === 0n) {
    m >>= 1n;
    exp += 1;
  }
  return { man: neg ? -m : m, exp };
}

/** Exact `[numerator, exponent]` of a finite double (value = n * 2^e). */
export function fromNumber(x: number): Mpf {
  if (x === 0) return { man: 0n, exp: 0 };
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const e = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (e !== 0) m |= 1n << 52n;
  const exp = e === 0 ? -1074 : e - 1075;
  return normalize(x < 0 ? -m : m, exp, 60);
}

function lnFixed(x: Mpf, w: number): bigint {
  // x = f * 2^k with f in [1, 2)
  const one = 1n << BigInt(w);
  const bl = bitLen(x.man);
  const k = x.exp + bl - 1;
  const shift = w - (bl - 1);
  const f = shift >= 0 ? x.man << BigInt(shift) : x.man >> BigInt(-shift);
  const atanh = (y: bigint): bigint => {
    let sum = y;
    const y2 = (y * y) >> BigInt(w);
    let term = y;
    for (let n = 3n; term !== 0n; n += 2n) {
      term = (term * y2) >> BigInt(w);
      sum += term / n;
    }
    return sum;
  };
  const y = ((f - one) << BigInt(w)) / (f + one);
  const lnf = 2n * atanh(y);
  const ln2 = 2n * atanh(one / 3n);
  return lnf + BigInt(k) * ln2;
}

/** `mpmath.log(x)` of a positive value, rounded to `prec` bits. */
export function mpLog(x: Mpf, prec: number): Mpf {
  if (x.man === 1n && x.exp === 0) return { man: 0n, exp: 0 };
  const w = prec + 64;
  return normalize(lnFixed(x, w), -w, prec, true);
}

/** `a / b` rounded to `prec` bits. */
export function mpDiv(a: Mpf, b: Mpf, prec: number): Mpf {
  if (a.man === 0n) return a;
  const extra = prec + 4 + bitLen(b.man) - bitLen(a.man) + 2;
  const sh = Math.max(0, extra);
  const num = a.man << BigInt(sh);
  const q = num / b.man;
  const sticky = num % b.man !== 0n;
  return normalize(q, a.exp - b.exp - sh, prec, sticky);
}

/** mpmath `to_str(x, dps)` as used by `repr(mpf)` (without the `mpf('...')` wrapper). */
export function mpToStr(x: Mpf, dps: number): string {
  if (x.man === 0n) return "0.0";
  const sign = x.man < 0n ? "-" : "";
  const m = x.man < 0n ? -x.man : x.man;
  const d = dps + 3;
  const num = x.exp >= 0 ? m << BigInt(x.exp) : m;
  const den = x.exp >= 0 ? 1n : 1n << BigInt(-x.exp);
  let e = Math.floor((bitLen(m) + x.exp - 1) * 0.30102999566398120);
  let digits = "";
  for (let tries = 0; tries < 4; tries++) {
    const s = d - 1 - e;
    const n = s >= 0 ? (num * 10n ** BigInt(s)) / den : num / (den * 10n ** BigInt(-s));
    digits = n.toString();
    if (digits.length > d) e += 1;
    else if (digits.length < d) e -= 1;
    else break;
  }
  let exponent = e;
  if (digits.length > dps && "56789".includes(digits[dps]!)) {
    const chars = digits.slice(0, dps).split("");
    let i = dps - 1;
    while (i >= 0 && chars[i] === "9") i--;
    if (i >= 0) {
      digits = chars.slice(0, i).join("") + String(Number(chars[i]) + 1) + "0".repeat(dps - i - 1);
    } else {
      digits = "1" + "0".repeat(dps - 1);
      exponent += 1;
    }
  } else digits = digits.slice(0, dps);
  const minFixed = Math.min(-Math.floor(dps / 3), -5);
  let split = 1;
  if (minFixed < exponent && exponent < dps) {
    if (exponent < 0) digits = "0".repeat(-exponent) + digits;
    else {
      split = exponent + 1;
      if (split > dps) digits += "0".repeat(split - dps);
    }
    exponent = 0;
  }
  let text = digits.slice(0, split) + "." + digits.slice(split);
  text = text.replace(/0+$/, "");
  if (text.endsWith(".")) text += "0";
  if (exponent === 0) return sign + text;
  return sign + text + (exponent > 0 ? "e+" : "e") + String(exponent);
}

/** An exact decimal `coefficient * 10^exponent`. */
export interface Dec {
  readonly coefficient: bigint;
  readonly exponent: number;
}

/** `Decimal(x)` for a float (exact) or an int. */
export function decFrom(x: number | bigint): Dec {
  if (typeof x === "bigint") return { coefficient: x, exponent: 0 };
  const f = fromNumber(x);
  if (f.exp >= 0) return { coefficient: f.man << BigInt(f.exp), exponent: 0 };
  return { coefficient: f.man * 5n ** BigInt(-f.exp), exponent: f.exp };
}

/** `Decimal.sqrt()` with `prec` significant digits (ROUND_HALF_EVEN), as `_pydecimal` does. */
export function decSqrt(x: Dec, prec: number): Dec {
  if (x.coefficient === 0n) return { coefficient: 0n, exponent: x.exponent >> 1 };
  const digitsLen = x.coefficient.toString().length;
  let c: bigint;
  let l: number;
  let e = x.exponent >> 1;
  if (x.exponent & 1) {
    c = x.coefficient * 10n;
    l = (digitsLen >> 1) + 1;
  } else {
    c = x.coefficient;
    l = (digitsLen + 1) >> 1;
  }
  const shift = prec - l;
  let exact: boolean;
  if (shift >= 0) {
    c *= 100n ** BigInt(shift);
    exact = true;
  } else {
    const div = 100n ** BigInt(-shift);
    exact = c % div === 0n;
    c /= div;
  }
  e -= shift;
  let n = 10n ** BigInt(prec);
  for (;;) {
    const q = c / n;
    if (n <= q) break;
    n = (n + q) >> 1n;
  }
  exact = exact && n * n === c;
  if (exact) {
    if (shift >= 0) n /= 10n ** BigInt(shift);
    else n *= 10n ** BigInt(-shift);
    e += shift;
  } else if (n % 5n === 0n) n += 1n;
  // _fix: round to prec digits, half even
  let s = n.toString();
  if (s.length > prec) {
    const drop = s.length - prec;
    const div = 10n ** BigInt(drop);
    let q = n / div;
    const r = n % div;
    const half = div / 2n;
    if (r > half || (r === half && q % 2n === 1n)) q += 1n;
    n = q;
    e += drop;
    s = n.toString();
    if (s.length > prec) {
      n /= 10n;
      e += 1;
    }
  }
  return { coefficient: n, exponent: e };
}

/** `str(Decimal)` (to-scientific-string). */
export function decToStr(x: Dec): string {
  const sign = x.coefficient < 0n ? "-" : "";
  const int = (x.coefficient < 0n ? -x.coefficient : x.coefficient).toString();
  const leftdigits = x.exponent + int.length;
  const dotplace = x.exponent <= 0 && leftdigits > -6 ? leftdigits : 1;
  let intpart: string;
  let fracpart: string;
  if (dotplace <= 0) {
    intpart = "0";
    fracpart = "." + "0".repeat(-dotplace) + int;
  } else if (dotplace >= int.length) {
    intpart = int + "0".repeat(dotplace - int.length);
    fracpart = "";
  } else {
    intpart = int.slice(0, dotplace);
    fracpart = "." + int.slice(dotplace);
  }
  const exp = leftdigits === dotplace ? "" : "E" + (leftdigits - dotplace >= 0 ? "+" : "") +
    String(leftdigits - dotplace);
  return sign + intpart + fracpart + exp;
}
