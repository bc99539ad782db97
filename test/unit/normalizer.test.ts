import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { normalizer, resolveInstrument, type NormalizeIntent } from '../../src/normalizer/decide.js';
import { createSyntheticMarket } from '../../src/market/synthetic.js';
import { BUILTIN_INSTRUMENTS, DEFAULT_VENUE_PREFERENCE } from '../../src/market/instruments.js';
import { midPrice } from '../../src/market/book.js';
import { dec } from '../../src/domain/decimal.js';
import type { DeadLetterCode, EventOf } from '../../src/domain/events.js';
import { isoToMicros, microsToIso, parseRfc3339Micros } from '../../src/domain/time.js';
import { frame, wireSchemaId } from '../../src/domain/wire.js';
import { assertMatch, given } from '../helpers/decider.js';

const market = createSyntheticMarket({ seed: 1 });
const ctx = { market };
const src = (offset: number) => ({ topic: 'exec.intents', partition: 0, offset });
const ARRIVED = isoToMicros('2026-01-02T10:00:05Z');
const base = {
  intent_id: 'a1',
  ts: '2026-01-02T10:00:00Z',
  instrument_id: 'BINANCE:BTCUSDT',
  side: 'BUY',
  size: { type: 'notional', value: '10000', ccy: 'USDT' },
  constraints: { tif: 'IOC', max_slippage_bps: 5 },
  labels: { strategy: 'xs_v1', run: 'r1' },
  env: 'sim',
};
const raw = (v: unknown) => (Buffer.isBuffer(v) ? v : Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)));
/** The message `v` (JSON, text or bytes) at `offset` of exec.intents, arrived at ARRIVED. */
const message = (v: unknown, offset = 0): NormalizeIntent => ({ raw: raw(v), source: src(offset), arrived_us: ARRIVED, market });

/** What a fresh normalizer accepts `v` as. */
function accepted(v: unknown, offset = 0): EventOf<'IntentAccepted'> {
  const [e] = given(normalizer).when(message(v, offset)).then({ type: 'IntentAccepted' });
  assert.ok(e.type === 'IntentAccepted');
  return e;
}

test('a valid notional intent is accepted with a quantity from walking the book, floored to the lot', () => {
  const [e] = given(normalizer)
    .when(message(base))
    .then({
      type: 'IntentAccepted',
      event_id: 'a1/accepted',
      causation: 'exec.intents/0/0',
      data: {
        intent: {
          account: 'default',
          strategy: 'xs_v1',
          order_type: 'MARKET',
          tif: 'IOC',
          venues: ['BINANCE:BTCUSDT'],
          ts: '2026-01-02T10:00:00.000000Z',
          notional: '10000',
          notional_usd: '10000',
        },
      },
    });
  assert.ok(e.type === 'IntentAccepted');
  const n = e.data.intent;
  const qty = dec(n.qty);
  assert.ok(qty.gt(0));
  assert.ok(qty.mod('0.00001').eq(0), 'quantity on the lot step');
  // 10,000 USDT at ~65k per BTC is ~0.15 BTC; the walked quantity must cost no more than the notional.
  const ref = dec(n.ref_price);
  assert.ok(qty.times(ref).lte(dec('10000').times('1.01')));
});

test('a repeated intent_id is a no-op duplicate event, never a second acceptance', () => {
  given(normalizer, accepted(base))
    .when(message({ ...base, side: 'SELL' }, 7))
    .then({ type: 'IntentDuplicate', event_id: 'a1/duplicate/exec.intents/0/7', data: { source: src(7) } });
});

test('an acceptance a restore read from the record headers alone is remembered like the full event', () => {
  given(normalizer, { type: 'IntentAccepted', intent_id: 'a1' }).when(message(base, 3)).then({ type: 'IntentDuplicate', intent_id: 'a1' });
  // Other facts are not acceptances.
  given(normalizer, { type: 'IntentDuplicate', intent_id: 'a1' }, { type: 'DeadLetter', intent_id: 'a1' }).when(message(base, 3)).then({ type: 'IntentAccepted' });
});

test('a dead-lettered intent_id can still be accepted later (only accepted ids are remembered)', () => {
  const bad = given(normalizer)
    .when(message({ ...base, side: 'HOLD' }))
    .thenRejected('SCHEMA');
  given(normalizer, bad).when(message(base, 1)).then({ type: 'IntentAccepted', intent_id: 'a1' });
});

test('bad input becomes a dead letter with the raw input and a clear reason', () => {
  const cases: [unknown, DeadLetterCode, RegExp][] = [
    ['{"intent_id":"x",', 'MALFORMED_JSON', /not JSON/],
    ['[1,2]', 'SCHEMA', /JSON object/],
    [{ ...base, side: 'HOLD' }, 'SCHEMA', /side/],
    [{ ...base, intent_id: 'x'.repeat(300) }, 'SCHEMA', /intent_id: must be at most 128/],
    [{ ...base, ts: 'yesterday' }, 'SCHEMA', /ts: must be an RFC 3339/],
    [{ ...base, size: { type: 'quantity', value: '0' } }, 'NON_POSITIVE', /size.value must be greater than zero/],
    [{ ...base, size: { type: 'quantity', value: '-2' } }, 'NON_POSITIVE', /greater than zero/],
    [{ ...base, size: { type: 'notional', value: '1e30' } }, 'SCHEMA', /decimal/],
    [{ ...base, size: { type: 'notional', value: '5000000000000' } }, 'ABSURD_SIZE', /sanity limit/],
    [{ ...base, size: { type: 'quantity', value: '0.0000000000000000001' } }, 'ABSURD_SIZE', /fractional digits/],
    [{ ...base, instrument_id: 'NOPE:DOGEUSD' }, 'UNKNOWN_INSTRUMENT', /unknown instrument NOPE:DOGEUSD/],
    [{ ...base, instrument_id: 'XRPUSDT' }, 'UNKNOWN_INSTRUMENT', /unknown instrument/],
    [{ ...base, constraints: { order_type: 'LIMIT' } }, 'INVALID_CONSTRAINTS', /limit_price/],
    [{ ...base, constraints: { tif: 'GTC' } }, 'INVALID_CONSTRAINTS', /MARKET order cannot rest/],
    [{ ...base, constraints: { expire_at: '2026-01-02T09:00:00Z' } }, 'INVALID_CONSTRAINTS', /expire_at/],
    [{ ...base, size: { type: 'notional', value: '100', ccy: 'BTC' } }, 'INVALID_SIZE', /does not match the quote currency USDT/],
    [{ ...base, extra: 1 }, 'SCHEMA', /extra|Unrecognized/i],
    [{ ...base, size: { type: 'notional', value: '+1000' } }, 'SCHEMA', /decimal/],
    [{ ...base, constraints: { order_type: 'LIMIT', limit_price: '+65000' } }, 'SCHEMA', /decimal/],
    [{ ...base, size: { type: 'quantity', value: 1e-60 } }, 'ABSURD_SIZE', /fractional digits/],
    [{ ...base, ts: '0000-01-01T00:00:00+01:00' }, 'SCHEMA', /RFC 3339/],
    [{ ...base, size: { type: 'notional', value: '0.1' } }, 'SIZE_BELOW_LOT', /buys less than one lot \(0.00001 BTC\) of BINANCE:BTCUSDT/],
  ];
  for (const [input, code, reason] of cases) {
    const e = given(normalizer).when(message(input)).thenRejected(code, reason);
    assertMatch(
      e,
      { event_id: 'dlq/exec.intents/0/0', data: { raw: typeof input === 'string' ? input : JSON.stringify(input), raw_encoding: 'utf8', source: src(0) } },
      `the dead letter of ${JSON.stringify(input).slice(0, 80)}`,
    );
  }
});

test('a Confluent wire-format frame left on the input (schema id unknown to the registry) is dead-lettered with its id', () => {
  const framed = frame(424242, JSON.stringify(base));
  assert.equal(wireSchemaId(framed), 424242);
  assert.equal(wireSchemaId(Buffer.from(JSON.stringify(base))), undefined, 'plain JSON is not a frame');
  const e = given(normalizer)
    .when(message(framed, 5))
    .thenRejected('UNKNOWN_SCHEMA_ID', /schema id 424242/);
  assert.deepEqual(Buffer.from(e.data.raw, e.data.raw_encoding), framed, 'the frame is kept byte for byte');
});

test('invalid UTF-8 is dead-lettered as base64; oversized input is not parsed', () => {
  const e1 = given(normalizer)
    .when(message(Buffer.from([0xff, 0xfe, 0x7b]), 3))
    .thenRejected('MALFORMED_JSON');
  assert.equal(e1.data.raw_encoding, 'base64');
  assert.equal(Buffer.from(e1.data.raw, 'base64').toString('hex'), 'fffe7b');
  assert.equal(e1.ts, '2026-01-02T10:00:05.000000Z', 'a dead letter without a valid ts takes the arrival time');
  const e2 = given(normalizer)
    .when(message(Buffer.alloc(200_000, 0x20), 4))
    .thenRejected('OVERSIZED');
  assert.equal(e2.data.raw_bytes, 200_000);
  assert.equal(e2.data.raw.length, 64 * 1024, 'the kept raw input is cut at 64 KiB');
});

test('quantity sizes pass through exactly; lowercase sides and types are normalized', () => {
  const e = accepted({ ...base, side: 'sell', size: { type: 'QUANTITY', value: '0.12345' }, constraints: { order_type: 'limit', limit_price: '60000.5', tif: 'ioc' } });
  const n = e.data.intent;
  assertMatch(n, { side: 'SELL', qty: '0.12345', order_type: 'LIMIT', tif: 'IOC', limit_price: '60000.5', size: { ccy: 'BTC' } });
  assert.equal(n.notional, dec('0.12345').times(dec(n.ref_price)).toString());
});

test('a bare symbol resolves to every listing venue, preferred venue first', () => {
  const specs = resolveInstrument('btc-usdt', ctx);
  assert.deepEqual(
    specs.map((s) => s.instrument_id),
    ['BINANCE:BTCUSDT', 'OKX:BTC-USDT', 'KUCOIN:BTC-USDT'],
  );
  given(normalizer)
    .when(message({ ...base, instrument_id: 'ETHUSDT' }))
    .then({ type: 'IntentAccepted', data: { intent: { venues: ['BINANCE:ETHUSDT', 'OKX:ETH-USDT', 'KUCOIN:ETH-USDT'] } } });
});

test('a BTC-quoted notional is converted to USD through a BTC/USDT book', () => {
  const e = accepted({ ...base, instrument_id: 'BINANCE:ETHBTC', size: { type: 'notional', value: '0.5', ccy: 'BTC' } });
  const usd = dec(e.data.intent.notional_usd);
  assert.ok(usd.gt(20_000) && usd.lt(50_000), `0.5 BTC in USD: ${usd}`);
  // Through the same venue's BTC/USDT book, though the other venues list one too.
  const mid = midPrice(market.bookAt('BINANCE:BTCUSDT', isoToMicros(base.ts)))!;
  assert.equal(e.data.intent.notional_usd, dec('0.5').times(mid).toString());
});

test('bare symbols resolve as a filter and sort of the instrument list would, for any venue preference', () => {
  const reference = (symbol: string, list: typeof BUILTIN_INSTRUMENTS, prefs: readonly string[]) => {
    const rank = (v: string) => (prefs.indexOf(v) < 0 ? prefs.length : prefs.indexOf(v));
    return list.filter((s) => s.base + s.quote === symbol).sort((a, b) => rank(a.venue) - rank(b.venue) || a.venue.localeCompare(b.venue));
  };
  const venues = ['BINANCE', 'OKX', 'KUCOIN', 'BYBIT'];
  const extra = { ...BUILTIN_INSTRUMENTS[0], instrument_id: 'BYBIT:BTCUSDT', venue: 'BYBIT' };
  const markets = [market, createSyntheticMarket({ seed: 1, instruments: [...BUILTIN_INSTRUMENTS, extra].reverse() })];
  fc.assert(
    fc.property(
      fc.constantFrom(...markets),
      fc.option(fc.shuffledSubarray(venues), { nil: undefined }),
      fc.constantFrom('BTCUSDT', 'btc-usdt', 'ETH/BTC', 'eth_usdt', 'SOL.USDT', 'XRPUSDT', ':BTCUSDT'),
      (m, prefs, requested) => {
        const c = { market: m, venue_preference: prefs };
        const want = reference(requested.toUpperCase().replace(/[-/_.]/g, ''), m.instruments(), prefs ?? DEFAULT_VENUE_PREFERENCE);
        assert.deepEqual(resolveInstrument(requested, c), want);
        assert.deepEqual(resolveInstrument(requested, c), want, 'and again, from the cache');
      },
    ),
    { numRuns: 300 },
  );
});

test('the venue preference in the command orders the venues of a bare symbol', () => {
  given(normalizer)
    .when({ ...message({ ...base, instrument_id: 'BTCUSDT' }), venue_preference: ['KUCOIN', 'OKX'] })
    .then({ type: 'IntentAccepted', data: { intent: { venues: ['KUCOIN:BTC-USDT', 'OKX:BTC-USDT', 'BINANCE:BTCUSDT'], sized_on: 'KUCOIN:BTC-USDT' } } });
});

test('accepted intents keep their field order, optional fields included', () => {
  const e = accepted({
    ...base,
    size: { type: 'quantity', value: '0.5' },
    constraints: { limit_price: '60000', tif: 'GTC', max_slippage_bps: 3, stop_loss: '55000', expire_at: '2026-01-02T12:30:00+01:00' },
  });
  const all = [
    'intent_id',
    'ts',
    'account',
    'strategy',
    'labels',
    'env',
    'instrument_id',
    'venues',
    'sized_on',
    'base',
    'quote',
    'side',
    'size',
    'qty',
    'order_type',
    'limit_price',
    'tif',
    'max_slippage_bps',
    'stop_loss',
    'expire_at',
    'ref_price',
    'notional',
    'notional_usd',
  ];
  assert.deepEqual(Object.keys(e.data.intent), all);
  assert.equal(e.data.intent.expire_at, '2026-01-02T11:30:00.000000Z');
  const plain = accepted(base);
  const absent = new Set(['limit_price', 'stop_loss', 'expire_at']);
  assert.deepEqual(
    Object.keys(plain.data.intent),
    all.filter((k) => !absent.has(k)),
  );
});

test('event times are the canonical form of ts and expire_at, whatever form they arrive in', () => {
  const seconds = fc.integer({ min: 0, max: 253_402_300_799 }); // 1970 .. 9999; times after 2199 are refused
  const rfc3339 = fc.oneof(
    fc.tuple(seconds, fc.stringMatching(/^\d{6}$/)).map(([s, f]) => new Date(s * 1000).toISOString().replace('.000Z', `.${f}Z`)),
    fc
      .tuple(seconds, fc.stringMatching(/^(\.\d{1,9})?$/), fc.constantFrom('Z', 'z', '+00:00', '-05:30', '+14:00'))
      .map(([s, f, zone]) => new Date(s * 1000).toISOString().slice(0, 19) + f + zone),
    fc.constantFrom('2112-01-01T00:00:00.000000Z', '2200-06-30T12:00:00.999999Z', '9999-12-31T23:59:59.999999Z', '2026-01-02T24:00:00.000000Z', '2026-01-02T23:59:60.000000Z'),
  );
  fc.assert(
    fc.property(rfc3339, (ts) => {
      const us = parseRfc3339Micros(ts);
      // A ts the schema rejects has no event time of its own: the dead letter takes the arrival time.
      given(normalizer)
        .when(message({ ...base, ts, instrument_id: 'NOPE:BTCUSDT' }))
        .then({ type: 'DeadLetter', ts: us === undefined ? microsToIso(ARRIVED) : microsToIso(us) });
      if (us === undefined || us <= isoToMicros(base.ts)) return;
      const e = accepted({ ...base, size: { type: 'quantity', value: '0.1' }, constraints: { tif: 'IOC', expire_at: ts } });
      assert.equal(e.data.intent.expire_at, microsToIso(us), ts);
    }),
    { numRuns: 1000 },
  );
});

test('the same input always yields the same events', () => {
  // `when` itself decides twice on one state; here on two states folded apart.
  assert.deepEqual(given(normalizer).when(message(base)).events, given(normalizer).when(message(base)).events);
});

test('floorTo: power-of-ten steps round down exactly; other steps use the general path', async () => {
  const { floorTo, fmt } = await import('../../src/domain/decimal.js');
  const cases: [string, string, string][] = [
    ['1.23456', '0.001', '1.234'],
    ['0.00009', '0.0001', '0'],
    ['12345.6', '1', '12345'],
    ['7.9', '0.25', '7.75'],
    ['100', '0.00000001', '100'],
  ];
  for (const [x, step, want] of cases) assert.equal(fmt(floorTo(dec(x), dec(step))), want, `${x} floored to ${step}`);
});
