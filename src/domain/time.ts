// Event time handling: RFC 3339 in, epoch microseconds inside, canonical ISO (µs, UTC) out.

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

const MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

// One intent's time is parsed by several stages in a row: remember the last answer.
let lastText = '';
let lastMicros: number | undefined;

/** Epoch microseconds of an RFC 3339 timestamp, or undefined when it is not one. */
export function parseRfc3339Micros(s: string): number | undefined {
  if (s === lastText) return lastMicros;
  const us = parseUncached(s);
  lastText = s;
  lastMicros = us;
  return us;
}

function parseUncached(s: string): number | undefined {
  const m = RFC3339.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, sec, frac = '', zone] = m;
  const ms = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${sec}${zone.toUpperCase() === 'Z' ? 'Z' : zone}`);
  // Years 1970..9999 in UTC: epoch microseconds then stay exact in a double and print back as RFC 3339.
  if (Number.isNaN(ms) || ms < 0 || ms > MAX_MS) return undefined;
  // Date.parse accepts e.g. Feb 30 by rolling over; reject those.
  const back = new Date(ms - (zone.toUpperCase() === 'Z' ? 0 : offsetMinutes(zone) * -60000));
  if (back.getUTCDate() !== Number(d) || back.getUTCMonth() + 1 !== Number(mo)) return undefined;
  const micros = Number((frac + '000000').slice(0, 6));
  return ms * 1000 + micros;
}

function offsetMinutes(zone: string): number {
  const sign = zone[0] === '-' ? -1 : 1;
  return sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
}

/** Canonical event-time string: UTC with exactly six fractional digits. */
export function microsToIso(us: number): string {
  const ms = Math.floor(us / 1000);
  const rest = us - ms * 1000;
  const iso = new Date(ms).toISOString(); // ...T10:00:00.123Z
  return iso.slice(0, -1) + String(rest).padStart(3, '0') + 'Z';
}

export function nowMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

export function isoToMicros(s: string): number {
  const us = parseRfc3339Micros(s);
  if (us === undefined) throw new RangeError(`not an RFC 3339 time: ${s}`);
  return us;
}
