// Building blocks for the chain tests: a triangle on the built-in BINANCE listings
// (USDT → BTC → ETH → USDT), chain messages through the normalizer and risk, and a venue's
// answers to a leg's order.
import assert from 'node:assert/strict';
import { makeEvent } from '../../src/domain/envelope.js';
import type { Event, EventOf } from '../../src/domain/events.js';
import { BUILTIN_INSTRUMENTS } from '../../src/market/instruments.js';
import type { MarketData } from '../../src/market/types.js';
import { normalizer } from '../../src/normalizer/decide.js';
import { risk } from '../../src/risk/decide.js';
import { dec } from '../../src/domain/decimal.js';

export const T0 = '2026-03-01T12:00:00Z';

/** The listings only: chains price on their own books. */
export const market: MarketData = {
  instruments: () => BUILTIN_INSTRUMENTS,
  instrument: (id) => BUILTIN_INSTRUMENTS.find((s) => s.instrument_id === id),
  bookAt: () => undefined,
};

export type Levels = [string, string][];

/** USDT → BTC → ETH → USDT on BINANCE: buy BTCUSDT, buy ETHBTC, sell ETHUSDT. */
export function triangle(id: string, o: Record<string, unknown> = {}, books?: { asks: Levels; bids: Levels }[]): Record<string, unknown> {
  return {
    kind: 'chain',
    intent_id: id,
    ts: T0,
    account: 'arb',
    venue: 'BINANCE',
    mode: 'live',
    primary_quote: 'USDT',
    starting_amount: '1000',
    predicted_bps: '1.5',
    legs: [
      { pair: 'BTCUSDT', side: 'buy', quote_increment: '0.01' },
      { pair: 'ETHBTC', side: 'buy', quote_increment: '0.000001' },
      { pair: 'ETHUSDT', side: 'sell' },
    ],
    books: books ?? [
      {
        asks: [['60000', '1']],
        bids: [['59990', '1']],
      },
      {
        asks: [['0.05', '10']],
        bids: [['0.0499', '10']],
      },
      {
        asks: [['3011', '10']],
        bids: [['3010', '10']],
      },
    ],
    book_ts: T0,
    labels: { strategy: 'tri' },
    ...o,
  };
}

/** A chain message through the normalizer and risk (nothing halted): its approval. */
export function approvedChain(raw: Record<string, unknown>): EventOf<'ChainApproved'> {
  const [req] = normalizer.decide(
    { raw: Buffer.from(JSON.stringify(raw)), source: { topic: 'exec.intents', partition: 0, offset: 0 }, arrived_us: 0, market },
    normalizer.initialState(),
  );
  assert.ok(req.type === 'ChainRequested', `the normalizer refused the chain: ${JSON.stringify(req.data)}`);
  const [verdict] = risk.decide({ kind: 'chain', request: req }, risk.initialState());
  assert.ok(verdict.type === 'ChainApproved', JSON.stringify(verdict.data));
  return verdict;
}

const seed = (o: EventOf<'OrderRouted'>) => ({ intent_id: o.intent_id, account: o.account, strategy: o.strategy, ts: o.ts, causation: o.event_id });

/** A fill of a leg's order: `qty` at `price`, the fee in `fee_ccy`; FILLED when `last`. */
export function legFill(o: EventOf<'OrderRouted'>, qty: string, price: string, fee: string, feeCcy: string, cum: string, last: boolean, n = 1): EventOf<'OrderFilled'> {
  const order = o.data.order;
  return makeEvent('OrderFilled', `${order.client_order_id}/fill/${n}`, seed(o), {
    client_order_id: order.client_order_id,
    fill: {
      fingerprint: `${order.client_order_id}-${n}`,
      venue: order.venue,
      venue_order_id: 'v1',
      trade_id: String(n),
      qty,
      price,
      fee,
      fee_ccy: feeCcy,
      liquidity: 'TAKER',
      ts: o.ts,
    },
    cum_qty: cum,
    avg_price: price,
    status: last ? 'FILLED' : 'PARTIALLY_FILLED',
  });
}

/** The leg's order ended without (more) fills. */
export function legEnd(o: EventOf<'OrderRouted'>, type: 'OrderCanceled' | 'OrderExpired' | 'OrderRejected'): Event {
  const coid = o.data.order.client_order_id;
  if (type === 'OrderRejected') return makeEvent('OrderRejected', `${coid}/rejected`, seed(o), { client_order_id: coid, code: '-2010', reason: 'insufficient balance' });
  return makeEvent(type, `${coid}/end`, seed(o), { client_order_id: coid, reason: 'IOC remainder' });
}

/** An operator's chain command. */
export function chainCommand(command: 'pause' | 'resume' | 'slots' | 'cancel', o: { slots?: number; chain_id?: string } = {}): EventOf<'ChainCommand'> {
  return makeEvent(
    'ChainCommand',
    `chain-cmd/${command}/${o.chain_id ?? o.slots ?? ''}`,
    { intent_id: '', account: '', strategy: '', ts: T0, causation: 'operator:test' },
    {
      command,
      ...o,
      operator: 'test',
      reason: 'test',
    },
  );
}

export const D = dec;
