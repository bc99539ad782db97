// Event time handling: RFC 3339 in, epoch microseconds inside, canonical ISO (µs, UTC) out.

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

// Years 1970..2199 in UTC: epoch microseconds stay below 2^53, so they are exact in a double and
// print back as the same RFC 3339 text (beyond ~2255 they would silently round).
const MAX_MS = Date.UTC(2199, 11, 31, 23, 59, 59, 999);

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
  return parseUtcZ(s) ?? parseGeneral(s);
}

const digit2 = (s: string, i: number): number => {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
};

/** Days from 1970-01-01 to a proleptic Gregorian date (the days_from_civil algorithm). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  return era * 146097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719468;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Digit arithmetic for the form every stage writes and most producers send,
 * YYYY-MM-DDTHH:MM:SS[.fraction]Z (about 10x cheaper than the regex and Date.parse).
 * undefined means "not that form": the general parser decides.
 */
function parseUtcZ(s: string): number | undefined {
  const n = s.length;
  if (n < 20 || n > 30 || s.charCodeAt(n - 1) !== 90 /* Z */) return undefined;
  if (s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 84 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return undefined;
  const c = digit2(s, 0);
  const yl = digit2(s, 2);
  const mo = digit2(s, 5);
  const d = digit2(s, 8);
  const h = digit2(s, 11);
  const mi = digit2(s, 14);
  const sec = digit2(s, 17);
  if (c < 0 || yl < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59) return undefined;
  const y = c * 100 + yl;
  if (y < 1970 || y > 2199) return undefined;
  const leap = mo === 2 && y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  if (d > MONTH_DAYS[mo - 1] + (leap ? 1 : 0)) return undefined;
  let micros = 0;
  if (n > 20) {
    if (s.charCodeAt(19) !== 46 /* . */ || n === 21) return undefined;
    for (let i = 20; i < n - 1; i++) {
      const x = s.charCodeAt(i) - 48;
      if (x < 0 || x > 9) return undefined;
      if (i < 26) micros = micros * 10 + x; // digits past microseconds are cut, as below
    }
    for (let i = Math.min(n - 1, 26); i < 26; i++) micros *= 10;
  }
  return (daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) * 1000 * 1000 + micros;
}

function parseGeneral(s: string): number | undefined {
  const m = RFC3339.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, sec, frac = '', zone] = m;
  const ms = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${sec}${zone.toUpperCase() === 'Z' ? 'Z' : zone}`);
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

// Times arrive in runs within one second: its text ("YYYY-MM-DDTHH:MM:SS.") is formatted once.
let isoSecond = Number.NaN;
let isoPrefix = '';

/** Canonical event-time string: UTC with exactly six fractional digits. */
export function microsToIso(us: number): string {
  if (!Number.isSafeInteger(us)) return isoViaDate(us);
  const sec = Math.floor(us / 1_000_000);
  if (sec !== isoSecond) {
    isoPrefix = new Date(sec * 1000).toISOString().slice(0, 20);
    isoSecond = sec;
  }
  return isoPrefix + String(us - sec * 1_000_000).padStart(6, '0') + 'Z';
}

function isoViaDate(us: number): string {
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
