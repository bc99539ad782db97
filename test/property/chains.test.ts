// Properties of chains (src/chains/): a cascaded leg never spends more than the previous leg
// delivered after fees, and chains in flight together never overdraw what they hold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { dec, ZERO, type Dec } from '../../src/domain/decimal.js';
import type { Event, EventOf } from '../../src/domain/events.js';
import { chains, type ChainsState } from '../../src/chains/decide.js';
import { legOrder, paperFill, spent, type LegRules } from '../../src/chains/sizing.js';
import { approvedChain, chainCommand, legEnd, legFill, market, triangle, type Levels } from '../helpers/chains.js';
import { given } from '../helpers/decider.js';

const INCREMENTS = ['0', '0.00000001', '0.000001', '0.01', '1'];

const rulesArb = fc.record({
  side: fc.constantFrom('BUY' as const, 'SELL' as const),
  fee: fc.constantFrom('0', '0.0005', '0.001', '0.0025'),
  feeIn: fc.constantFrom('base', 'quote'),
  baseInc: fc.constantFrom(...INCREMENTS),
  quoteInc: fc.constantFrom(...INCREMENTS),
});
const levelsArb = fc.array(fc.tuple(fc.integer({ min: 1, max: 10_000_000 }), fc.integer({ min: 1, max: 10_000_000 })), { minLength: 1, maxLength: 6 }).map((ls) => {
  let p = 0;
  return ls.map(([step, q]) => ({ price: dec((p += step)).div(10_000), qty: dec(q).div(1000) }));
});

test('a leg never spends more than it was given, fee included, whatever it fills of its own order', () => {
  fc.assert(
    fc.property(rulesArb, levelsArb, fc.integer({ min: 1, max: 1_000_000_000 }), fc.integer({ min: 0, max: 100 }), (r, levels, amountUnits, fillPct) => {
      const rules: LegRules = {
        side: r.side,
        base: 'B',
        quote: 'Q',
        fee_rate: dec(r.fee),
        fee_currency: r.feeIn === 'base' ? 'B' : 'Q',
        base_increment: dec(r.baseInc),
        quote_increment: dec(r.quoteInc),
        base_min_size: ZERO,
        quote_min_size: ZERO,
      };
      const amount = dec(amountUnits).div(1000);
      const o = legOrder(rules, amount, levels);
      if (!o) return;
      assert.ok(o.qty.gte(0) && o.dust.gte(0), 'nothing negative');
      // The venue fills any part of the order at any price within its limit (a buy) or the book's (a sell).
      const filled = o.qty.times(fillPct).div(100).round(18, 0);
      const price = o.limit ?? levels[0].price;
      const notional = filled.times(price);
      const fee = rules.fee_currency === 'B' ? filled.times(rules.fee_rate) : notional.times(rules.fee_rate);
      const used = spent(rules, { filled, notional, fee, fee_ccy: rules.fee_currency });
      assert.ok(used.lte(amount), `${rules.side} spent ${used.toString()} of ${amount.toString()}`);
      // Paper fills from the same book are within it too.
      const paper = paperFill(rules, o, levels);
      assert.ok(spent(rules, paper).lte(amount), `paper: spent ${spent(rules, paper).toString()} of ${amount.toString()}`);
    }),
    { numRuns: 800 },
  );
});

/** One venue's ledger of free balances, charged as orders fill: no asset may go below zero. */
class Ledger {
  readonly free = new Map<string, Dec>();
  add(asset: string, x: Dec): void {
    const next = (this.free.get(asset) ?? ZERO).plus(x);
    assert.ok(next.gte(0), `${asset} overdrawn: ${next.toString()}`);
    this.free.set(asset, next);
  }
}

test('chains in flight together never overdraw: each spends only its own starting amount and what its own legs delivered', () => {
  // Two chains in flight at once on two venues (isolation holds within a venue): USDT → BTC → ETH → USDT
  // on BINANCE, USDT → BTC → USDT on OKX. The venues fill each leg partly or fully, at its limit or
  // better (buys) or worse than the book (sells), in any interleaving; each venue's ledger starts
  // with exactly its chain's starting amount, and no asset on it may go below zero.
  const onBinance = triangle('u', { starting_amount: '1000' });
  const onOkx = triangle('o', {
    venue: 'OKX',
    starting_amount: '500',
    legs: [
      { pair: 'BTC-USDT', side: 'buy', quote_increment: '0.01' },
      { pair: 'BTC-USDT', side: 'sell' },
    ],
    books: [
      { asks: [['60010', '5']], bids: [['60000', '5']] },
      { asks: [['60010', '5']], bids: [['60000', '5']] },
    ] as { asks: Levels; bids: Levels }[],
  });
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 30 })), { minLength: 1, maxLength: 30 }), (steps) => {
      const s: ChainsState = chains.initialState({ slots: 4, paused: false, fill_timeout_ms: 10_000, balance_wait_ms: 2_000 });
      const ledger = new Ledger();
      ledger.add('BINANCE:USDT', dec('1000'));
      ledger.add('OKX:USDT', dec('500'));
      const live = new Map<string, EventOf<'OrderRouted'>>();
      const take = (events: readonly Event[]) => {
        for (const e of events) {
          chains.evolveInPlace(s, e);
          if (e.type === 'OrderRouted') live.set(e.intent_id, e);
        }
      };
      take(chains.decide({ kind: 'request', event: approvedChain(onBinance), market, now_us: 1 }, s));
      take(chains.decide({ kind: 'request', event: approvedChain(onOkx), market, now_us: 1 }, s));
      assert.equal(s.inflight.size, 2, 'both in flight: different venues');
      for (const [which, pct, slip] of steps) {
        const orders = [...live.values()];
        const o = orders[which % orders.length];
        if (!o) break;
        live.delete(o.intent_id);
        const order = o.data.order;
        const spec = market.instrument(order.instrument_id)!;
        const qty = dec(order.qty).times(pct).div(100).round(8, 0);
        const worse = dec(1000 - slip).div(1000);
        const book = order.side === 'BUY' ? dec(order.limit_price!) : dec(order.ref_price);
        const price = book.times(worse);
        const events: Event[] = [];
        if (qty.gt(0)) {
          const notional = qty.times(price);
          const fee = notional.times('0.001');
          // The venue charges the fill: the spend first (it must be there), then what it delivers.
          if (order.side === 'BUY') {
            ledger.add(`${spec.venue}:${spec.quote}`, ZERO.minus(notional.plus(fee)));
            ledger.add(`${spec.venue}:${spec.base}`, qty);
          } else {
            ledger.add(`${spec.venue}:${spec.base}`, ZERO.minus(qty));
            ledger.add(`${spec.venue}:${spec.quote}`, notional.minus(fee));
          }
          events.push(legFill(o, qty.toString(), price.toString(), fee.toString(), spec.quote, qty.toString(), pct === 100));
        }
        if (pct !== 100 || !qty.gt(0)) events.push(legEnd(o, 'OrderCanceled'));
        for (const e of events) {
          chains.evolveInPlace(s, e);
          take(chains.decide({ kind: 'order', event: e as EventOf<'OrderFilled'>, market, now_us: 2 }, s));
        }
      }
    }),
    { numRuns: 400 },
  );
});

test('the chain decider: its in-place fold equals the evolve fold over any run, and decide and evolve change no input', () => {
  // The checks are given()'s and when()'s (test/helpers/decider.ts): at every step the two folds
  // agree, evolve leaves its input as it was, decide is deterministic and leaves the state as it was.
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 100 }), fc.boolean()), { minLength: 1, maxLength: 6 }), fc.boolean(), (fills, unwind) => {
      const request = approvedChain(triangle('ip', { on_failure: unwind ? 'unwind' : 'keep' }));
      const history: Event[] = [chainCommand('slots', { slots: 3 })];
      history.push(...given(chains, ...history).when({ kind: 'request', event: request, market, now_us: 1 }).events);
      for (const [pct, partial] of fills) {
        const o = [...history].reverse().find((e): e is EventOf<'OrderRouted'> => e.type === 'OrderRouted');
        if (!o || !given(chains, ...history).state.byOrder.has(o.data.order.client_order_id)) break;
        // The venue's answer: a fill (partial, then the IOC rest canceled) or nothing at all.
        const qty = dec(o.data.order.qty).times(pct).div(100).round(8, 0);
        const full = qty.eq(dec(o.data.order.qty)) && !partial;
        const answer: Event[] = qty.gt(0) ? [legFill(o, qty.toString(), o.data.order.limit_price ?? '3010', '0.1', 'USDT', qty.toString(), full)] : [];
        if (!full) answer.push(legEnd(o, qty.gt(0) ? 'OrderCanceled' : 'OrderExpired'));
        for (const e of answer) {
          history.push(e);
          history.push(...given(chains, ...history).when({ kind: 'order', event: e as EventOf<'OrderFilled'>, market, now_us: 2 }).events);
        }
      }
    }),
    { numRuns: 60 },
  );
});
