// Intake: validate and normalize raw intents. Pure: the same bytes and state give the same events.
import { type z } from 'zod';
import { dec, digits, floorTo, fmt, type Dec } from '../domain/decimal.js';
import { makeEvent, positionId } from '../domain/envelope.js';
import type { InPlaceDecider } from '../domain/decider.js';
import type { DeadLetterCode, Event, EventOf, LogPosition, NormalizedChain, NormalizedIntent, OrderChangeRequest } from '../domain/events.js';
import { ChainIntent, Intent, OrderChangeIntent } from '../domain/intent.js';
import { normalizeChain, type ChainProblem } from './chain.js';
import { microsToIso, parseRfc3339Micros } from '../domain/time.js';
import { wireSchemaId } from '../domain/wire.js';
import { midPrice, quantityForNotional } from '../market/book.js';
import { DEFAULT_VENUE_PREFERENCE, USD_LIKE } from '../market/instruments.js';
import type { InstrumentSpec, MarketData } from '../market/types.js';
import { toUsd } from '../market/usd.js';

/** Largest raw intent accepted; anything bigger is dead-lettered unparsed. */
export const MAX_INTENT_BYTES = 64 * 1024;
/** Keep at most this much of a bad input in its dead letter. */
export const MAX_DLQ_RAW_BYTES = 64 * 1024;
/** Notional above this is treated as a fat-finger, not a trade. */
export const ABSURD_NOTIONAL_USD = dec('1000000000000');
const MAX_DIGITS = 18;

export interface NormalizerState {
  /** intent_ids already accepted: a second message with one of them is a no-op. */
  seen: Set<string>;
}

/** One raw message from exec.intents, with what deciding on it needs. */
export interface NormalizeIntent {
  raw: Buffer;
  /** Where the message sits in the log: the causation of every event it gives. */
  source: LogPosition;
  /** When the message reached the log (epoch µs): the event time of a dead letter that has no valid ts. */
  arrived_us: number;
  /** Instruments and their books, read at the intent's own event time. */
  market: MarketData;
  /** Venues in order of preference for a bare symbol (default: DEFAULT_VENUE_PREFERENCE). */
  venue_preference?: readonly string[];
}

/** The command for a raw record of exec.intents: its bytes, its position and when it was appended (epoch ms). */
export function normalizeCommand(
  r: { value: Buffer; topic: string; partition: number; offset: number; timestamp: number },
  market: MarketData,
  venuePreference?: readonly string[],
): NormalizeIntent {
  return { raw: r.value, source: { topic: r.topic, partition: r.partition, offset: r.offset }, arrived_us: r.timestamp * 1000, market, venue_preference: venuePreference };
}

/** What resolving an instrument reads: the listings, and the venue preference for a bare symbol. */
export type InstrumentContext = Pick<NormalizeIntent, 'market' | 'venue_preference'>;

export type NormalizerEvent = EventOf<'IntentAccepted' | 'OrderChangeRequested' | 'ChainRequested' | 'IntentDuplicate' | 'DeadLetter'>;

/** What evolve reads of an event: a restore folds these from record headers, unparsed. */
export type NormalizerFact = Pick<Event, 'type' | 'intent_id'>;

/**
 * Intake's decider. The seen set is folded in place by the stage (a copy per accepted intent would
 * make a restore quadratic); `evolve` copies it.
 */
export const normalizer = {
  initialState: (): NormalizerState => ({ seen: new Set() }),
  decide: decideIntent,
  evolve(state: NormalizerState, event: NormalizerFact): NormalizerState {
    if (!isSeenType(event.type) || state.seen.has(event.intent_id)) return state;
    return { seen: new Set(state.seen).add(event.intent_id) };
  },
  evolveInPlace(state: NormalizerState, event: NormalizerFact): NormalizerState {
    if (isSeenType(event.type)) state.seen.add(event.intent_id);
    return state;
  },
} satisfies InPlaceDecider<NormalizeIntent, NormalizerState, NormalizerEvent, NormalizerFact>;

/** Events whose intent_id a later message with the same id duplicates: orders, cancels and amends share one id space. */
const isSeenType = (type: string): boolean => type === 'IntentAccepted' || type === 'OrderChangeRequested' || type === 'ChainRequested';

/**
 * Where the records of exec.intents are decided: how many partitions the topic has, and the
 * partition a key goes to there (Kafka's murmur2 partitioner, as fillstream's own intake keys).
 */
export interface IntentPlacement {
  partitions: number;
  partitionOf(account: string): number;
}

/**
 * The account a raw intent belongs to, as fillstream keys it on exec.intents: its `account`, or
 * `default` when that is absent or not a non-empty string. Null for bytes that are no JSON object
 * (oversized, framed with an unknown schema id, not UTF-8, not JSON): those are dead-lettered
 * where they are, as no account and no dedup state is theirs.
 */
export function intentAccount(raw: Buffer): string | null {
  if (raw.length > MAX_INTENT_BYTES || wireSchemaId(raw) !== undefined) return null;
  let json: unknown;
  try {
    json = JSON.parse(utf8.decode(raw));
  } catch {
    return null;
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return null;
  const account = (json as { account?: unknown }).account;
  return typeof account === 'string' && account !== '' ? account : 'default';
}

/**
 * Where a raw record of exec.intents is to be decided: undefined when on its own partition (or
 * when it has no account), else its account's partition and key. Dedup state lives per partition,
 * so a copy a producer sent to another partition (no key, another key, another partitioner) must
 * meet the others of its intent_id there before anything is decided about it.
 */
export function placementOf(r: { value: Buffer; partition: number }, placement: IntentPlacement): { partition: number; key: string } | undefined {
  if (placement.partitions <= 1) return undefined;
  const account = intentAccount(r.value);
  if (account === null) return undefined;
  const home = placement.partitionOf(account);
  return home === r.partition ? undefined : { partition: home, key: account };
}

type Rejection = { code: DeadLetterCode; reason: string; issues?: { path: string; message: string }[] };

function decideIntent(command: NormalizeIntent, state: NormalizerState): NormalizerEvent[] {
  const { raw, source } = command;
  const parsed = parse(raw);
  if ('code' in parsed) return [deadLetter(raw, source, parsed, microsToIso(command.arrived_us))];
  if ('change' in parsed) return decideChange(parsed.change, raw, source, state);
  if ('chain' in parsed) return decideChain(parsed.chain, raw, source, state, command.market);
  const intent = parsed.intent;
  const tsUs = parseRfc3339Micros(intent.ts)!; // the schema checked it
  const causation = positionId(source);
  const seed = {
    intent_id: intent.intent_id,
    account: intent.account,
    strategy: intent.labels.strategy ?? 'default',
    ts: microsToIso(tsUs),
    causation,
  };
  if (state.seen.has(intent.intent_id)) {
    return [makeEvent('IntentDuplicate', `${intent.intent_id}/duplicate/${causation}`, seed, { source })];
  }
  let normalized: NormalizedIntent | Rejection;
  try {
    normalized = normalize(intent, tsUs, seed.ts, seed.strategy, command);
  } catch (e) {
    // A defect here must not wedge the partition: the record is dead-lettered and the stage goes on.
    normalized = { code: 'INTERNAL', reason: `normalizer could not process this intent: ${(e as Error).message}` };
  }
  if ('code' in normalized) return [deadLetter(raw, source, normalized, seed.ts, seed)];
  return [makeEvent('IntentAccepted', `${intent.intent_id}/accepted`, seed, { intent: normalized })];
}

/** A chain: validated here, run by the chain decider (src/chains/). */
function decideChain(chain: ChainIntent, raw: Buffer, source: LogPosition, state: NormalizerState, market: MarketData): NormalizerEvent[] {
  const causation = positionId(source);
  const strategy = chain.labels.strategy ?? 'default';
  const seed = { intent_id: chain.intent_id, account: chain.account, strategy, ts: microsToIso(parseRfc3339Micros(chain.ts)!), causation };
  if (state.seen.has(chain.intent_id)) return [makeEvent('IntentDuplicate', `${chain.intent_id}/duplicate/${causation}`, seed, { source })];
  let n: NormalizedChain | ChainProblem;
  try {
    n = normalizeChain(chain, strategy, market);
  } catch (e) {
    n = { reason: `normalizer could not process this chain: ${(e as Error).message}` };
  }
  if ('reason' in n) return [deadLetter(raw, source, { code: 'INVALID_CHAIN', reason: n.reason }, seed.ts, seed)];
  return [makeEvent('ChainRequested', `${chain.intent_id}/accepted`, seed, { chain: n })];
}

/** A cancel or amend: validated here, acted on by the gateway once risk let it through. */
function decideChange(change: OrderChangeIntent, raw: Buffer, source: LogPosition, state: NormalizerState): NormalizerEvent[] {
  const causation = positionId(source);
  const seed = { intent_id: change.intent_id, account: change.account, strategy: change.labels.strategy ?? 'default', ts: microsToIso(parseRfc3339Micros(change.ts)!), causation };
  if (state.seen.has(change.intent_id)) return [makeEvent('IntentDuplicate', `${change.intent_id}/duplicate/${causation}`, seed, { source })];
  const request = { kind: change.kind, target_intent_id: change.target_intent_id, labels: change.labels } as OrderChangeRequest;
  if (change.qty !== undefined) {
    const q = dec(change.qty);
    const badQty = checkAmount('qty', q);
    if (badQty) return [deadLetter(raw, source, badQty, seed.ts, seed)];
    request.qty = fmt(q);
  }
  if (change.limit_price !== undefined) {
    const p = dec(change.limit_price);
    const badPrice = checkAmount('limit_price', p);
    if (badPrice) return [deadLetter(raw, source, badPrice, seed.ts, seed)];
    request.limit_price = fmt(p);
  }
  return [makeEvent('OrderChangeRequested', `${change.intent_id}/accepted`, seed, { request })];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function parse(raw: Buffer): { intent: Intent } | { change: OrderChangeIntent } | { chain: ChainIntent } | Rejection {
  if (raw.length > MAX_INTENT_BYTES) {
    return { code: 'OVERSIZED', reason: `intent is ${raw.length} bytes; the limit is ${MAX_INTENT_BYTES}` };
  }
  const schemaId = wireSchemaId(raw);
  if (schemaId !== undefined) {
    // Framed values whose id the registry knows arrive unframed; this one's id is unknown to it.
    return { code: 'UNKNOWN_SCHEMA_ID', reason: `message is in the Confluent wire format with schema id ${schemaId}, which the schema registry does not know` };
  }
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    return { code: 'MALFORMED_JSON', reason: 'input is not valid UTF-8' };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { code: 'MALFORMED_JSON', reason: `input is not JSON: ${(e as Error).message}` };
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    return { code: 'SCHEMA', reason: 'an intent must be a JSON object' };
  }
  const kind = (json as { kind?: unknown }).kind;
  if (kind === 'cancel' || kind === 'amend') {
    const c = OrderChangeIntent.safeParse(json);
    return c.success ? { change: c.data } : schemaRejection(c.error);
  }
  if (kind === 'chain') {
    const c = ChainIntent.safeParse(json);
    return c.success ? { chain: c.data } : schemaRejection(c.error);
  }
  // An order may say so (kind "order"); the contract without a kind is an order too.
  if (kind === 'order') delete (json as { kind?: unknown }).kind;
  else if (kind !== undefined) return { code: 'SCHEMA', reason: `unknown message kind ${JSON.stringify(kind)}: expected order (or none), cancel, amend or chain` };
  const r = Intent.safeParse(json);
  if (!r.success) return schemaRejection(r.error);
  return { intent: r.data };
}

function schemaRejection(error: z.ZodError): Rejection {
  const issues = error.issues.map((i) => ({ path: i.path.join('.') || '(root)', message: i.message }));
  const first = issues
    .slice(0, 3)
    .map((i) => `${i.path}: ${i.message}`)
    .join('; ');
  return { code: 'SCHEMA', reason: `intent does not match the contract: ${first}`, issues };
}

function normalize(intent: Intent, tsUs: number, ts: string, strategy: string, ctx: InstrumentContext): NormalizedIntent | Rejection {
  const c = intent.constraints;
  const orderType = c.order_type ?? (c.limit_price !== undefined ? 'LIMIT' : 'MARKET');
  const tif = c.tif ?? (orderType === 'MARKET' ? 'IOC' : 'GTC');
  if (orderType === 'LIMIT' && c.limit_price === undefined) return bad('INVALID_CONSTRAINTS', 'a LIMIT intent needs constraints.limit_price');
  if (orderType === 'MARKET' && c.limit_price !== undefined) return bad('INVALID_CONSTRAINTS', 'a MARKET intent cannot carry limit_price');
  if (orderType === 'MARKET' && tif === 'GTC') return bad('INVALID_CONSTRAINTS', 'a MARKET order cannot rest: use tif IOC or FOK');
  let expireAt: string | undefined;
  if (c.expire_at !== undefined) {
    const exp = parseRfc3339Micros(c.expire_at)!;
    if (exp <= tsUs) return bad('INVALID_CONSTRAINTS', `expire_at ${c.expire_at} is not after ts ${intent.ts}`);
    expireAt = microsToIso(exp);
  }

  const value = dec(intent.size.value);
  const sized = checkAmount('size.value', value);
  if (sized) return sized;
  const limit = c.limit_price === undefined ? undefined : dec(c.limit_price);
  const stop = c.stop_loss === undefined ? undefined : dec(c.stop_loss);
  const badPrice = (limit && checkAmount('constraints.limit_price', limit)) || (stop && checkAmount('constraints.stop_loss', stop));
  if (badPrice) return badPrice;

  const listed = resolveInstrument(intent.instrument_id, ctx);
  if (listed.length === 0) {
    return bad('UNKNOWN_INSTRUMENT', `unknown instrument ${intent.instrument_id}: use VENUE:SYMBOL (e.g. BINANCE:BTCUSDT) or a listed symbol`);
  }
  let candidates = listed;
  if (c.venues !== undefined) {
    if (intent.instrument_id.includes(':')) return bad('INVALID_CONSTRAINTS', `constraints.venues applies to a bare symbol; ${intent.instrument_id} names its venue`);
    const wanted = [...new Set(c.venues.map((v) => v.toUpperCase()))];
    candidates = wanted.map((v) => listed.find((s) => s.venue === v)).filter((s): s is InstrumentSpec => s !== undefined);
    if (candidates.length === 0)
      return bad('UNKNOWN_INSTRUMENT', `${intent.instrument_id} is listed on ${listed.map((s) => s.venue).join(', ')}, none of constraints.venues (${wanted.join(', ')})`);
  }
  const primary = candidates[0];
  const ccy = (intent.size.ccy ?? (intent.size.type === 'notional' ? primary.quote : primary.base)).toUpperCase();
  const expected = intent.size.type === 'notional' ? primary.quote : primary.base;
  if (ccy !== expected && !(USD_LIKE.has(ccy) && USD_LIKE.has(expected))) {
    return bad('INVALID_SIZE', `size.ccy ${ccy} does not match the ${intent.size.type === 'notional' ? 'quote' : 'base'} currency ${expected} of ${primary.instrument_id}`);
  }

  const book = ctx.market.bookAt(primary.instrument_id, tsUs);
  const ref = midPrice(book);
  const walked = book && intent.size.type === 'notional' ? quantityForNotional(book, intent.side, value) : undefined;
  if (!book || !ref || (intent.size.type === 'notional' && !walked)) {
    return bad('NO_MARKET_DATA', `no order book for ${primary.instrument_id} at or before ${ts}`);
  }
  const qty = walked ? floorTo(walked, lotSize(primary)) : value;
  if (qty.eq(0)) {
    return bad('SIZE_BELOW_LOT', `notional ${fmt(value)} ${ccy} buys less than one lot (${primary.lot_size} ${primary.base}) of ${primary.instrument_id}`);
  }
  const notional = intent.size.type === 'notional' ? value : qty.times(ref);
  const usd = toUsd(ctx.market, notional, primary, tsUs);
  if (usd === undefined) return bad('NO_MARKET_DATA', `no USD reference price for ${primary.quote} at ${ts}`);
  if (usd.gt(ABSURD_NOTIONAL_USD)) {
    return bad('ABSURD_SIZE', `notional of about ${fmt(usd.round(0))} USD exceeds the sanity limit of ${fmt(ABSURD_NOTIONAL_USD)} USD`);
  }
  // The size is often also the quantity or the notional, and the notional often already in USD: format each value once.
  const valueText = fmt(value);
  const notionalText = notional === value ? valueText : fmt(notional);

  // Optional fields are assigned in place, keeping the field order events have always had:
  // spreading `...(x ? { field } : {})` into the literal cost about a microsecond per intent.
  const n = {
    intent_id: intent.intent_id,
    ts,
    account: intent.account,
    strategy,
    labels: intent.labels,
    env: intent.env,
    instrument_id: intent.instrument_id,
    venues: candidates.map((s) => s.instrument_id),
    sized_on: primary.instrument_id,
    base: primary.base,
    quote: primary.quote,
    side: intent.side,
    size: { type: intent.size.type, value: valueText, ccy },
    qty: qty === value ? valueText : fmt(qty),
    order_type: orderType,
  } as NormalizedIntent;
  if (limit !== undefined) n.limit_price = fmt(limit);
  n.tif = tif;
  if (c.max_slippage_bps !== undefined) n.max_slippage_bps = c.max_slippage_bps;
  if (stop !== undefined) n.stop_loss = fmt(stop);
  if (expireAt !== undefined) n.expire_at = expireAt;
  n.ref_price = fmt(ref);
  n.notional = notionalText;
  n.notional_usd = usd === notional ? notionalText : fmt(usd);
  return n;
}

function checkAmount(path: string, v: Dec): Rejection | undefined {
  if (v.lte(0)) return bad('NON_POSITIVE', `${path} must be greater than zero, got ${fmt(v)}`);
  const d = digits(v);
  if (d.int > MAX_DIGITS || d.frac > MAX_DIGITS) {
    return bad('ABSURD_SIZE', `${path} has ${d.int} integer and ${d.frac} fractional digits; at most ${MAX_DIGITS} of each are allowed`);
  }
  return undefined;
}

/** VENUE:SYMBOL resolves to one instrument; a bare symbol (BTCUSDT, BTC-USDT, BTC/USDT) to every venue listing it. */
export function resolveInstrument(requested: string, ctx: InstrumentContext): readonly InstrumentSpec[] {
  const id = requested.trim().toUpperCase();
  const colon = id.indexOf(':');
  if (colon > 0) {
    const spec = ctx.market.instrument(id);
    return spec ? [spec] : [];
  }
  return listingsOf(ctx).get(id.replace(/[-/_.]/g, '')) ?? [];
}

// What follows from the instrument list alone is worked out once per list (markets hand out one
// frozen list) rather than per intent.
interface ListIndex {
  /** BASE+QUOTE → its listings ranked by venue preference, per preference list. */
  listings: WeakMap<readonly string[], Map<string, readonly InstrumentSpec[]>>;
}
const indexes = new WeakMap<readonly InstrumentSpec[], ListIndex>();

function listIndex(list: readonly InstrumentSpec[]): ListIndex {
  let index = indexes.get(list);
  if (!index) indexes.set(list, (index = { listings: new WeakMap() }));
  return index;
}

function listingsOf(ctx: InstrumentContext): Map<string, readonly InstrumentSpec[]> {
  const list = ctx.market.instruments();
  const prefs = ctx.venue_preference ?? DEFAULT_VENUE_PREFERENCE;
  const index = listIndex(list);
  let listings = index.listings.get(prefs);
  if (!listings) {
    const rank = (v: string) => (prefs.indexOf(v) < 0 ? prefs.length : prefs.indexOf(v));
    const groups = new Map<string, InstrumentSpec[]>();
    for (const s of list) {
      const group = groups.get(s.base + s.quote);
      if (group) group.push(s);
      else groups.set(s.base + s.quote, [s]);
    }
    for (const group of groups.values()) group.sort((a, b) => rank(a.venue) - rank(b.venue) || a.venue.localeCompare(b.venue));
    index.listings.set(prefs, (listings = groups));
  }
  return listings;
}

const lotSizes = new WeakMap<InstrumentSpec, Dec>();

/** An instrument's lot size as a decimal, parsed once per spec. */
function lotSize(spec: InstrumentSpec): Dec {
  let lot = lotSizes.get(spec);
  if (!lot) lotSizes.set(spec, (lot = dec(spec.lot_size)));
  return lot;
}

const bad = (code: DeadLetterCode, reason: string): Rejection => ({ code, reason });

function deadLetter(raw: Buffer, source: LogPosition, r: Rejection, ts: string, seed?: { intent_id: string; account: string; strategy: string }): EventOf<'DeadLetter'> {
  const cut = raw.subarray(0, MAX_DLQ_RAW_BYTES);
  let text: string | undefined;
  try {
    text = utf8.decode(cut);
  } catch {
    text = undefined;
  }
  return makeEvent(
    'DeadLetter',
    `dlq/${positionId(source)}`,
    { intent_id: seed?.intent_id ?? '', account: seed?.account ?? '', strategy: seed?.strategy ?? '', ts, causation: positionId(source) },
    {
      code: r.code,
      reason: r.reason,
      ...(r.issues ? { issues: r.issues } : {}),
      raw: text ?? cut.toString('base64'),
      raw_encoding: text === undefined ? 'base64' : 'utf8',
      raw_bytes: raw.length,
      source,
    },
  );
}
