// Exact decimal arithmetic for quantities, prices, fees and PnL (big.js).
// Values travel as canonical decimal strings in events; never as binary floats.
import Big from 'big.js';
// Never switch to exponent notation: event payloads and hashes need plain digits.
Big.NE = -50;
Big.PE = 50;
// Divisions (notional -> quantity, averages) keep 18 fractional digits, like decimal(38,18).
Big.DP = 18;
Big.RM = Big.roundHalfEven;

export type Dec = Big;
export const ZERO: Dec = new Big(0);

const DECIMAL_RE = /^-?(\d+(\.\d*)?|\.\d+)$/;

/** Parse a decimal from a string or a JS number (numbers go through their shortest string form). */
export function dec(x: string | number | Dec): Dec {
  if (typeof x === 'object') return x;
  if (typeof x === 'number') {
    if (!Number.isFinite(x)) throw new RangeError(`not a finite number: ${x}`);
    return new Big(x);
  }
  // Inputs are checked at the boundary (isDecimalString); big.js still rejects non-numbers.
  try {
    return new Big(x);
  } catch {
    throw new RangeError(`not a decimal: ${JSON.stringify(x).slice(0, 64)}`);
  }
}

/** A JS number as a plain decimal literal (never exponent notation: 1e-7 -> "0.0000001"). */
export function numberToDecimalString(x: number): string {
  return new Big(x).toFixed();
}

/** True when the string is a plain decimal literal (no sign but '-', no exponent, no spaces). */
export function isDecimalString(s: string): boolean {
  return DECIMAL_RE.test(s);
}

/** Canonical string: no exponent, no trailing zeros, "0" for zero. */
export function fmt(d: Dec): string {
  const s = d.toString();
  return s === '-0' ? '0' : s;
}

/** Decimal places of a step that is a power of ten (0.001 -> 3, 1 -> 0), else undefined. */
function powerOfTenPlaces(step: Dec): number | undefined {
  // big.js keeps digits in c and the exponent in e: a power of ten has the single digit 1.
  const c = (step as unknown as { c: number[]; e: number }).c;
  const e = (step as unknown as { e: number }).e;
  return c.length === 1 && c[0] === 1 && e <= 0 ? -e : undefined;
}

/** Largest multiple of step that is <= x (for x >= 0). */
export function floorTo(x: Dec, step: Dec): Dec {
  if (step.lte(0)) return x;
  const dp = powerOfTenPlaces(step);
  if (dp !== undefined) return x.round(dp, Big.roundDown);
  return x.div(step).round(0, Big.roundDown).times(step);
}

/** Smallest multiple of step that is >= x (for x >= 0). */
export function ceilTo(x: Dec, step: Dec): Dec {
  if (step.lte(0)) return x;
  return x.div(step).round(0, Big.roundUp).times(step);
}

/** True when x is an exact multiple of step. */
export function isMultipleOf(x: Dec, step: Dec): boolean {
  if (step.lte(0)) return true;
  return x.mod(step).eq(0);
}

/** Count of integer and fractional digits, for rejecting absurd inputs. */
export function digits(d: Dec): { int: number; frac: number } {
  // From big.js's coefficient digits (c) and exponent (e), whatever notation toString would use.
  const { c, e } = d as unknown as { c: number[]; e: number };
  if (c.length === 1 && c[0] === 0) return { int: 0, frac: 0 };
  return { int: Math.max(e + 1, 0), frac: Math.max(c.length - e - 1, 0) };
}

export { Big };
