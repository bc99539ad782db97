// Oracle: the BigInt decimal must give exactly what big.js gave when it was the implementation
// (DP 18, half-even, NE -50, PE 50), for every operation the code base uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import Big from 'big.js';
import { ceilTo, dec, Dec, digits, floorTo, fmt, isMultipleOf, numberToDecimalString, RoundingMode } from '../../src/domain/decimal.js';

const B = Big();
B.DP = 18;
B.RM = B.roundHalfEven;
B.NE = -50;
B.PE = 50;

// Big.js numbers its rounding modes 0 down, 2 half-even, 3 up.
const MODES = [
  [RoundingMode.Down, B.roundDown],
  [RoundingMode.HalfEven, B.roundHalfEven],
  [RoundingMode.Up, B.roundUp],
] as const;

/**
 * big.js's text. Past 1e±50 it switches to exponent notation, which decimal.ts configured it
 * never to reach in practice; the BigInt class writes plain digits at any size.
 */
const text = (b: Big): string => (b.e > -50 && b.e < 50 ? b.toString() : b.toFixed());

// Digits skewed to 0, 5 and 9 so that ties, carries and trailing zeros are common.
const digit = fc.oneof(fc.constantFrom('0', '5', '9'), fc.constantFrom('0', '1', '2', '3', '4', '5', '6', '7', '8', '9'));
const digitString = (max: number) => fc.array(digit, { minLength: 1, maxLength: max }).map((d) => d.join(''));

/**
 * A value as both implementations hold it. The BigInt side is built from (coefficient, scale) with
 * extra trailing zeros, as results of operations carry them; big.js parses the exponent form.
 */
interface Pair {
  d: Dec;
  b: Big;
}
const pair = (maxDigits: number, maxScale: number): fc.Arbitrary<Pair> =>
  fc.tuple(fc.boolean(), digitString(maxDigits), fc.integer({ min: 0, max: maxScale }), fc.integer({ min: 0, max: 4 })).map(([neg, ds, scale, zeros]) => {
    const coef = (neg ? -1n : 1n) * BigInt(ds);
    return { d: new Dec(coef * 10n ** BigInt(zeros), scale + zeros), b: new B(`${coef}e-${scale}`) };
  });
// Everyday sizes (prices, quantities), large (30+ digits) and tiny (20+ fractional digits) ones, and zero.
const anyPair: fc.Arbitrary<Pair> = fc.oneof(
  { arbitrary: pair(9, 6), weight: 4 },
  { arbitrary: pair(40, 8), weight: 2 },
  { arbitrary: pair(12, 30), weight: 2 },
  { arbitrary: pair(40, 40), weight: 1 },
  { arbitrary: fc.constant({ d: dec(0), b: new B(0) }), weight: 1 },
);
const positivePair = anyPair.filter((p) => p.b.gt(0));
const POW10_STEPS = ['1', '0.1', '0.01', '0.00001', '10', '100'].map((s) => ({ d: dec(s), b: new B(s) }));
const stepPair: fc.Arbitrary<Pair> = fc.oneof(
  positivePair,
  fc.constantFrom(...POW10_STEPS),
  // a power of ten written with trailing zeros (1.000, 0.0100)
  fc.tuple(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 1, max: 4 })).map(([k, z]) => ({ d: new Dec(10n ** BigInt(z), k + z), b: new B(`1e-${k}`) })),
);

const RUNS = { numRuns: 3000 };

test('parse and format: the same strings accepted, the same canonical text', () => {
  const literal = fc
    .tuple(
      fc.constantFrom('', '-'),
      fc.oneof(digitString(45), fc.constant('')),
      fc.constantFrom('', '.'),
      fc.oneof(digitString(30), fc.constant('')),
      fc.constantFrom('', 'e-7', 'e+3', 'E21', 'e0'),
    )
    .map((p) => p.join(''));
  const junk = fc.string({ unit: fc.constantFrom('0', '1', '5', '.', '-', '+', 'e', 'E', ' ', 'x'), maxLength: 8 });
  fc.assert(
    fc.property(fc.oneof(literal, junk), (s) => {
      let b: Big | undefined;
      try {
        b = new B(s);
      } catch {
        b = undefined;
      }
      if (b === undefined) {
        assert.throws(() => dec(s), { name: 'RangeError', message: `not a decimal: ${JSON.stringify(s).slice(0, 64)}` });
      } else {
        assert.equal(fmt(dec(s)), text(b), s);
      }
    }),
    { numRuns: 5000 },
  );
});

test('numbers go through their shortest string form', () => {
  fc.assert(
    fc.property(fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), fc.constantFrom(-0, 1e-7, 1e21, 0.1, 2 ** 53 + 2)), (n) => {
      assert.equal(fmt(dec(n)), text(new B(n)), String(n));
      assert.equal(numberToDecimalString(n), new B(n).toFixed(), String(n));
    }),
    RUNS,
  );
  assert.throws(() => dec(Number.NaN), { name: 'RangeError', message: 'not a finite number: NaN' });
});

test('plus, minus, times, div, mod', () => {
  fc.assert(
    fc.property(anyPair, anyPair, (x, y) => {
      const what = `${text(x.b)} ${text(y.b)}`;
      assert.equal(fmt(x.d.plus(y.d)), text(x.b.plus(y.b)), what);
      assert.equal(fmt(x.d.minus(y.d)), text(x.b.minus(y.b)), what);
      assert.equal(fmt(x.d.times(y.d)), text(x.b.times(y.b)), what);
      if (y.b.eq(0)) {
        assert.throws(() => x.d.div(y.d), RangeError);
        assert.throws(() => x.d.mod(y.d), RangeError);
      } else {
        assert.equal(fmt(x.d.div(y.d)), text(x.b.div(y.b)), what);
        assert.equal(fmt(x.d.mod(y.d)), text(x.b.mod(y.b)), what);
      }
    }),
    RUNS,
  );
});

test('div rounds exact ties half to even at the 18th digit', () => {
  // x = (q + 5e-19) × y, so x / y lies exactly halfway between two 18-digit results.
  fc.assert(
    fc.property(
      anyPair.filter((p) => !p.b.eq(0)),
      fc.tuple(fc.boolean(), digitString(25)),
      (y, [neg, qs]) => {
        const q = `${neg ? '-' : ''}${qs}5e-19`;
        const x = dec(q).times(y.d);
        const xb = new B(q).times(y.b);
        assert.equal(fmt(x.div(y.d)), text(xb.div(y.b)), `${q} × ${text(y.b)}`);
      },
    ),
    RUNS,
  );
});

test('operands may be strings and numbers, as call sites pass them', () => {
  fc.assert(
    fc.property(anyPair, fc.oneof(fc.integer({ min: -20000, max: 20000 }), fc.constantFrom('0', '0.5', '0.001', '-3.25')), (x, y) => {
      assert.equal(fmt(x.d.plus(y)), text(x.b.plus(y)));
      assert.equal(fmt(x.d.times(y)), text(x.b.times(y)));
      assert.equal(x.d.cmp(y), x.b.cmp(y));
      if (!new B(y).eq(0)) assert.equal(fmt(x.d.div(y)), text(x.b.div(y)));
    }),
    RUNS,
  );
});

test('comparisons are by value, whatever the scale', () => {
  fc.assert(
    fc.property(
      anyPair,
      fc.oneof(
        anyPair,
        anyPair.map(({ d, b }) => ({ d: new Dec(d.coef * 1000n, d.scale + 3), b })),
      ),
      (x, y) => {
        const what = `${text(x.b)} ${text(y.b)}`;
        assert.equal(x.d.cmp(y.d), x.b.cmp(y.b), what);
        assert.equal(x.d.eq(y.d), x.b.eq(y.b), what);
        assert.equal(x.d.gt(y.d), x.b.gt(y.b), what);
        assert.equal(x.d.gte(y.d), x.b.gte(y.b), what);
        assert.equal(x.d.lt(y.d), x.b.lt(y.b), what);
        assert.equal(x.d.lte(y.d), x.b.lte(y.b), what);
      },
    ),
    RUNS,
  );
});

test('round, toFixed, abs, pow, digits', () => {
  fc.assert(
    fc.property(anyPair, fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 4 }), (x, dp, n) => {
      const what = `${text(x.b)} dp ${dp}`;
      assert.equal(fmt(x.d.round()), text(x.b.round()), what);
      for (const [mode, rm] of MODES) assert.equal(fmt(x.d.round(dp, mode)), text(x.b.round(dp, rm)), `${what} mode ${rm}`);
      assert.equal(x.d.toFixed(dp), x.b.toFixed(dp), what);
      assert.equal(x.d.toFixed(), x.b.toFixed(), what);
      assert.equal(fmt(x.d.abs()), text(x.b.abs()), what);
      assert.equal(fmt(x.d.pow(n)), text(x.b.pow(n)), `${what} ^${n}`);
      assert.deepEqual(digits(x.d), bigDigits(x.b), what);
      assert.equal(JSON.stringify({ x: x.d }), JSON.stringify({ x: x.b }), what);
    }),
    RUNS,
  );
});

test('floorTo, ceilTo, isMultipleOf', () => {
  fc.assert(
    fc.property(anyPair, stepPair, (x, step) => {
      const what = `${text(x.b)} step ${text(step.b)}`;
      assert.equal(fmt(floorTo(x.d, step.d)), text(bigFloorTo(x.b, step.b)), what);
      assert.equal(fmt(ceilTo(x.d, step.d)), text(bigCeilTo(x.b, step.b)), what);
      assert.equal(isMultipleOf(x.d, step.d), x.b.mod(step.b).eq(0), what);
      assert.equal(isMultipleOf(x.d.round(0, RoundingMode.Down).times(step.d), step.d), true, what);
    }),
    RUNS,
  );
  // Quotients within 5e-19 below an integer: the 18-digit division rounds them up to it, except
  // on the power-of-ten path, which truncates x itself (also for a step written as 1.000).
  for (const [x, step] of [
    ['2.9999999999999999999', '1'],
    ['2.9999999999999999999', '0.5'],
    ['0.29999999999999999999', '0.1'],
    ['0.29999999999999999999', '0.05'],
  ]) {
    for (const s of [dec(step), new Dec(dec(step).coef * 1000n, dec(step).scale + 3)]) {
      assert.equal(fmt(floorTo(dec(x), s)), text(bigFloorTo(new B(x), new B(step))), `${x} step ${step}`);
      assert.equal(fmt(ceilTo(dec(x), s)), text(bigCeilTo(new B(x), new B(step))), `${x} step ${step}`);
    }
  }
  // A non-positive step leaves x alone.
  assert.equal(fmt(floorTo(dec('1.25'), dec(0))), '1.25');
  assert.equal(isMultipleOf(dec('1.25'), dec('-1')), true);
});

// The big.js versions of the helpers, as decimal.ts had them.
function bigFloorTo(x: Big, step: Big): Big {
  if (step.lte(0)) return x;
  if (step.c.length === 1 && step.c[0] === 1 && step.e <= 0) return x.round(-step.e, B.roundDown);
  return x.div(step).round(0, B.roundDown).times(step);
}

function bigCeilTo(x: Big, step: Big): Big {
  if (step.lte(0)) return x;
  return x.div(step).round(0, B.roundUp).times(step);
}

function bigDigits(d: Big): { int: number; frac: number } {
  if (d.c.length === 1 && d.c[0] === 0) return { int: 0, frac: 0 };
  return { int: Math.max(d.e + 1, 0), frac: Math.max(d.c.length - d.e - 1, 0) };
}
