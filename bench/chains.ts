// Chains per second end to end on the embedded log, on the simulator, with the default stages
// (normalizer, risk, router, gateway) and settings: three-leg chains (USDT → BTC → ETH → USDT) on
// as many venues at once as the default slots allow, each venue's next signal sent when its last
// chain ended (isolation allows one chain per venue's triangle at a time); chains_per_sec counts
// chains FILLED. The leg→leg times are those the chain reports record. Beside it: eight venues with
// eight slots, and one venue alone (a chain's latency with nothing else running).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPipeline } from '../src/assembly/run.js';
import { DEFAULT_CHAIN_SETTINGS } from '../src/chains/decide.js';
import { fmt } from '../src/domain/decimal.js';
import { ALL_TOPICS, TOPICS, type EventOf } from '../src/domain/events.js';
import { isoToMicros, microsToIso } from '../src/domain/time.js';
import { BUILTIN_INSTRUMENTS } from '../src/market/instruments.js';
import { createSyntheticMarket } from '../src/market/synthetic.js';
import type { InstrumentSpec, MarketData } from '../src/market/types.js';
import { fromRecord, typeOf } from '../src/runtime/codec.js';

const CHAINS = Number(process.env.BENCH_CHAINS ?? 20_000);
const BOOK_LEVELS = Number(process.env.BENCH_CHAIN_BOOK_LEVELS ?? 1);
const T0 = isoToMicros('2026-03-01T12:00:00Z');

/** `venues` copies of BINANCE's BTCUSDT, ETHBTC and ETHUSDT, as venues V0, V1, … */
function triangleMarket(venues: number): MarketData {
  const base = BUILTIN_INSTRUMENTS.filter((s) => s.venue === 'BINANCE' && ['BTCUSDT', 'ETHBTC', 'ETHUSDT'].includes(s.symbol));
  const instruments: InstrumentSpec[] = [];
  for (let v = 0; v < venues; v++) for (const s of base) instruments.push({ ...s, venue: `V${v}`, instrument_id: `V${v}:${s.symbol}` });
  return createSyntheticMarket({ seed: 9, instruments });
}

/** The n-th chain on venue v: its books are the market's at its time, top of book (as the seeds' signals carry them). */
function chainLine(market: MarketData, v: number, n: number): string {
  const tsUs = T0 + n * 1000;
  const ts = microsToIso(tsUs);
  const book = (symbol: string) => {
    const b = market.bookAt(`V${v}:${symbol}`, tsUs)!;
    const levels = (ls: typeof b.asks) => ls.slice(0, BOOK_LEVELS).map((l) => [fmt(l.price), fmt(l.qty)]);
    return { ts, asks: levels(b.asks), bids: levels(b.bids) };
  };
  return JSON.stringify({
    kind: 'chain',
    intent_id: `ch-${v}-${n}`,
    ts,
    account: `arb-${v}`,
    venue: `V${v}`,
    primary_quote: 'USDT',
    starting_amount: '1000',
    predicted_bps: '2',
    legs: [
      { pair: 'BTCUSDT', side: 'buy', quote_increment: '0.01' },
      { pair: 'ETHBTC', side: 'buy', quote_increment: '0.000001' },
      { pair: 'ETHUSDT', side: 'sell' },
    ],
    books: [book('BTCUSDT'), book('ETHBTC'), book('ETHUSDT')],
    book_ts: ts,
    labels: { strategy: 'tri' },
  });
}

async function run(
  venues: number,
  count: number,
  slots?: number,
): Promise<{ seconds: number; filled: number; other: Record<string, number>; legToLeg: number[]; chainMs: number[]; events: number }> {
  const work = mkdtempSync(join(tmpdir(), 'fillstream-bench-chains-'));
  const market = triangleMarket(venues);
  const p = await startPipeline({ dataDir: work, market, fsync: 'always', ...(slots !== undefined ? { chains: { ...DEFAULT_CHAIN_SETTINGS, slots } } : {}) });
  try {
    let sent = 0;
    const next = new Array<number>(venues).fill(0);
    // The venues whose chain ended since the last look get their next signal, in one append (as an upstream producer batches).
    const send = async (vs: number[]) => {
      const records = [];
      for (const v of vs) {
        if (sent >= count) break;
        sent++;
        records.push({ topic: TOPICS.intents, key: `arb-${v}`, value: Buffer.from(chainLine(market, v, next[v]++)) });
      }
      if (records.length > 0) await p.log.append(records);
    };
    const t0 = performance.now();
    await send(Array.from({ length: venues }, (_, v) => v));
    let at = 0;
    let ended = 0;
    let filled = 0;
    const other: Record<string, number> = {};
    const legToLeg: number[] = [];
    const chainMs: number[] = [];
    // Each chain's end (its report, or a refusal) sends that venue's next signal.
    while (ended < count) {
      const end = await p.log.endOffset(TOPICS.gateway, 0);
      if (end === at) {
        await new Promise((r) => setImmediate(r));
        continue;
      }
      const free: number[] = [];
      for (const r of await p.log.read(TOPICS.gateway, 0, at, end - at)) {
        const type = typeOf(r);
        if (type !== 'ChainCompleted' && type !== 'ChainRefused') continue;
        const e = fromRecord(r);
        if (e.type === 'ChainCompleted') {
          const d = e.data;
          if (d.status === 'FILLED') filled++;
          else other[d.status] = (other[d.status] ?? 0) + 1;
          for (const t of d.timings) {
            if (/^leg\d+_to_leg\d+$/.test(t.step)) legToLeg.push(t.ms);
            if (t.step === 'execution_complete') chainMs.push(t.ms);
          }
        } else other[`refused_${(e as EventOf<'ChainRefused'>).data.code}`] = (other[`refused_${(e as EventOf<'ChainRefused'>).data.code}`] ?? 0) + 1;
        ended++;
        free.push(Number(e.intent_id.split('-')[1]));
      }
      at = end;
      await send(free);
    }
    const seconds = (performance.now() - t0) / 1000;
    let events = 0;
    for (const t of ALL_TOPICS) events += await p.log.endOffset(t, 0);
    return { seconds, filled, other, legToLeg, chainMs, events };
  } finally {
    await p.close();
    rmSync(work, { recursive: true, force: true });
  }
}

export async function chainsBench(emit: (o: Record<string, unknown>) => void): Promise<void> {
  // As many venues at once as the default slots let run (4); eight with eight slots beside it.
  const venues = DEFAULT_CHAIN_SETTINGS.slots;
  await run(venues, Math.min(2000, CHAINS)); // warm-up
  const r = await run(venues, CHAINS);
  const wide = await run(8, CHAINS, 8);
  const alone = await run(1, Math.min(3000, CHAINS));
  const p = (xs: number[], q: number) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return +sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))].toFixed(3);
  };
  emit({
    bench: 'chains',
    chains: CHAINS,
    legs: 3,
    venues_at_once: venues,
    seconds: +r.seconds.toFixed(3),
    chains_per_sec: Math.round(r.filled / r.seconds),
    filled: r.filled,
    not_filled: r.other,
    chain_leg_to_leg_p50_ms: p(r.legToLeg, 0.5),
    chain_leg_to_leg_p99_ms: p(r.legToLeg, 0.99),
    chain_p99_ms: p(r.chainMs, 0.99),
    // What bounds the rate: every chain is this many records on the log, each written and fsynced like any event.
    events_per_chain: +(r.events / CHAINS).toFixed(1),
    events_per_sec: Math.round(r.events / r.seconds),
    signal_book_levels: BOOK_LEVELS,
    eight_venues_8_slots_chains_per_sec: Math.round(wide.filled / wide.seconds),
    eight_venues_leg_to_leg_p99_ms: p(wide.legToLeg, 0.99),
    one_venue_chains_per_sec: Math.round(alone.filled / alone.seconds),
    one_venue_leg_to_leg_p50_ms: p(alone.legToLeg, 0.5),
    one_venue_leg_to_leg_p99_ms: p(alone.legToLeg, 0.99),
    fsync: 'always',
  });
}
