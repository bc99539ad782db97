import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isoToMicros, microsToIso, parseRfc3339Micros } from '../../src/domain/time.js';

// Oracle: Date for the whole seconds, the fraction's first six digits for the microseconds.
function oracle(s: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?Z$/.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, sec, frac = ''] = m.map((x) => x ?? '');
  const ms = Date.UTC(+y, +mo - 1, +d, +h, +mi, +sec);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== +y || back.getUTCMonth() + 1 !== +mo || back.getUTCDate() !== +d || +h > 23 || +mi > 59 || +sec > 59) return undefined;
  if (+y < 1970 || +y > 2199) return undefined;
  return ms * 1000 + Number((frac + '000000').slice(0, 6));
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');

test('UTC times parse to exact epoch microseconds, 1970 through 2199, and print back canonically', () => {
  const seconds = fc.integer({ min: 0, max: Date.UTC(2199, 11, 31, 23, 59, 59) / 1000 });
  fc.assert(
    fc.property(seconds, fc.stringMatching(/^(\.\d{1,9})?$/), (s, frac) => {
      const text = new Date(s * 1000).toISOString().slice(0, 19) + frac + 'Z';
      const us = parseRfc3339Micros(text);
      assert.equal(us, oracle(text), text);
      assert.equal(isoToMicros(microsToIso(us!)), us, 'canonical form round-trips');
    }),
    { numRuns: 2000 },
  );
});

test('impossible dates and times outside 1970..2199 are refused, not rolled over', () => {
  const fields = fc.tuple(
    fc.integer({ min: 1960, max: 2300 }),
    fc.integer({ min: 0, max: 13 }),
    fc.integer({ min: 0, max: 32 }),
    fc.integer({ min: 0, max: 25 }),
    fc.integer({ min: 0, max: 61 }),
    fc.integer({ min: 0, max: 61 }),
  );
  fc.assert(
    fc.property(fields, ([y, mo, d, h, mi, s]) => {
      const text = `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}.5Z`;
      assert.equal(parseRfc3339Micros(text), oracle(text), text);
    }),
    { numRuns: 3000 },
  );
  for (const bad of [
    '2025-02-29T00:00:00Z',
    '2026-04-31T00:00:00Z',
    '1969-12-31T23:59:59Z',
    '2200-01-01T00:00:00Z',
    '9999-12-31T23:59:59.999999Z',
    '2026-01-02T10:00:00.Z',
    '2026-01-02T10:00Z',
  ]) {
    assert.equal(parseRfc3339Micros(bad), undefined, bad);
  }
  assert.equal(parseRfc3339Micros('2024-02-29T00:00:00Z'), Date.UTC(2024, 1, 29) * 1000);
  assert.equal(parseRfc3339Micros('2199-12-31T23:59:59.999999Z'), Date.UTC(2199, 11, 31, 23, 59, 59, 999) * 1000 + 999);
});

test('offsets and lower-case separators take the general path and agree with the UTC form', () => {
  assert.equal(parseRfc3339Micros('2026-01-02T15:30:00.25+05:30'), parseRfc3339Micros('2026-01-02T10:00:00.250000Z'));
  assert.equal(parseRfc3339Micros('2026-01-02t10:00:00z'), parseRfc3339Micros('2026-01-02T10:00:00Z'));
  assert.equal(parseRfc3339Micros('2199-12-31T23:00:00-05:00'), undefined, 'after 2199 in UTC');
});

test('canonical formatting equals the Date-based form, whatever sequence of times it sees', () => {
  const T0 = Date.parse('2026-01-02T10:00:00Z') * 1000;
  const viaDate = (us: number) => {
    const ms = Math.floor(us / 1000);
    return new Date(ms).toISOString().slice(0, -1) + String(us - ms * 1000).padStart(3, '0') + 'Z';
  };
  // Runs within one second (the cached prefix), jumps across seconds, and far times.
  const micros = fc.oneof(
    fc.integer({ min: T0, max: T0 + 3_000_000 }),
    fc.integer({ min: 0, max: Date.UTC(2199, 11, 31) * 1000 }),
    fc.constantFrom(0, 999_999, 1_000_000, T0 - 1, T0),
  );
  fc.assert(
    fc.property(fc.array(micros, { minLength: 1, maxLength: 30 }), (times) => {
      for (const us of times) {
        assert.equal(microsToIso(us), viaDate(us), String(us));
        assert.equal(parseRfc3339Micros(microsToIso(us)), us);
      }
    }),
    { numRuns: 500 },
  );
});
