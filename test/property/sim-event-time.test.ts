// Property: the simulator's cached event-time formatting and parsing equal domain/time's, whatever
// sequence of times they see (the caches carry state from one call to the next).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { microsToIso, parseRfc3339Micros } from '../../src/domain/time.js';
import { isoAt, microsAt } from '../../src/venues/sim/event-time.js';

const T0 = Date.parse('2026-01-02T10:00:00Z') * 1000;

// Times in runs: many in one second (the cached case), jumps, the distant past and future.
const arbMicros = fc.oneof(
  fc.integer({ min: T0, max: T0 + 3_000_000 }),
  fc.integer({ min: -(2 ** 50), max: 2 ** 52 }),
  fc.constantFrom(0, -1, 999_999, 1_000_000, 253_402_300_799_999_999, 1.5),
);

test('isoAt(us) is microsToIso(us)', () => {
  fc.assert(
    fc.property(fc.array(arbMicros, { minLength: 1, maxLength: 30 }), (times) => {
      for (const us of times) assert.equal(isoAt(us), microsToIso(us), String(us));
    }),
    { numRuns: 500 },
  );
});

// Texts as orders carry them: canonical, other RFC 3339 spellings of the same second, and near misses.
const arbText = fc.tuple(arbMicros, fc.integer({ min: 0, max: 9 }), fc.string({ minLength: 1, maxLength: 2 })).map(([us, variant, junk]) => {
  if (!Number.isSafeInteger(us) || Math.abs(us) > 8.64e18) return String(us);
  const iso = microsToIso(us); // ...T10:00:00.123456Z
  switch (variant) {
    case 0:
    case 1:
    case 2:
      return iso;
    case 3:
      return iso.slice(0, -1) + 'z';
    case 4:
      return iso.replace('T', ' ');
    case 5:
      return iso.slice(0, -7) + junk.padEnd(6, '0').slice(0, 6) + 'Z'; // same second, micros not (all) digits
    case 6:
      return iso.slice(0, -1) + '+00:00';
    case 7:
      return iso.slice(0, 19) + 'Z';
    case 8:
      return iso.slice(0, -1) + junk;
    default:
      return iso.slice(0, 8) + '30' + iso.slice(10); // day 30: sometimes not a date
  }
});

test('microsAt(text) is parseRfc3339Micros(text)', () => {
  fc.assert(
    fc.property(fc.array(arbText, { minLength: 1, maxLength: 30 }), (texts) => {
      for (const s of texts) assert.equal(microsAt(s), parseRfc3339Micros(s), s);
    }),
    { numRuns: 1_000 },
  );
});
