// Event times as the simulator reads and writes them. Orders arrive in time order, many within
// one second: the second's text ("YYYY-MM-DDTHH:MM:SS.") is formatted and parsed once, and only
// the microseconds are handled per order. Results are exactly microsToIso's and
// parseRfc3339Micros's.
import { microsToIso, parseRfc3339Micros } from '../../domain/time.js';

let formatSecond = Number.NaN;
let formatPrefix = '';

/** microsToIso(us). */
export function isoAt(us: number): string {
  if (!Number.isSafeInteger(us)) return microsToIso(us);
  const sec = Math.floor(us / 1_000_000);
  if (sec !== formatSecond) {
    formatPrefix = microsToIso(sec * 1_000_000).slice(0, -7);
    formatSecond = sec;
  }
  return formatPrefix + String(us - sec * 1_000_000).padStart(6, '0') + 'Z';
}

// The second of the last canonical time parsed ("<prefix>ffffffZ", 27 characters).
let parseSecond = 0;
let parsePrefix: string | undefined;
const CANONICAL_LENGTH = 27;
const PREFIX_LENGTH = 20;

/** parseRfc3339Micros(ts). */
export function microsAt(ts: string): number | undefined {
  if (ts.length === CANONICAL_LENGTH && ts.charCodeAt(CANONICAL_LENGTH - 1) === 90 /* Z */ && parsePrefix !== undefined && ts.startsWith(parsePrefix)) {
    let micros = 0;
    for (let i = PREFIX_LENGTH; i < CANONICAL_LENGTH - 1; i++) {
      const d = ts.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return parseRfc3339Micros(ts);
      micros = micros * 10 + d;
    }
    return parseSecond * 1_000_000 + micros;
  }
  const us = parseRfc3339Micros(ts);
  // A valid time of this shape: any other with the same second's text differs only in its microseconds.
  if (us !== undefined && ts.length === CANONICAL_LENGTH && ts.charCodeAt(CANONICAL_LENGTH - 1) === 90) {
    parsePrefix = ts.slice(0, PREFIX_LENGTH);
    parseSecond = Math.floor(us / 1_000_000);
  }
  return us;
}
