// Exact decimal arithmetic for quantities, prices, fees and PnL: a BigInt coefficient and a
// decimal scale. Values travel as canonical decimal strings in events; never as binary floats.
// Results are those big.js gave with DP = 18 and half-even rounding (test/unit/decimal-bigint),
// at a fraction of its cost: big.js works digit by digit on arrays.

/** Rounding of a discarded remainder: toward zero, half to even, or away from zero. */
export const RoundingMode = { Down: 0, HalfEven: 1, Up: 2 } as const;
export type RoundingMode = (typeof RoundingMode)[keyof typeof RoundingMode];

/** Fractional digits kept by a division (notional -> quantity, averages), like decimal(38,18). */
const DIV_PLACES = 18;

// 10^n for the scales that occur in practice; larger ones are computed on demand.
const POW10: bigint[] = [1n];
for (let i = 1; i <= 64; i++) POW10[i] = POW10[i - 1] * 10n;
const pow10 = (n: number): bigint => (n < POW10.length ? POW10[n] : 10n ** BigInt(n));

/** Operands the arithmetic accepts, like big.js did: a Dec, a decimal string or a JS number. */
export type DecLike = Dec | string | number;

/**
 * An immutable exact decimal: coef × 10^-scale, scale a non-negative integer. The coefficient may
 * carry trailing zeros (operations do not strip them: that costs a BigInt division per step);
 * comparisons are by value and toString is canonical whatever the scale.
 */
export class Dec {
  constructor(
    readonly coef: bigint,
    readonly scale: number,
  ) {}

  plus(y: DecLike): Dec {
    const o = typeof y === 'object' ? y : dec(y);
    const s = this.scale;
    if (s === o.scale) return new Dec(this.coef + o.coef, s);
    return s > o.scale ? new Dec(this.coef + o.coef * pow10(s - o.scale), s) : new Dec(this.coef * pow10(o.scale - s) + o.coef, o.scale);
  }

  minus(y: DecLike): Dec {
    const o = typeof y === 'object' ? y : dec(y);
    const s = this.scale;
    if (s === o.scale) return new Dec(this.coef - o.coef, s);
    return s > o.scale ? new Dec(this.coef - o.coef * pow10(s - o.scale), s) : new Dec(this.coef * pow10(o.scale - s) - o.coef, o.scale);
  }

  /** Exact product: no rounding. */
  times(y: DecLike): Dec {
    const o = typeof y === 'object' ? y : dec(y);
    return new Dec(this.coef * o.coef, this.scale + o.scale);
  }

  /** Quotient rounded half-even to 18 fractional digits; throws on division by zero. */
  div(y: DecLike): Dec {
    const o = typeof y === 'object' ? y : dec(y);
    if (o.coef === 0n) throw new RangeError('division by zero');
    // this / o × 10^18 = coef × 10^(18 + o.scale - scale) / o.coef
    const k = DIV_PLACES + o.scale - this.scale;
    const num = k >= 0 ? this.coef * pow10(k) : this.coef;
    const den = k >= 0 ? o.coef : o.coef * pow10(-k);
    const q = num / den;
    const r = num - q * den; // the remainder without a second BigInt division
    if (r === 0n) return new Dec(q, DIV_PLACES);
    // q is truncated toward zero; step away from zero when the remainder is past half (or half, q odd).
    const twice = r < 0n ? -2n * r : 2n * r;
    const half = twice - (den < 0n ? -den : den);
    if (half > 0n || (half === 0n && (q & 1n) === 1n)) return new Dec(q + (num < 0n !== den < 0n ? -1n : 1n), DIV_PLACES);
    return new Dec(q, DIV_PLACES);
  }

  /** Remainder of the truncated division, with the sign of this (big.js mod); throws on zero. */
  mod(y: DecLike): Dec {
    const o = typeof y === 'object' ? y : dec(y);
    if (o.coef === 0n) throw new RangeError('division by zero');
    const s = this.scale;
    if (s === o.scale) return new Dec(this.coef % o.coef, s);
    return s > o.scale ? new Dec(this.coef % (o.coef * pow10(s - o.scale)), s) : new Dec((this.coef * pow10(o.scale - s)) % o.coef, o.scale);
  }

  /** this^n for a non-negative integer n, exact. */
  pow(n: number): Dec {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`bad exponent: ${n}`);
    return new Dec(this.coef ** BigInt(n), this.scale * n);
  }

  abs(): Dec {
    return this.coef < 0n ? new Dec(-this.coef, this.scale) : this;
  }

  /** -1, 0 or 1 as this is less than, equal to or greater than y. */
  cmp(y: DecLike): -1 | 0 | 1 {
    // Against zero (the commonest comparison): the sign alone, no Dec made for the 0.
    if (y === 0) return this.coef > 0n ? 1 : this.coef < 0n ? -1 : 0;
    const o = typeof y === 'object' ? y : dec(y);
    let a = this.coef;
    let b = o.coef;
    if (this.scale > o.scale) b *= pow10(this.scale - o.scale);
    else if (this.scale < o.scale) a *= pow10(o.scale - this.scale);
    return a < b ? -1 : a > b ? 1 : 0;
  }

  eq(y: DecLike): boolean {
    return this.cmp(y) === 0;
  }

  gt(y: DecLike): boolean {
    return this.cmp(y) > 0;
  }

  gte(y: DecLike): boolean {
    return this.cmp(y) >= 0;
  }

  lt(y: DecLike): boolean {
    return this.cmp(y) < 0;
  }

  lte(y: DecLike): boolean {
    return this.cmp(y) <= 0;
  }

  /** Rounded to dp (>= 0) fractional digits; half-even unless another mode is given. */
  round(dp = 0, mode: RoundingMode = RoundingMode.HalfEven): Dec {
    if (!Number.isSafeInteger(dp) || dp < 0) throw new RangeError(`bad decimal places: ${dp}`);
    if (this.scale <= dp) return this;
    const unit = pow10(this.scale - dp);
    const q = this.coef / unit; // truncated toward zero
    const r = this.coef % unit;
    if (r === 0n || mode === RoundingMode.Down) return new Dec(q, dp);
    const away = this.coef < 0n ? q - 1n : q + 1n;
    if (mode === RoundingMode.Up) return new Dec(away, dp);
    const half = (r < 0n ? -2n * r : 2n * r) - unit;
    return new Dec(half > 0n || (half === 0n && (q & 1n) === 1n) ? away : q, dp);
  }

  /**
   * Plain notation; with dp, rounded half-even and padded to exactly dp fractional digits. As in
   * big.js a negative value keeps its sign even when it rounds to zero ("-0.00").
   */
  toFixed(dp?: number): string {
    if (dp === undefined) return this.toString();
    const r = this.round(dp);
    const c = r.coef < 0n ? -r.coef : r.coef;
    let s = (r.scale < dp ? c * pow10(dp - r.scale) : c).toString();
    if (dp > 0) {
      if (s.length <= dp) s = '0'.repeat(dp - s.length + 1) + s;
      s = s.slice(0, s.length - dp) + '.' + s.slice(s.length - dp);
    }
    return this.coef < 0n ? '-' + s : s;
  }

  /** Canonical: no exponent, no trailing fractional zeros, "0" for zero. */
  toString(): string {
    const c = this.coef;
    if (c === 0n) return '0';
    const neg = c < 0n;
    const s = (neg ? -c : c).toString();
    let end = s.length;
    let scale = this.scale;
    while (scale > 0 && s.charCodeAt(end - 1) === 48 /* '0' */) {
      end--;
      scale--;
    }
    let out: string;
    if (scale === 0) out = end === s.length ? s : s.slice(0, end);
    else if (end <= scale) out = '0.' + '0'.repeat(scale - end) + s.slice(0, end);
    else out = s.slice(0, end - scale) + '.' + s.slice(end - scale, end);
    return neg ? '-' + out : out;
  }

  /** JSON.stringify writes the canonical string (as it did for big.js). */
  toJSON(): string {
    return this.toString();
  }
}

export const ZERO: Dec = new Dec(0n, 0);

const DECIMAL_RE = /^-?(\d+(\.\d*)?|\.\d+)$/;
// What big.js parsed, exponent included: a JS number's string form may use one (1e-7).
const NUMERIC_RE = /^-?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i;

/**
 * Parse a decimal literal into its shortest coefficient and scale. Prices and quantities have
 * few digits: those are summed in a JS number, as BigInt(string) costs several times more.
 */
function parse(s: string): Dec | undefined {
  const len = s.length;
  const neg = s.charCodeAt(0) === 45; /* '-' */
  let n = 0;
  let count = 0;
  let dot = -1;
  for (let i = neg ? 1 : 0; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      n = n * 10 + (c - 48);
      count++;
    } else if (c === 46 && dot < 0) dot = i;
    else return parseLiteral(s); // an exponent, or not a number
  }
  // Up to 15 digits the sum is exact (< 2^53).
  if (count === 0 || count > 15) return parseLiteral(s);
  let scale = dot < 0 ? 0 : len - dot - 1;
  while (scale > 0 && n % 10 === 0) {
    n /= 10;
    scale--;
  }
  return new Dec(BigInt(neg ? -n : n), scale);
}

/** parse() for long coefficients and exponent forms. */
function parseLiteral(s: string): Dec | undefined {
  if (!NUMERIC_RE.test(s)) return undefined;
  let body = s;
  let exp = 0;
  let e = s.indexOf('e');
  if (e < 0) e = s.indexOf('E');
  if (e > 0) {
    exp = Number(s.slice(e + 1));
    body = s.slice(0, e);
  }
  const dot = body.indexOf('.');
  let text = dot < 0 ? body : body.slice(0, dot) + body.slice(dot + 1);
  let scale = (dot < 0 ? 0 : body.length - dot - 1) - exp;
  // Trailing fractional zeros change nothing but the cost of every later operation.
  const start = text.charCodeAt(0) === 45 /* '-' */ ? 1 : 0;
  let end = text.length;
  while (scale > 0 && end > start && text.charCodeAt(end - 1) === 48) {
    end--;
    scale--;
  }
  if (end === start) return ZERO;
  if (end < text.length) text = text.slice(0, end);
  const coef = BigInt(text);
  return scale >= 0 ? new Dec(coef, scale) : new Dec(coef * pow10(-scale), 0);
}

/** Parse a decimal from a string or a JS number (numbers go through their shortest string form). */
export function dec(x: DecLike): Dec {
  if (typeof x === 'object') return x;
  if (typeof x === 'number') {
    if (Number.isSafeInteger(x)) return new Dec(BigInt(x), 0);
    if (!Number.isFinite(x)) throw new RangeError(`not a finite number: ${x}`);
    return parse(String(x))!;
  }
  // Inputs are checked at the boundary (isDecimalString); parsing still rejects non-numbers.
  const d = parse(x);
  if (!d) throw new RangeError(`not a decimal: ${JSON.stringify(x).slice(0, 64)}`);
  return d;
}

/** A JS number as a plain decimal literal (never exponent notation: 1e-7 -> "0.0000001"). */
export function numberToDecimalString(x: number): string {
  return dec(x).toString();
}

/** True when the string is a plain decimal literal (no sign but '-', no exponent, no spaces). */
export function isDecimalString(s: string): boolean {
  return DECIMAL_RE.test(s);
}

/** Canonical string: no exponent, no trailing zeros, "0" for zero. */
export function fmt(d: Dec): string {
  return d.toString();
}

/** The same value with trailing zeros stripped from the coefficient (scale kept >= 0). */
function shortest(d: Dec): Dec {
  if (d.coef === 0n) return ZERO;
  let { coef, scale } = d;
  while (scale > 0 && coef % 10n === 0n) {
    coef /= 10n;
    scale--;
  }
  return scale === d.scale ? d : new Dec(coef, scale);
}

/** Decimal places of a step that is a power of ten (0.001 -> 3, 1 -> 0), else undefined. */
function powerOfTenPlaces(step: Dec): number | undefined {
  if (step.coef === 1n) return step.scale; // as parsed: "0.001" is 1 × 10^-3
  const s = shortest(step);
  return s.coef === 1n ? s.scale : undefined;
}

/** Largest multiple of step that is <= x (for x >= 0). */
export function floorTo(x: Dec, step: Dec): Dec {
  if (step.coef <= 0n) return x;
  const dp = powerOfTenPlaces(step);
  if (dp !== undefined) return x.round(dp, RoundingMode.Down);
  // Through the 18-digit quotient, as before: a quotient within 5e-19 of the next integer rounds up to it.
  return x.div(step).round(0, RoundingMode.Down).times(step);
}

/** Smallest multiple of step that is >= x (for x >= 0). */
export function ceilTo(x: Dec, step: Dec): Dec {
  if (step.coef <= 0n) return x;
  return x.div(step).round(0, RoundingMode.Up).times(step);
}

/** True when x is an exact multiple of step. */
export function isMultipleOf(x: Dec, step: Dec): boolean {
  if (step.coef <= 0n) return true;
  return x.mod(step).coef === 0n;
}

/** Count of integer and fractional digits, for rejecting absurd inputs. */
export function digits(d: Dec): { int: number; frac: number } {
  const s = shortest(d);
  if (s.coef === 0n) return { int: 0, frac: 0 };
  const len = (s.coef < 0n ? -s.coef : s.coef).toString().length;
  return { int: Math.max(len - s.scale, 0), frac: s.scale };
}
