// Venues' trading windows, compiled for the router: whether a venue takes orders at an instant,
// and why not. Pure: the instant is the intent's time, so a replay leaves out the same venues.
import { WEEKDAYS, type RouteWindowsFile } from '../domain/route-windows.js';
import { microsToIso, parseRfc3339Micros } from '../domain/time.js';

interface Hours {
  /** Per weekday (0 = Sunday), open minute ranges [from, to) of the UTC day; undefined: always open. */
  open?: [number, number][][];
  closed: { from_us: number; to_us: number; reason: string }[];
  text: string;
}

/** Venue → its hours; a venue not named is open around the clock. */
export type TradingWindows = ReadonlyMap<string, Hours>;

const minutes = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
const US_PER_MIN = 60_000_000;
const US_PER_DAY = 1440 * US_PER_MIN;

export function compileWindows(file: RouteWindowsFile): TradingWindows {
  const out = new Map<string, Hours>();
  for (const [venue, v] of Object.entries(file.venues)) {
    let open: [number, number][][] | undefined;
    if (v.open) {
      open = WEEKDAYS.map(() => []);
      for (const w of v.open) for (const d of w.days) open[WEEKDAYS.indexOf(d)].push([minutes(w.from), minutes(w.to)]);
    }
    const text = v.open ? v.open.map((w) => `${w.days.join(',')} ${w.from}–${w.to}`).join('; ') + ' UTC' : 'around the clock';
    const closed = (v.closed ?? []).map((c) => ({ from_us: parseRfc3339Micros(c.from)!, to_us: parseRfc3339Micros(c.to)!, reason: c.reason ?? 'closed' }));
    out.set(venue, { ...(open ? { open } : {}), closed, text });
  }
  return out;
}

/** Why `venue` takes no orders at `tsUs` (µs since the epoch), or undefined when it does. */
export function outsideWindow(windows: TradingWindows | undefined, venue: string, tsUs: number): string | undefined {
  const h = windows?.get(venue);
  if (!h) return undefined;
  for (const c of h.closed) if (tsUs >= c.from_us && tsUs < c.to_us) return `${venue} is closed (${c.reason}) from ${microsToIso(c.from_us)} to ${microsToIso(c.to_us)}`;
  if (!h.open) return undefined;
  const dayUs = ((tsUs % US_PER_DAY) + US_PER_DAY) % US_PER_DAY;
  const minute = Math.floor(dayUs / US_PER_MIN);
  // 1970-01-01 was a Thursday.
  const weekday = (Math.floor((tsUs - dayUs) / US_PER_DAY) + 4) % 7;
  for (const [from, to] of h.open[(weekday + 7) % 7]) if (minute >= from && minute < to) return undefined;
  return `${venue} trades ${h.text}: ${microsToIso(tsUs)} is outside`;
}
