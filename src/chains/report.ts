// A chain's report (ChainCompleted): its outcome, per-leg fills, the books it was sized on, and
// the timings of each step from its receipt. Pure.
import { fmt, ZERO, type Dec } from '../domain/decimal.js';
import { makeEvent, type EventSeed } from '../domain/envelope.js';
import type { EventOf, NormalizedChain } from '../domain/events.js';
import { isoToMicros } from '../domain/time.js';
import { inputOf, outputOf, profitOf, spent } from './sizing.js';
import type { ChainRun } from './state.js';

const seedOf = (c: NormalizedChain, causation: string): EventSeed => ({ intent_id: c.chain_id, account: c.account, strategy: c.strategy, ts: c.ts, causation });

const ms = (us: number): number => Math.round(us) / 1000;

export function report(
  run: ChainRun,
  status: 'FILLED' | 'FAILED' | 'ABORTED',
  error: string | undefined,
  held: { asset: string; amount: Dec } | undefined,
  unwound: { asset: string; sold: string; delivered: string } | undefined,
  now: number,
  causation: string,
): EventOf<'ChainCompleted'> {
  const c = run.chain;
  const legs = run.legs.filter((l, i) => i < c.legs.length && l.done);
  const first = legs[0];
  const firstSpent = first ? spent(run.rules[0], { filled: first.filled, notional: first.notional, fee: first.fee, fee_ccy: first.fee_ccy ?? run.rules[0].quote }) : ZERO;
  const timings: { step: string; ms: number }[] = [];
  const t0 = run.started_us;
  timings.push({ step: 'signal_to_receive', ms: ms(t0 - isoToMicros(c.ts)) });
  for (const [k, at] of Object.entries(c.signal_times ?? {})) timings.push({ step: k, ms: ms(isoToMicros(at) - t0) });
  if (run.legs[0]) timings.push({ step: 'receive_to_first_order', ms: ms(run.legs[0].fired_us - t0) });
  run.legs.forEach((l, i) => {
    timings.push({ step: `leg${i}_order_fired`, ms: ms(l.fired_us - t0) });
    if (l.done) timings.push({ step: `leg${i}_fill_received`, ms: ms(l.done.at_us - t0) });
    const next = run.legs[i + 1];
    if (next) timings.push({ step: `leg${i}_to_leg${i + 1}`, ms: ms(next.fired_us - l.fired_us) });
  });
  timings.push({ step: 'execution_complete', ms: ms(now - t0) });
  const data: EventOf<'ChainCompleted'>['data'] = {
    status,
    triangle: c.triangle,
    predicted_bps: c.predicted_bps,
    spent: fmt(firstSpent),
    legs: legs.map((l, i) => ({
      leg: i,
      pair: c.legs[i].pair,
      side: run.rules[i].side,
      input_ccy: inputOf(run.rules[i]),
      output_ccy: outputOf(run.rules[i]),
      filled_qty: fmt(l.filled),
      avg_price: l.filled.gt(0) ? fmt(l.notional.div(l.filled)) : '0',
      fee: fmt(l.fee),
      fee_ccy: l.fee_ccy ?? run.rules[i].quote,
      delivered: fmt(l.done!.delivered),
      dust: fmt(l.order.dust),
      latency_ms: ms(l.done!.at_us - l.fired_us),
    })),
    books: c.books.map((b, i) => ({
      leg: i,
      ts: b.ts,
      ...(b.bids[0] ? { best_bid: b.bids[0][0] } : {}),
      ...(b.asks[0] ? { best_ask: b.asks[0][0] } : {}),
    })),
    timings,
  };
  if (error !== undefined) data.error = error;
  if (status === 'FILLED') {
    const last = run.legs[c.legs.length - 1];
    const p = profitOf(firstSpent, last.done!.delivered);
    data.profit = fmt(p.profit);
    data.effective_bps = fmt(p.bps);
  }
  if (held) data.held = { asset: held.asset, amount: fmt(held.amount) };
  if (unwound) data.unwound = unwound;
  return makeEvent('ChainCompleted', `${c.chain_id}/chain/report`, seedOf(c, causation), data);
}
