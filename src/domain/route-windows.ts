// The trading windows file's contract (FILLSTREAM_ROUTE_WINDOWS): when each venue takes orders, as
// weekly hours in UTC and dated closures (maintenance). The smart router leaves a venue out of an
// intent whose time falls outside them.
import { z } from 'zod';
import { parseRfc3339Micros } from './time.js';

const clock = z
  .string()
  .regex(/^(([01]\d|2[0-3]):[0-5]\d|24:00)$/, 'a UTC time of day, HH:MM (24:00 is the end of the day)')
  .describe('UTC time of day, HH:MM');
const instant = z
  .string()
  .refine((s) => parseRfc3339Micros(s) !== undefined, 'an RFC 3339 time, e.g. 2026-12-06T02:00:00Z')
  .describe('RFC 3339 time');

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

export const WeeklyHours = z
  .strictObject({ days: z.array(z.enum(WEEKDAYS)).min(1), from: clock, to: clock })
  .refine((w) => w.from < w.to, 'from must be before to (a window across midnight is two windows)')
  .describe('open on these days from `from` (included) to `to` (excluded), UTC');

export const Closure = z
  .strictObject({ from: instant, to: instant, reason: z.string().min(1).max(200).optional() })
  .refine((c) => parseRfc3339Micros(c.from)! < parseRfc3339Micros(c.to)!, 'from must be before to')
  .describe('closed from `from` (included) to `to` (excluded), e.g. a maintenance');

export const VenueHours = z.strictObject({
  open: z.array(WeeklyHours).min(1).optional().describe('when given, the venue takes orders only inside one of these (absent: around the clock)'),
  closed: z.array(Closure).optional(),
});

export const RouteWindowsFile = z.strictObject({
  venues: z.record(z.string(), VenueHours).superRefine((venues, ctx) => {
    for (const name of Object.keys(venues))
      if (!/^[A-Z0-9_]+$/.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: `"${name}" is not a venue name as in instrument ids, e.g. OKX` });
  }),
});
export type RouteWindowsFile = z.infer<typeof RouteWindowsFile>;
