// Every event fillstream writes, with one envelope. Decimals are canonical strings.
import { z } from 'zod';
import { RiskPolicy } from './risk-policy.js';
import { Env, OrderType, Side, TimeInForce } from './intent.js';

export const TOPICS = {
  intents: 'exec.intents', // agents -> normalizer: raw intents (any bytes)
  risk: 'exec.risk', // normalizer -> risk: accepted intents; operators -> risk: policies
  router: 'exec.router', // risk -> router: verdicts (approved / rejected)
  gateway: 'exec.gateway', // router -> gateway: routed orders; gateway -> all: order lifecycle and fills
  audit: 'exec.audit', // record-only events no stage acts on: duplicates, anomalies
  dlq: 'exec.dlq', // dead letters: bad input with the raw bytes and a reason
} as const;
export type TopicName = (typeof TOPICS)[keyof typeof TOPICS];
export const ALL_TOPICS: TopicName[] = Object.values(TOPICS);
/**
 * Operator commands and the positions of external sources (an intake file's byte offset) on Kafka,
 * where a consumer group can only commit offsets of real topics. Compacted; not part of the fold.
 */
export const CONTROL_TOPIC = 'exec.control';

const dec = z.string().regex(/^-?\d+(\.\d+)?$/, 'canonical decimal string');
const time = z.string().describe('event time, RFC 3339 UTC with microseconds');

// UNKNOWN: sent, and the venue's answer never came (timeout, 5xx, connection lost); the gateway
// queries the venue by client order id until it knows, and never sends the order blindly again.
export const OrderStatus = z.enum(['NEW', 'SUBMITTED', 'UNKNOWN', 'ACKED', 'PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'REJECTED', 'EXPIRED']);
export type OrderStatus = z.infer<typeof OrderStatus>;
export const TERMINAL_STATUSES: ReadonlySet<OrderStatus> = new Set(['FILLED', 'CANCELED', 'REJECTED', 'EXPIRED']);

/** An intent after validation and normalization: the quantity is known, the instrument resolved. */
export const NormalizedIntent = z.object({
  intent_id: z.string(),
  ts: time,
  account: z.string(),
  strategy: z.string(),
  labels: z.record(z.string(), z.string()),
  env: Env,
  instrument_id: z.string().describe('as requested: VENUE:SYMBOL or a bare symbol'),
  venues: z.array(z.string()).min(1).describe('candidate venue instruments, preferred first'),
  sized_on: z.string().describe('the venue instrument whose book gave qty and ref_price'),
  base: z.string(),
  quote: z.string(),
  side: Side,
  size: z.object({ type: z.enum(['notional', 'quantity']), value: dec, ccy: z.string() }),
  qty: dec.describe('base-asset quantity'),
  order_type: OrderType,
  limit_price: dec.optional(),
  tif: TimeInForce,
  max_slippage_bps: z.number().optional(),
  stop_loss: dec.optional(),
  expire_at: time.optional(),
  ref_price: dec.describe('arrival mid price at ts, in quote currency'),
  notional: dec.describe('qty x reference price, in quote currency'),
  notional_usd: dec.describe('notional converted to USD'),
});
export type NormalizedIntent = z.infer<typeof NormalizedIntent>;

/** A concrete order for one venue, derived from an intent. */
export const Order = z.object({
  client_order_id: z.string().describe('deterministic: derived from intent_id, leg and attempt'),
  intent_id: z.string(),
  leg: z.number().int(),
  attempt: z.number().int(),
  account: z.string(),
  strategy: z.string(),
  env: Env,
  instrument_id: z.string().describe('VENUE:SYMBOL'),
  venue: z.string(),
  symbol: z.string(),
  side: Side,
  order_type: OrderType,
  qty: dec,
  limit_price: dec.optional(),
  tif: TimeInForce,
  expire_at: time.optional(),
  stop_loss: dec.optional(),
  ref_price: dec,
});
export type Order = z.infer<typeof Order>;

/** What every trade report carries, from the venue's report to the recorded fill. */
const tradeFields = {
  venue_order_id: z.string(),
  trade_id: z.string(),
  qty: dec,
  price: dec,
  fee: dec,
  fee_ccy: z.string(),
  liquidity: z.enum(['MAKER', 'TAKER']),
  ts: time,
};

/** One trade on a venue. Deduplicated by fingerprint, not by trade id alone. */
export const Fill = z.object({ fingerprint: z.string(), venue: z.string(), ...tradeFields });
export type Fill = z.infer<typeof Fill>;

/** What a venue tells the gateway about an order (FIX ExecutionReport in spirit). */
export const VenueReport = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('ACK'), venue_order_id: z.string(), ts: time }),
  z.object({ kind: z.literal('TRADE'), ...tradeFields }),
  z.object({ kind: z.literal('CANCELED'), reason: z.string(), ts: time }),
  z.object({ kind: z.literal('EXPIRED'), reason: z.string(), ts: time }),
  z.object({ kind: z.literal('REJECTED'), code: z.string(), reason: z.string(), ts: time }),
  // The venue took an amend: the order's new total quantity (filled part included) and limit price;
  // venues that amend by cancel/replace give the order a new venue order id.
  z.object({ kind: z.literal('AMENDED'), venue_order_id: z.string(), qty: dec, limit_price: dec.optional(), ts: time }),
]);
export type VenueReport = z.infer<typeof VenueReport>;

// Reason codes are closed sets: a consumer of exec.dlq, or an analyst grouping rejects, can rely
// on them. Each code's meaning is in the README ("Reason codes").

/** Why the normalizer dead-lettered an input. */
export const DEAD_LETTER_CODES = [
  'OVERSIZED',
  'UNKNOWN_SCHEMA_ID',
  'MALFORMED_JSON',
  'SCHEMA',
  'INVALID_CONSTRAINTS',
  'NON_POSITIVE',
  'ABSURD_SIZE',
  'UNKNOWN_INSTRUMENT',
  'INVALID_SIZE',
  'NO_MARKET_DATA',
  'SIZE_BELOW_LOT',
  'INVALID_CHAIN',
  'INTERNAL',
] as const;
export const DeadLetterCode = z.enum(DEAD_LETTER_CODES);
export type DeadLetterCode = z.infer<typeof DeadLetterCode>;

/** Why risk rejected an intent. */
export const RISK_REJECT_CODES = [
  'HALTED',
  'REDUCE_ONLY',
  'INSTRUMENT_NOT_ALLOWED',
  'MAX_ORDER_NOTIONAL',
  'MAX_ORDER_QTY',
  'PRICE_BAND',
  'FAT_FINGER',
  'ORDER_SIZE_MIN',
  'ORDER_SIZE_MAX',
  'POSITION_LIMIT',
  'GROSS_EXPOSURE',
  'NET_EXPOSURE',
  'LEVERAGE',
  'MAX_OPEN_ORDERS',
  'DAILY_NOTIONAL',
  'DAILY_LOSS',
  'DRAWDOWN',
  'VELOCITY',
  'STOP_LOSS_REQUIRED',
  'STRATEGY_NOT_ALLOWED',
  'RESTRICTED_INSTRUMENT',
  'OUTSIDE_TRADING_WINDOW',
  'DUPLICATE_ORDER',
  'NO_MARKET_DATA',
  'COMPLIANCE',
] as const;
export const RiskRejectCode = z.enum(RISK_REJECT_CODES);
export type RiskRejectCode = z.infer<typeof RiskRejectCode>;

/** What was wrong with a venue report (or a submission) that the OMS recorded instead of applying. */
export const ANOMALY_KINDS = ['ILLEGAL_TRANSITION', 'VENUE_ORDER_ID_MISMATCH', 'OVER_FILL', 'MALFORMED_REPORT'] as const;
export const AnomalyKind = z.enum(ANOMALY_KINDS);
export type AnomalyKind = z.infer<typeof AnomalyKind>;

export { RiskPolicy } from './risk-policy.js';

export const LogPosition = z.object({ topic: z.string(), partition: z.number().int(), offset: z.number().int() });
export type LogPosition = z.infer<typeof LogPosition>;

const envelope = {
  event_id: z.string().describe('deterministic id; the same input always yields the same id'),
  intent_id: z.string(),
  account: z.string(),
  strategy: z.string(),
  ts: time,
  causation: z.string().describe('event id or log position (topic/partition/offset) this event follows from'),
  recorded_at: z.string().describe('wall-clock time the event was written (not part of business state)'),
};

const ev = <T extends string, D extends z.ZodTypeAny>(type: T, data: D) => z.object({ ...envelope, type: z.literal(type), data });

export const IntentAccepted = ev('IntentAccepted', z.object({ intent: NormalizedIntent }));
export const IntentDuplicate = ev('IntentDuplicate', z.object({ source: LogPosition }));
export const RiskPolicySet = ev(
  'RiskPolicySet',
  z.object({
    version: z.number().int(),
    policy: RiskPolicy,
    rule_set_hash: z.string().optional().describe('sha256 of the canonical policy: what every decision under it names'),
    operator: z.string().optional(),
    reason: z.string().optional(),
  }),
);

/** Compliance's Rego policies compiled to WebAssembly, put in force by an operator: the bundle travels in the log, so a replay evaluates what was in force. */
export const CompliancePolicySet = ev(
  'CompliancePolicySet',
  z.object({
    version: z.number().int(),
    hash: z.string().describe('sha256 over the wasm and the data (src/risk/rego.ts)'),
    wasm_base64: z.string().describe('the policy compiled by opa build -t wasm'),
    data: z.record(z.string(), z.unknown()).describe('the bundle data (data.json)'),
    files: z.array(z.string()).describe('the .rego files it was compiled from'),
    operator: z.string(),
    reason: z.string(),
  }),
);

/** A trading state's scope: the whole book, one account, or one strategy. */
export const RiskScope = z.string().regex(/^(global|account:.+|strategy:.+)$/, 'global, account:NAME or strategy:NAME');
export const TradingMode = z.enum(['ACTIVE', 'REDUCING', 'HALTED']);
export type TradingMode = z.infer<typeof TradingMode>;

/** What a risk decision was made under, so an audit or a replay knows exactly. */
const decidedUnder = {
  policy_version: z.number().int(),
  rule_set_hash: z.string().optional(),
  rego_hash: z.string().optional().describe('the Rego bundle in force, if any'),
  /** Realized + unrealized PnL (USD) of each scope the decision looked at: the loss limits fold these. */
  pnl_usd: z.record(z.string(), dec).optional(),
};

export const RiskApproved = ev(
  'RiskApproved',
  z.object({
    intent: NormalizedIntent,
    ...decidedUnder,
    revised: z
      .object({ from_qty: dec, to_qty: dec, codes: z.array(z.string()) })
      .optional()
      .describe('cut down to what the limits allow'),
    simulated: z.string().optional().describe('why the intent was approved for the simulator only (its env became sim)'),
    flatten_id: z.string().optional().describe('a closing order of this flatten'),
  }),
);
export const RiskRejected = ev(
  'RiskRejected',
  z.object({
    code: RiskRejectCode,
    reason: z.string(),
    ...decidedUnder,
    rule: z.string().optional().describe('the Rego rule code, for COMPLIANCE'),
    flatten_id: z.string().optional(),
  }),
);
/** A warn_only rule was breached; the intent went on. */
export const RiskWarned = ev('RiskWarned', z.object({ code: z.string(), reason: z.string(), policy_version: z.number().int() }));

/** An operator's command to risk (CLI or API), with who and why. A policy change is a RiskPolicySet the operator writes, not a command. */
export const OperatorCommand = ev(
  'OperatorCommand',
  z.object({
    command_id: z.string(),
    command: z.enum(['halt', 'resume', 'reduce', 'flatten', 'break_glass_flatten']),
    scope: RiskScope,
    operator: z.string(),
    reason: z.string(),
  }),
);
/** A scope's trading state moved: by an operator or by a loss limit. */
export const TradingStateChanged = ev(
  'TradingStateChanged',
  z.object({ scope: RiskScope, from: TradingMode, to: TradingMode, reason: z.string(), by: z.string().describe('operator name, or the rule code that moved it') }),
);
/** A flatten began: one closing intent per position of the scope (each decided like any intent). */
export const FlattenStarted = ev(
  'FlattenStarted',
  z.object({
    flatten_id: z.string(),
    scope: RiskScope,
    break_glass: z.boolean(),
    operator: z.string(),
    reason: z.string(),
    closing: z.array(z.object({ intent_id: z.string(), account: z.string(), instrument_id: z.string(), side: Side, qty: dec })),
  }),
);
/** Every closing intent of a flatten ended: what was closed and what was not, and why. */
export const FlattenCompleted = ev(
  'FlattenCompleted',
  z.object({
    flatten_id: z.string(),
    closed: z.array(z.object({ intent_id: z.string(), instrument_id: z.string(), qty: dec })),
    failed: z.array(z.object({ intent_id: z.string(), instrument_id: z.string(), reason: z.string() })),
  }),
);
export const OrderRouted = ev('OrderRouted', z.object({ order: Order }));
/** One candidate venue of a routing decision: what the order would cost there, or why it was left out. */
export const RouteCandidate = z.object({
  instrument_id: z.string(),
  excluded: z.string().optional().describe('why the venue took no part (halted, quarantined, short of balance, no book)'),
  filled_qty: dec.optional().describe('what walking its book fills of the whole order, within the limit and the balance'),
  notional: dec.optional().describe('Σ qty × price of that walk (its average price is notional / filled_qty)'),
  fee: dec.optional().describe('taker fee on the walked notional'),
  latency_ms: dec.optional().describe("the venue's measured placement round trip"),
  penalty: dec.optional().describe('latency penalty on the walked notional'),
  cost: dec.optional().describe('BUY: notional + fee + penalty; SELL: notional - fee - penalty'),
  qty: dec.describe('what the route gives this venue'),
});
/** Why an intent went where it went: every candidate venue and its cost, whole or split. */
export const RouteDecided = ev(
  'RouteDecided',
  z.object({
    side: Side,
    qty: dec,
    split: z.boolean(),
    latency_bps_per_ms: dec,
    candidates: z.array(RouteCandidate),
    cost: dec.optional().describe('the chosen route priced like a candidate'),
    cost_bps: dec.optional().describe('the chosen route per unit against the intent reference price, bps (positive: worse)'),
    unrouted_qty: dec.describe('what no venue could take (below every lot, every cap reached)'),
    reason: z.string(),
  }),
);
export const OrderSubmitted = ev(
  'OrderSubmitted',
  z.object({
    client_order_id: z.string(),
    venue: z.string(),
    env: Env.optional().describe('where the order went: sim orders go to the simulator whatever their venue'),
    recovered: z.boolean(),
    latency_ms: z.number().optional().describe("the placement's round trip as the gateway measured it (ms, to the µs): the router's latency penalty reads it"),
  }),
);
export const OrderAcked = ev('OrderAcked', z.object({ client_order_id: z.string(), venue_order_id: z.string() }));
export const OrderFilled = ev('OrderFilled', z.object({ client_order_id: z.string(), fill: Fill, cum_qty: dec, avg_price: dec, status: z.enum(['PARTIALLY_FILLED', 'FILLED']) }));
export const OrderCanceled = ev('OrderCanceled', z.object({ client_order_id: z.string(), reason: z.string() }));
export const OrderRejected = ev(
  'OrderRejected',
  z.object({
    client_order_id: z.string(),
    code: z.string().describe("the venue's own reject code (open: venues add theirs), or NO_GATEWAY when no venue took the order"),
    reason: z.string(),
  }),
);
export const OrderExpired = ev('OrderExpired', z.object({ client_order_id: z.string(), reason: z.string() }));
export const OrderAnomaly = ev(
  'OrderAnomaly',
  z.object({
    client_order_id: z.string(),
    status: OrderStatus,
    kind: AnomalyKind,
    report: z.string().describe('the report kind (ACK, TRADE, CANCELED, EXPIRED, REJECTED, or as the venue sent it) or SUBMIT'),
    reason: z.string(),
  }),
);
export const FillDuplicate = ev('FillDuplicate', z.object({ client_order_id: z.string(), fingerprint: z.string() }));
export const OrderUnknown = ev(
  'OrderUnknown',
  z.object({ client_order_id: z.string(), venue: z.string(), reason: z.string().describe('why no answer came: timeout, HTTP 5xx, connection lost') }),
);
export const OrderAmended = ev(
  'OrderAmended',
  z.object({
    client_order_id: z.string(),
    venue_order_id: z.string().describe('the venue order id after the amend (venues that cancel/replace give a new one)'),
    qty: dec.describe('new total quantity, filled part included'),
    limit_price: dec.optional(),
  }),
);

/** What a cancel or amend intent asks of an earlier intent's orders. */
export const OrderChangeRequest = z.object({
  kind: z.enum(['cancel', 'amend']),
  /** The intent whose live orders are canceled or amended. */
  target_intent_id: z.string(),
  qty: dec.optional().describe('amend: new total base quantity, filled part included'),
  limit_price: dec.optional().describe('amend: new limit price'),
  labels: z.record(z.string(), z.string()),
});
export type OrderChangeRequest = z.infer<typeof OrderChangeRequest>;
/** A cancel or amend intent, validated (normalizer → risk). */
export const OrderChangeRequested = ev('OrderChangeRequested', z.object({ request: OrderChangeRequest }));
/** Risk let it through (risk → router). */
export const OrderChangeApproved = ev('OrderChangeApproved', z.object({ request: OrderChangeRequest, policy_version: z.number().int() }));
/** On its way to the target's orders (router → gateway): the gateway acts on the target's live orders. */
export const OrderChangeRouted = ev('OrderChangeRouted', z.object({ request: OrderChangeRequest }));
/** The venue refused a cancel or amend (the order had filled, or closed): the order itself is unchanged. */
export const OrderChangeRejected = ev(
  'OrderChangeRejected',
  z.object({ client_order_id: z.string().optional(), kind: z.enum(['cancel', 'amend']), code: z.string(), reason: z.string() }),
);

/** One leg of a chain as the chain decider runs it: its instrument on the chain's venue and its rules. */
export const ChainLeg = z.object({
  instrument_id: z.string().describe('VENUE:SYMBOL'),
  pair: z.string().describe('as the signal named it'),
  side: Side,
  base: z.string(),
  quote: z.string(),
  fee_rate: dec,
  fee_currency: z.string(),
  base_increment: dec,
  quote_increment: dec,
  base_min_size: dec,
  quote_min_size: dec,
});
export type ChainLeg = z.infer<typeof ChainLeg>;

const bookLevels = z.array(z.tuple([dec, dec])).describe('[price, qty], best first');
/** The book a leg was priced on when the signal was made. */
export const ChainBook = z.object({ ts: time, bids: bookLevels, asks: bookLevels });

/** A multi-leg chain after validation: every leg funded by the previous leg's fill, on one venue. */
export const NormalizedChain = z.object({
  chain_id: z.string(),
  ts: time.describe('when the signal was made'),
  account: z.string(),
  strategy: z.string(),
  labels: z.record(z.string(), z.string()),
  env: Env,
  venue: z.string(),
  mode: z.enum(['live', 'paper']).describe("live: orders through the gateway (the simulator for env sim); paper: fills from the legs' own books"),
  primary_quote: z.string(),
  starting_amount: dec.describe('what the first leg is given, in the primary quote'),
  predicted_bps: dec,
  triangle: z.array(z.string()).describe('the currencies in the order the chain goes through them'),
  legs: z.array(ChainLeg),
  books: z.array(ChainBook),
  book_ts: time.describe('when the books were sampled: a signal older than the last one seen for its triangle is stale'),
  on_failure: z.enum(['keep', 'unwind']).describe('on FAILED or ABORTED: keep what is held, or sell it back to the primary quote'),
  signal_times: z.record(z.string(), time).optional().describe('producer-side times (socket arrival, book update, evaluation)'),
});
export type NormalizedChain = z.infer<typeof NormalizedChain>;

export const CHAIN_REFUSE_CODES = ['PAUSED', 'STALE', 'BELOW_MINIMUM', 'NO_SLOT', 'ISOLATED', 'NO_MARKET_DATA'] as const;
export const ChainRefuseCode = z.enum(CHAIN_REFUSE_CODES);

/** A chain signal, validated (normalizer → risk). */
export const ChainRequested = ev('ChainRequested', z.object({ chain: NormalizedChain }));
/** Risk let the chain through: trading is ACTIVE for its account, strategy and the whole book (risk → the chain decider). */
export const ChainApproved = ev('ChainApproved', z.object({ chain: NormalizedChain, policy_version: z.number().int() }));
/** Not started: paused, halted, stale, below a leg's minimum, no free slot, or isolated from a chain in flight. */
export const ChainRefused = ev('ChainRefused', z.object({ code: ChainRefuseCode, reason: z.string(), triangle: z.array(z.string()) }));
/** Admitted: it holds a slot until its report. */
export const ChainStarted = ev(
  'ChainStarted',
  z.object({
    chain: NormalizedChain,
    at_us: z.number().describe('wall clock, µs, when it was admitted'),
    slots: z.number().int(),
    in_flight: z.number().int(),
    fill_timeout_ms: z.number().int().describe("a live leg's order expires on its venue this long after it is sent"),
    balance_wait_ms: z.number().int().optional().describe("live venues: how long a leg waits for the venue's balance to show the previous leg's output (0: no wait)"),
  }),
);
/** A leg sent: what it was given and what it may spend (its order goes out beside this, on exec.gateway, unless paper). */
export const ChainLegPlaced = ev(
  'ChainLegPlaced',
  z.object({
    leg: z.number().int(),
    client_order_id: z.string(),
    input: dec.describe('what the previous leg delivered (the starting amount for the first)'),
    input_ccy: z.string(),
    funds: dec.optional().describe('BUY: quote it may spend, the fee held back'),
    qty: dec,
    limit_price: dec.optional(),
    dust: dec.describe('left unspent by the fee hold and the floors, in the input currency'),
    paper: z.boolean(),
    at_us: z.number(),
    ending: z
      .object({ status: z.enum(['FAILED', 'ABORTED']), error: z.string() })
      .optional()
      .describe('an unwind (held inventory sold back to the primary quote): how the chain ended, reported once it is done'),
  }),
);
/** A leg's order ended (or paper mode filled it): what it filled and delivered. */
export const ChainLegFilled = ev(
  'ChainLegFilled',
  z.object({
    leg: z.number().int(),
    client_order_id: z.string(),
    status: OrderStatus,
    filled_qty: dec,
    notional: dec,
    avg_price: dec,
    fee: dec,
    fee_ccy: z.string(),
    delivered: dec.describe('in the output currency, a fee charged in it taken off'),
    at_us: z.number(),
  }),
);
/** A chain's report: one per admitted chain, FILLED, FAILED or ABORTED. */
export const ChainCompleted = ev(
  'ChainCompleted',
  z.object({
    status: z.enum(['FILLED', 'FAILED', 'ABORTED']),
    error: z.string().optional(),
    triangle: z.array(z.string()),
    predicted_bps: dec,
    effective_bps: dec.optional(),
    profit: dec.optional().describe('in the primary quote'),
    spent: dec.describe('what the first leg spent, in the primary quote'),
    held: z.object({ asset: z.string(), amount: dec }).optional().describe('inventory left mid-chain (kept, or what the unwind could not sell)'),
    unwound: z.object({ asset: z.string(), sold: dec, delivered: dec }).optional(),
    legs: z.array(
      z.object({
        leg: z.number().int(),
        pair: z.string(),
        side: Side,
        input_ccy: z.string(),
        output_ccy: z.string(),
        filled_qty: dec,
        avg_price: dec,
        fee: dec,
        fee_ccy: z.string(),
        delivered: dec,
        dust: dec,
        latency_ms: z.number().describe('order sent to its fill received'),
      }),
    ),
    books: z.array(z.object({ leg: z.number().int(), ts: time, best_bid: dec.optional(), best_ask: dec.optional() })),
    timings: z.array(z.object({ step: z.string(), ms: z.number() })).describe('signal→receive, receive→first order, each order fired and fill received (from receipt), leg→leg'),
  }),
);
/** An operator's word to the chain decider: pause or resume admission, set the slots, cancel a chain between legs. */
export const ChainCommand = ev(
  'ChainCommand',
  z.object({
    command: z.enum(['pause', 'resume', 'slots', 'cancel']),
    slots: z.number().int().min(0).max(1000).optional(),
    chain_id: z.string().optional(),
    operator: z.string(),
    reason: z.string(),
  }),
);

/**
 * Before a live leg: the venue's balance must show what the previous leg delivered. The gateway
 * asks the venue until it does or `wait_ms` from `at_us` has passed, and answers ChainBalanceSeen.
 */
export const ChainBalanceAwaited = ev(
  'ChainBalanceAwaited',
  z.object({
    leg: z.number().int().describe('the leg placed once the balance is seen'),
    venue: z.string(),
    env: Env,
    asset: z.string(),
    expected: dec.describe('what the previous leg delivered, in this asset'),
    wait_ms: z.number().int(),
    at_us: z.number(),
  }),
);
/** What the venue's balance showed for an awaited leg (the gateway's answer to ChainBalanceAwaited). */
export const ChainBalanceSeen = ev(
  'ChainBalanceSeen',
  z.object({
    leg: z.number().int(),
    asset: z.string(),
    expected: dec,
    free: dec.optional().describe('free balance last read; absent when the venue could not be asked'),
    met: z.boolean().describe('the free balance reached what was expected within the wait'),
    waited_ms: z.number(),
    asks: z.number().int().describe('balance reads made'),
    error: z.string().optional(),
    at_us: z.number(),
  }),
);
/** A paper leg's order, for its venue's order-test endpoint: checked there like a placement, never placed. */
export const OrderTestRequested = ev('OrderTestRequested', z.object({ leg: z.number().int(), order: Order }));
/** The venue's word on a tested order; `untested` when the venue has no order-test endpoint. */
export const OrderTested = ev(
  'OrderTested',
  z.object({
    leg: z.number().int(),
    client_order_id: z.string(),
    venue: z.string(),
    outcome: z.enum(['accepted', 'rejected', 'unknown', 'untested']),
    code: z.string().optional(),
    reason: z.string().optional(),
    latency_ms: z.number(),
    at_us: z.number(),
  }),
);

/** Where a venue report came from. */
export const ReportSource = z.enum(['stream', 'query', 'trades', 'reconcile']);
/**
 * A venue report that arrived on its own time (user-data stream, a query, reconciliation), as
 * received: the gateway's OMS decides on it like on a placement's answer; fills dedup by fingerprint.
 */
export const VenueReportReceived = ev('VenueReportReceived', z.object({ client_order_id: z.string(), venue: z.string(), env: Env, source: ReportSource, report: VenueReport }));
/** An order whose answer never came is not on the venue (asked after the venue's own deadline): it may be sent again, once. */
export const VenueOrderMissing = ev('VenueOrderMissing', z.object({ client_order_id: z.string(), venue: z.string(), env: Env, checked_at: time }));

/** A gateway connected to a venue: what its keys may do, its clock, its rules. */
export const VenueReady = ev(
  'VenueReady',
  z.object({
    venue: z.string(),
    env: Env,
    can_trade: z.boolean(),
    can_withdraw: z.boolean().optional(),
    clock_offset_ms: z.number(),
    instruments: z.array(z.object({ symbol: z.string(), base: z.string(), quote: z.string(), tick_size: dec, lot_size: dec, min_qty: dec, max_qty: dec, min_notional: dec })),
    balances: z.record(z.string(), dec).optional().describe('free balance by asset when the venue reports it (what open orders lock is not free)'),
    reconciled: z.object({ checked: z.number().int(), reports: z.number().int(), orphans: z.number().int(), missing: z.number().int() }),
  }),
);
/** The venue stopped serving us (Binance 418) or an operator halted it: nothing is sent there until resumed. */
export const VenueHalted = ev('VenueHalted', z.object({ venue: z.string(), env: Env, reason: z.string(), operator: z.string().optional() }));
export const VenueResumed = ev('VenueResumed', z.object({ venue: z.string(), env: Env, reason: z.string(), operator: z.string() }));
/** An order on the venue that fillstream did not place: the account takes no new orders there until an operator clears it. */
export const AccountQuarantined = ev(
  'AccountQuarantined',
  z.object({ venue: z.string(), env: Env, reason: z.string(), venue_order_id: z.string().optional(), venue_client_order_id: z.string().optional(), symbol: z.string().optional() }),
);
export const QuarantineCleared = ev('QuarantineCleared', z.object({ venue: z.string(), env: Env, reason: z.string(), operator: z.string() }));
export const DeadLetter = ev(
  'DeadLetter',
  z.object({
    code: DeadLetterCode,
    reason: z.string().describe('human-readable reason'),
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    raw: z.string().describe('the input as received (utf8, or base64 when raw_encoding is base64); cut at 64 KiB'),
    raw_encoding: z.enum(['utf8', 'base64']),
    raw_bytes: z.number().int().describe('size of the whole input'),
    source: LogPosition,
  }),
);

export const Event = z.discriminatedUnion('type', [
  IntentAccepted,
  IntentDuplicate,
  RiskPolicySet,
  RiskApproved,
  RiskRejected,
  RiskWarned,
  CompliancePolicySet,
  OperatorCommand,
  TradingStateChanged,
  FlattenStarted,
  FlattenCompleted,
  OrderRouted,
  RouteDecided,
  OrderSubmitted,
  OrderAcked,
  OrderFilled,
  OrderCanceled,
  OrderRejected,
  OrderExpired,
  OrderAnomaly,
  FillDuplicate,
  DeadLetter,
  OrderUnknown,
  OrderAmended,
  OrderChangeRequested,
  OrderChangeApproved,
  OrderChangeRouted,
  OrderChangeRejected,
  VenueReportReceived,
  VenueOrderMissing,
  VenueReady,
  VenueHalted,
  VenueResumed,
  AccountQuarantined,
  QuarantineCleared,
  ChainRequested,
  ChainApproved,
  ChainRefused,
  ChainStarted,
  ChainLegPlaced,
  ChainLegFilled,
  ChainCompleted,
  ChainCommand,
  ChainBalanceAwaited,
  ChainBalanceSeen,
  OrderTestRequested,
  OrderTested,
]);
export type Event = z.infer<typeof Event>;
export type EventType = Event['type'];
export type EventOf<T extends EventType> = Extract<Event, { type: T }>;
export type EventEnvelope = Omit<Event, 'type' | 'data'>;

/**
 * An order status event as far as a fold reads it: what its record headers carry (runtime/codec.ts),
 * so a restore or replay folds it unparsed, through the same evolve. Every full status event is one.
 */
export type OrderStatusFact =
  | { type: 'OrderSubmitted' | 'OrderCanceled' | 'OrderRejected' | 'OrderExpired'; ts: string; data: { client_order_id: string } }
  | { type: 'OrderAcked'; ts: string; data: { client_order_id: string; venue_order_id: string } };

/** Where each event type is written. */
export const EVENT_TOPIC: Record<EventType, TopicName> = {
  IntentAccepted: TOPICS.risk,
  RiskPolicySet: TOPICS.risk,
  IntentDuplicate: TOPICS.audit,
  RiskApproved: TOPICS.router,
  RiskRejected: TOPICS.router,
  RiskWarned: TOPICS.router,
  OperatorCommand: TOPICS.risk,
  CompliancePolicySet: TOPICS.risk,
  TradingStateChanged: TOPICS.router,
  FlattenStarted: TOPICS.router,
  FlattenCompleted: TOPICS.router,
  OrderRouted: TOPICS.gateway,
  RouteDecided: TOPICS.audit,
  OrderSubmitted: TOPICS.gateway,
  OrderAcked: TOPICS.gateway,
  OrderFilled: TOPICS.gateway,
  OrderCanceled: TOPICS.gateway,
  OrderRejected: TOPICS.gateway,
  OrderExpired: TOPICS.gateway,
  OrderAnomaly: TOPICS.audit,
  FillDuplicate: TOPICS.audit,
  DeadLetter: TOPICS.dlq,
  OrderUnknown: TOPICS.gateway,
  OrderAmended: TOPICS.gateway,
  OrderChangeRequested: TOPICS.risk,
  OrderChangeApproved: TOPICS.router,
  OrderChangeRouted: TOPICS.gateway,
  OrderChangeRejected: TOPICS.gateway,
  VenueReportReceived: TOPICS.gateway,
  VenueOrderMissing: TOPICS.gateway,
  VenueReady: TOPICS.gateway,
  VenueHalted: TOPICS.gateway,
  VenueResumed: TOPICS.gateway,
  AccountQuarantined: TOPICS.gateway,
  QuarantineCleared: TOPICS.gateway,
  // A chain is requested and approved like an intent; once admitted it lives beside its legs'
  // orders: the chain decider (router or decide stage) reads it with the gateway's fills, and a
  // restore folds it from there.
  ChainRequested: TOPICS.risk,
  ChainApproved: TOPICS.router,
  ChainRefused: TOPICS.gateway,
  ChainStarted: TOPICS.gateway,
  ChainLegPlaced: TOPICS.gateway,
  ChainLegFilled: TOPICS.gateway,
  ChainCompleted: TOPICS.gateway,
  ChainCommand: TOPICS.gateway,
  // Asked of the gateway and answered by it, beside the chain's other events.
  ChainBalanceAwaited: TOPICS.gateway,
  ChainBalanceSeen: TOPICS.gateway,
  OrderTestRequested: TOPICS.gateway,
  OrderTested: TOPICS.gateway,
};
