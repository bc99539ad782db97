// Venues' trading windows (src/router/windows.ts, FILLSTREAM_ROUTE_WINDOWS): weekly hours in UTC
// and dated closures, checked at the intent's time; the file's errors named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { RouteWindowsFile, WEEKDAYS } from '../../src/domain/route-windows.js';
import { parseRfc3339Micros } from '../../src/domain/time.js';
import { compileWindows, outsideWindow } from '../../src/router/windows.js';
import { readRouteWindows, routingFromEnv } from '../../src/cli/options.js';
import { tempDir } from '../helpers/cli.js';

const us = (iso: string) => parseRfc3339Micros(iso)!;
const windows = compileWindows(
  RouteWindowsFile.parse({
    venues: {
      OKX: { closed: [{ from: '2026-01-02T02:00:00Z', to: '2026-01-02T04:00:00Z', reason: 'scheduled maintenance' }] },
      DESK: {
        open: [
          { days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '08:00', to: '17:00' },
          { days: ['sat'], from: '10:00', to: '24:00' },
        ],
      },
    },
  }),
);

test('weekly hours in UTC: from included, to excluded, other days closed; 24:00 ends the day', () => {
  // 2026-01-02 is a Friday, 2026-01-03 a Saturday, 2026-01-04 a Sunday.
  assert.equal(outsideWindow(windows, 'DESK', us('2026-01-02T08:00:00Z')), undefined);
  assert.equal(outsideWindow(windows, 'DESK', us('2026-01-02T16:59:59.999999Z')), undefined);
  assert.equal(
    outsideWindow(windows, 'DESK', us('2026-01-02T07:59:59Z')),
    'DESK trades mon,tue,wed,thu,fri 08:00–17:00; sat 10:00–24:00 UTC: 2026-01-02T07:59:59.000000Z is outside',
  );
  assert.match(outsideWindow(windows, 'DESK', us('2026-01-02T17:00:00Z')) ?? '', /is outside$/);
  assert.equal(outsideWindow(windows, 'DESK', us('2026-01-03T23:59:59Z')), undefined);
  assert.match(outsideWindow(windows, 'DESK', us('2026-01-04T12:00:00Z')) ?? '', /2026-01-04T12:00:00.000000Z is outside/);
});

test('a dated closure leaves its venue out for that span only, with its reason; venues not named are always open', () => {
  assert.equal(outsideWindow(windows, 'OKX', us('2026-01-02T02:00:00Z')), 'OKX is closed (scheduled maintenance) from 2026-01-02T02:00:00.000000Z to 2026-01-02T04:00:00.000000Z');
  assert.equal(outsideWindow(windows, 'OKX', us('2026-01-02T04:00:00Z')), undefined);
  assert.equal(outsideWindow(windows, 'OKX', us('2026-01-02T01:59:59Z')), undefined);
  assert.equal(outsideWindow(windows, 'BINANCE', us('2026-01-02T03:00:00Z')), undefined);
  assert.equal(outsideWindow(undefined, 'OKX', us('2026-01-02T03:00:00Z')), undefined);
});

test('property: the weekday and minute the check uses agree with the calendar', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 1439 }), fc.integer({ min: 0, max: 10_000_000_000_000 }), (day, minute, ms) => {
      const to = minute + 1 === 1440 ? '24:00' : `${String(Math.floor((minute + 1) / 60)).padStart(2, '0')}:${String((minute + 1) % 60).padStart(2, '0')}`;
      const from = `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
      const w = compileWindows({ venues: { V: { open: [{ days: [WEEKDAYS[day]], from, to }] } } });
      const d = new Date(ms);
      const inside = d.getUTCDay() === day && d.getUTCHours() * 60 + d.getUTCMinutes() === minute;
      assert.equal(outsideWindow(w, 'V', ms * 1000 + 123) === undefined, inside, d.toISOString());
    }),
    { numRuns: 2000 },
  );
});

test('the windows file: read from FILLSTREAM_ROUTE_WINDOWS, and a bad one refused with what is wrong', () => {
  const dir = tempDir('route-windows');
  const good = join(dir, 'good.json');
  writeFileSync(good, JSON.stringify({ venues: { OKX: { open: [{ days: ['mon'], from: '00:00', to: '24:00' }] } } }));
  const s = routingFromEnv({ FILLSTREAM_ROUTE_WINDOWS: good });
  assert.match(outsideWindow(s.windows, 'OKX', us('2026-01-02T12:00:00Z')) ?? '', /OKX trades mon 00:00–24:00 UTC/);
  assert.equal(routingFromEnv({}).windows, undefined, 'no file: every venue around the clock');
  const bad = (name: string, body: string, why: RegExp) => {
    const f = join(dir, name);
    writeFileSync(f, body);
    assert.throws(() => readRouteWindows(f), why);
  };
  bad('notjson.json', '{', /FILLSTREAM_ROUTE_WINDOWS \(.*notjson\.json\): /);
  bad('clock.json', JSON.stringify({ venues: { OKX: { open: [{ days: ['mon'], from: '8:00', to: '17:00' }] } } }), /venues\.OKX\.open\.0\.from: a UTC time of day, HH:MM/);
  bad(
    'order.json',
    JSON.stringify({ venues: { OKX: { open: [{ days: ['mon'], from: '17:00', to: '08:00' }] } } }),
    /from must be before to \(a window across midnight is two windows\)/,
  );
  bad('day.json', JSON.stringify({ venues: { OKX: { open: [{ days: ['monday'], from: '08:00', to: '17:00' }] } } }), /venues\.OKX\.open\.0\.days\.0/);
  bad('closure.json', JSON.stringify({ venues: { OKX: { closed: [{ from: '2026-01-02T04:00:00Z', to: '2026-01-02T02:00:00Z' }] } } }), /from must be before to/);
  bad('venue.json', JSON.stringify({ venues: { okx: {} } }), /a venue name as in instrument ids/);
  assert.throws(() => readRouteWindows(join(dir, 'missing.json')), /FILLSTREAM_ROUTE_WINDOWS \(.*missing\.json\): ENOENT/);
});
