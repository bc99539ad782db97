// The intent contract (exec.intents): what upstream agents publish. See DESIGN.md.
import { z } from 'zod';
import { isDecimalString, numberToDecimalString } from './decimal.js';
import { parseRfc3339Micros } from './time.js';

export const MAX_ID_LENGTH = 128;

const decimalInput = z
  .union([z.string(), z.number()])
  .refine((v) => (typeof v === 'number' ? Number.isFinite(v) : isDecimalString(v.trim())), {
    message: 'must be a decimal number, e.g. "10000" or "0.015"',
  })
  .transform((v) => (typeof v === 'number' ? numberToDecimalString(v) : v.trim()));

const rfc3339 = z.string().refine((s) => parseRfc3339Micros(s) !== undefined, {
  message: 'must be an RFC 3339 time in 1970-2199 (UTC), e.g. 2026-01-02T10:00:00Z',
});

const idText = z
  .string()
  .min(1, 'must not be empty')
  .max(MAX_ID_LENGTH, `must be at most ${MAX_ID_LENGTH} characters`)
  .regex(/^[\x21-\x7E]+$/, 'must be printable ASCII without spaces');

const upper = (v: unknown) => (typeof v === 'string' ? v.trim().toUpperCase() : v);

export const Side = z.enum(['BUY', 'SELL']);
export type Side = z.infer<typeof Side>;
export const OrderType = z.enum(['MARKET', 'LIMIT']);
export type OrderType = z.infer<typeof OrderType>;
export const TimeInForce = z.enum(['GTC', 'IOC', 'FOK']);
export type TimeInForce = z.infer<typeof TimeInForce>;
export const Env = z.enum(['sim', 'staging', 'prod']);
export type Env = z.infer<typeof Env>;

export const IntentSize = z.strictObject({
  type: z.preprocess((v) => (typeof v === 'string' ? v.trim().toLowerCase() : v), z.enum(['notional', 'quantity'])),
  value: decimalInput,
  ccy: z.string().min(1).max(16).optional(),
});

export const IntentConstraints = z.strictObject({
  order_type: z.preprocess(upper, OrderType).optional(),
  limit_price: decimalInput.optional(),
  tif: z.preprocess(upper, TimeInForce).optional(),
  max_slippage_bps: z.number().min(0).max(10_000).optional(),
  stop_loss: decimalInput.optional(),
  expire_at: rfc3339.optional(),
  /** The venues a bare symbol may go to, in order of preference (default: every venue listing it). */
  venues: z
    .array(
      z
        .string()
        .min(1)
        .max(32)
        .regex(/^[A-Za-z0-9_-]+$/, 'must be a venue name, e.g. BINANCE'),
    )
    .min(1)
    .max(16)
    .optional(),
});

// Compiled (zod >= 4.5): a valid intent is checked by generated straight-line code, about 4x
// cheaper than walking the schema; anything that code rejects is parsed again by the regular
// parser, so issues are exactly those of the schema as written. `strict` makes a construct that
// cannot be compiled fail here, at load, instead of silently costing the fast path.
export const Intent = z.compile(
  z.strictObject({
    intent_id: idText,
    ts: rfc3339,
    account: idText.max(64).default('default'),
    instrument_id: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9:/_.-]+$/, 'must be VENUE:SYMBOL or a bare symbol'),
    side: z.preprocess(upper, Side),
    size: IntentSize,
    constraints: IntentConstraints.default({}),
    labels: z.record(z.string().min(1).max(64), z.string().max(256)).default({}),
    env: z.preprocess((v) => (typeof v === 'string' ? v.trim().toLowerCase() : v), Env).default('sim'),
  }),
  { strict: true },
);
export type Intent = z.infer<typeof Intent>;
/** What a producer writes (before defaults are applied). */
export type IntentInput = z.input<typeof Intent>;

/**
 * A cancel or amend of an earlier intent's orders: its own message kind on exec.intents, with its
 * own intent_id (sending it twice is a no-op, as for any intent). An amend gives the new total
 * quantity (filled part included) and/or the new limit price; it may not ask for more than the
 * size risk approved for the target: a bigger order is a new intent, checked by risk.
 */
export const OrderChangeIntent = z
  .strictObject({
    kind: z.enum(['cancel', 'amend']),
    intent_id: idText,
    ts: rfc3339,
    account: idText.max(64).default('default'),
    target_intent_id: idText,
    qty: decimalInput.optional(),
    limit_price: decimalInput.optional(),
    labels: z.record(z.string().min(1).max(64), z.string().max(256)).default({}),
  })
  .superRefine((v, ctx) => {
    if (v.kind === 'cancel' && (v.qty !== undefined || v.limit_price !== undefined))
      ctx.addIssue({ code: 'custom', message: 'a cancel carries no qty or limit_price', path: ['kind'] });
    if (v.kind === 'amend' && v.qty === undefined && v.limit_price === undefined) ctx.addIssue({ code: 'custom', message: 'an amend needs qty or limit_price', path: ['kind'] });
  });
export type OrderChangeIntent = z.infer<typeof OrderChangeIntent>;

const chainLevels = z.array(z.tuple([decimalInput, decimalInput])).max(200);

/**
 * A multi-leg chain (kind "chain"): legs on one venue, each funded by the previous leg's fill,
 * from and back to the primary quote. A leg's rules default to its instrument's (lot, minimums,
 * taker fee charged in the quote).
 */
export const ChainIntent = z.strictObject({
  kind: z.literal('chain'),
  intent_id: idText,
  ts: rfc3339,
  account: idText.max(64).default('default'),
  venue: z
    .string()
    .min(1)
    .max(32)
    .regex(/^[A-Za-z0-9_-]+$/, 'must be a venue name, e.g. BINANCE'),
  mode: z.enum(['live', 'paper']).default('live'),
  primary_quote: z.string().min(1).max(16),
  starting_amount: decimalInput,
  predicted_bps: decimalInput.default('0'),
  triangle: z.array(z.string().min(1).max(16)).max(8).optional(),
  legs: z
    .array(
      z.strictObject({
        pair: z.string().min(1).max(32),
        side: z.preprocess(upper, Side),
        fee_rate: decimalInput.optional(),
        fee_currency: z.string().min(1).max(16).optional(),
        base_increment: decimalInput.optional(),
        quote_increment: decimalInput.optional(),
        base_min_size: decimalInput.optional(),
        quote_min_size: decimalInput.optional(),
      }),
    )
    .min(2)
    .max(6),
  books: z
    .array(z.strictObject({ ts: rfc3339.optional(), bids: chainLevels, asks: chainLevels }))
    .min(2)
    .max(6),
  book_ts: rfc3339,
  on_failure: z.enum(['keep', 'unwind']).default('keep'),
  signal_times: z.record(z.string().min(1).max(64), rfc3339).optional(),
  labels: z.record(z.string().min(1).max(64), z.string().max(256)).default({}),
  env: z.preprocess((v) => (typeof v === 'string' ? v.trim().toLowerCase() : v), Env).default('sim'),
});
export type ChainIntent = z.infer<typeof ChainIntent>;
