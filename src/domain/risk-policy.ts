// The risk policy: data an operator or compliance puts in force (RiskPolicySet), read by the risk
// decider. Every rule names the scope it applies to (account, strategy, instrument, venue: absent
// means all) and may be warn_only (a RiskWarned event, the intent goes on). Size rules may revise:
// the order is cut to what every size limit allows instead of being rejected.
import { z } from 'zod';

const decimal = z.string().regex(/^\d+(\.\d+)?$/, 'a non-negative decimal string');
const positiveInt = z.number().int().positive();

/** Who a rule applies to; an absent field matches everything. Instruments: VENUE:SYMBOL or BASE/QUOTE. */
const scope = {
  account: z.string().min(1).optional(),
  strategy: z.string().min(1).optional(),
  instrument: z.string().min(1).optional(),
  venue: z.string().min(1).optional(),
};

const common = {
  ...scope,
  warn_only: z.boolean().optional().describe('breaches are warnings (RiskWarned); the intent goes on'),
};

/** Size rules can cut the order down to what they allow (revise) instead of rejecting it. */
const sizing = { ...common, revise: z.boolean().optional().describe('reduce the size to what the limit allows (above the venue minimum) instead of rejecting') };

export const DAYS = ['MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN'] as const;
const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM, 24-hour');

export const RiskRule = z.discriminatedUnion('rule', [
  z.strictObject({ rule: z.literal('max_order_notional'), limit_usd: decimal, ...sizing }),
  z.strictObject({ rule: z.literal('max_order_qty'), limit: decimal.describe('base quantity'), ...sizing }),
  z.strictObject({ rule: z.literal('price_band'), max_bps: z.number().positive().max(100_000).describe("a limit price's distance from the mid at the intent's time"), ...common }),
  z.strictObject({
    rule: z.literal('fat_finger'),
    max_share_of_depth: decimal.describe('the order may take at most this share of the visible depth on the side it trades against'),
    levels: positiveInt.max(1000).optional().describe('book levels counted as visible depth (default 10)'),
    ...sizing,
  }),
  z.strictObject({ rule: z.literal('order_size'), min_usd: decimal.optional(), max_usd: decimal.optional(), ...sizing }),
  z.strictObject({ rule: z.literal('position_limit'), limit: decimal.describe('largest absolute resulting position, base quantity'), ...sizing }),
  z.strictObject({
    rule: z.literal('gross_exposure'),
    limit_usd: decimal,
    book: z.boolean().optional().describe('the whole book (every account) rather than each account'),
    ...sizing,
  }),
  z.strictObject({ rule: z.literal('net_exposure'), limit_usd: decimal, book: z.boolean().optional(), ...sizing }),
  z.strictObject({ rule: z.literal('leverage'), max: decimal.describe("gross exposure over the account's equity"), ...sizing }),
  z.strictObject({ rule: z.literal('max_open_orders'), limit: z.number().int().min(0), ...common }),
  z.strictObject({ rule: z.literal('daily_notional'), limit_usd: decimal.describe('approved notional per UTC day of the intent time'), ...sizing }),
  z.strictObject({
    rule: z.literal('daily_loss'),
    limit_usd: decimal.describe('largest loss since the start of the UTC day, realized + unrealized'),
    then: z.enum(['REDUCING', 'HALTED']).default('HALTED'),
    ...common,
  }),
  z.strictObject({
    rule: z.literal('drawdown'),
    limit_usd: decimal.describe('largest fall of realized + unrealized PnL from its peak'),
    then: z.enum(['REDUCING', 'HALTED']).default('HALTED'),
    ...common,
  }),
  z.strictObject({
    rule: z.literal('velocity'),
    per: z.enum(['strategy', 'account', 'venue']),
    max_per_second: positiveInt.optional(),
    max_per_minute: positiveInt.optional(),
    ...common,
  }),
  z.strictObject({ rule: z.literal('stop_loss_required'), strategies: z.array(z.string().min(1)).min(1), ...common }),
  z.strictObject({ rule: z.literal('strategy_allow'), strategies: z.array(z.string().min(1)), ...common }),
  z.strictObject({ rule: z.literal('restricted_instruments'), instruments: z.array(z.string().min(1)).describe('VENUE:SYMBOL, BASE/QUOTE or an asset'), ...common }),
  z.strictObject({
    rule: z.literal('trading_window'),
    venue: z.string().min(1),
    time_zone: z.string().min(1).describe('IANA time zone, e.g. America/New_York'),
    days: z.array(z.enum(DAYS)).min(1),
    open: clock,
    close: clock.describe('exclusive; before open means the window runs past midnight'),
    account: scope.account,
    strategy: scope.strategy,
    instrument: scope.instrument,
    warn_only: common.warn_only,
  }),
  z.strictObject({ rule: z.literal('duplicate_guard'), window_ms: positiveInt.max(86_400_000), ...common }),
]);
export type RiskRule = z.infer<typeof RiskRule>;
export type RiskRuleName = RiskRule['rule'];

export const RiskPolicy = z.strictObject({
  name: z.string().max(200).optional(),
  max_order_notional_usd: decimal.optional().describe('reject orders above this notional (kept from the first policy format; same as a max_order_notional rule)'),
  allowed_instruments: z.array(z.string()).optional().describe('if set, only these instruments (VENUE:SYMBOL or base/quote) trade'),
  halted: z.boolean().default(false).describe('halt latch: reject every new intent while this policy is in force'),
  rules: z.array(RiskRule).optional(),
  equity_usd: z.record(z.string(), decimal).optional().describe("each account's capital, USD, for the leverage rule (PnL is added)"),
  simulate_only: z
    .strictObject({ strategies: z.array(z.string()).optional(), accounts: z.array(z.string()).optional() })
    .optional()
    .describe("these strategies' and accounts' intents are approved for the simulator only (env becomes sim)"),
});
export type RiskPolicy = z.infer<typeof RiskPolicy>;
