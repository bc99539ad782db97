// Deterministic intent generator for the bundled sample, tests and benchmarks.
// Mixes every order shape and, on request, the kinds of bad input the normalizer must dead-letter.
import { microsToIso, parseRfc3339Micros } from '../domain/time.js';

export interface GenerateOptions {
  count: number;
  seed?: number;
  /** Share of lines that are bad input (malformed JSON, schema violations, unknown instruments...). */
  badRatio?: number;
  /** Share of lines that repeat an earlier intent_id. */
  duplicateRatio?: number;
  start?: string;
  /** Event-time step between intents. */
  stepMs?: number;
  accounts?: number;
  idPrefix?: string;
}

const INSTRUMENTS = [
  'BINANCE:BTCUSDT',
  'BINANCE:ETHUSDT',
  'BINANCE:ETHBTC',
  'BINANCE:SOLUSDT',
  'OKX:BTC-USDT',
  'OKX:ETH-USDT',
  'KUCOIN:BTC-USDT',
  'KUCOIN:ETH-USDT',
  'BTCUSDT',
  'ETH-USDT',
];
const APPROX_PRICE: Record<string, number> = { BTC: 65000, ETH: 3000, SOL: 150 };

/** Small deterministic PRNG (mulberry32): reproducible samples without Math.random. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function* generateIntents(o: GenerateOptions): Generator<string> {
  const rand = rng(o.seed ?? 42);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const startUs = parseRfc3339Micros(o.start ?? '2026-01-02T10:00:00Z')!;
  const stepUs = (o.stepMs ?? 50) * 1000;
  const prefix = o.idPrefix ?? 'i';
  const emitted: string[] = [];
  for (let n = 0; n < o.count; n++) {
    const ts = microsToIso(startUs + n * stepUs);
    const r = rand();
    if (r < (o.badRatio ?? 0)) {
      yield badLine(n, ts, pick, rand);
      continue;
    }
    if (r < (o.badRatio ?? 0) + (o.duplicateRatio ?? 0) && emitted.length > 0) {
      yield emitted[Math.floor(rand() * emitted.length)];
      continue;
    }
    const instrument = pick(INSTRUMENTS);
    const base = instrument.includes('SOL') ? 'SOL' : instrument.includes('ETH') ? 'ETH' : 'BTC';
    const side = rand() < 0.5 ? 'BUY' : 'SELL';
    const isEthBtc = instrument.endsWith('ETHBTC');
    const byNotional = rand() < 0.6;
    const size = byNotional
      ? { type: 'notional', value: isEthBtc ? (0.01 + rand() * 0.5).toFixed(4) : String(Math.round(50 + rand() * 20000)) }
      : { type: 'quantity', value: quantity(base, rand) };
    const shape = rand();
    const constraints: Record<string, unknown> = {};
    if (shape < 0.45) {
      constraints.tif = 'IOC';
      if (rand() < 0.5) constraints.max_slippage_bps = Math.round(2 + rand() * 30);
    } else if (shape < 0.55) {
      constraints.tif = 'FOK';
    } else if (!instrument.includes(':') || isEthBtc) {
      constraints.tif = 'IOC';
    } else {
      // LIMIT orders priced around the market: some cross and fill, some rest.
      const px = APPROX_PRICE[base] * (0.97 + rand() * 0.06);
      constraints.order_type = 'LIMIT';
      constraints.limit_price = px.toFixed(instrument.includes('BTC') && !instrument.startsWith('BINANCE') ? 1 : 2);
      constraints.tif = pick(['GTC', 'IOC', 'FOK']);
    }
    const intent = {
      intent_id: `${prefix}${n}`,
      ts,
      account: `acct-${Math.floor(rand() * (o.accounts ?? 4))}`,
      instrument_id: instrument,
      side,
      size,
      constraints,
      labels: { strategy: pick(['xs_v1', 'mm_v2', 'trend_v3']), run: 'sample' },
      env: 'sim',
    };
    const line = JSON.stringify(intent);
    emitted.push(line);
    yield line;
  }
}

function quantity(base: string, rand: () => number): string {
  if (base === 'BTC') return (0.001 + rand() * 0.2).toFixed(5);
  if (base === 'ETH') return (0.01 + rand() * 3).toFixed(4);
  return (0.1 + rand() * 50).toFixed(3);
}

function badLine(n: number, ts: string, pick: <T>(xs: readonly T[]) => T, rand: () => number): string {
  const ok = { intent_id: `bad${n}`, ts, instrument_id: 'BINANCE:BTCUSDT', side: 'BUY', size: { type: 'notional', value: '100' }, env: 'sim' };
  const kind = pick(['json', 'schema', 'instrument', 'size', 'side', 'id', 'absurd', 'ts'] as const);
  switch (kind) {
    case 'json':
      return `{"intent_id":"bad${n}","ts":"${ts}",`;
    case 'schema':
      return JSON.stringify({ ...ok, size: undefined });
    case 'instrument':
      return JSON.stringify({ ...ok, instrument_id: 'NOPE:DOGEUSD' });
    case 'size':
      return JSON.stringify({ ...ok, size: { type: 'quantity', value: rand() < 0.5 ? '0' : '-3' } });
    case 'side':
      return JSON.stringify({ ...ok, side: 'HOLD' });
    case 'id':
      return JSON.stringify({ ...ok, intent_id: 'x'.repeat(300) });
    case 'absurd':
      return JSON.stringify({ ...ok, size: { type: 'notional', value: rand() < 0.5 ? '5000000000000' : '1e30' } });
    case 'ts':
      return JSON.stringify({ ...ok, ts: 'yesterday' });
  }
}
