// Per venue: orders/s through the gateway's venue adapter against the venue's emulator on loopback
// (keep-alive HTTP, the user-data stream connected), submit→ack latency at a steady 500 orders/s,
// and the adapter's CPU per order. The emulator runs in its own process (`fillstream emulate`), so
// the CPU measured here is the gateway side's alone.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { VENUE_FACTORIES, type VenueName } from '../src/assembly/venue-factories.js';
import type { Order } from '../src/domain/events.js';
import { clientOrderId } from '../src/domain/ids.js';
import type { VenueAdapter } from '../src/venues/types.js';
import { latencyFigures } from './stats.js';

const ORDERS = Number(process.env.BENCH_VENUE_ORDERS ?? 5_000);
const IN_FLIGHT = Number(process.env.BENCH_VENUE_IN_FLIGHT ?? 64);
const RATE = Number(process.env.BENCH_VENUE_RATE ?? 500);
const LATENCY_ORDERS = Number(process.env.BENCH_VENUE_LATENCY_ORDERS ?? 3_000);
const WARMUP = 500;

const SYMBOLS: Record<VenueName, string> = { BINANCE: 'BTCUSDT', OKX: 'BTC-USDT', KUCOIN: 'BTC-USDT' };
const KEY = { api_key: 'bench-key', api_secret: 'bench-secret', passphrase: 'bench-pass' };

/**
 * The emulator in its own process. `limits` multiplies the venue's published rate limits (an
 * account tier above the base one; 1 = the base tier every account gets).
 */
async function startEmulator(venue: VenueName, limits: number): Promise<{ child: ChildProcess; url: string; wsUrl: string }> {
  const cli = join(import.meta.dirname, '../src/cli/main.js');
  const child = spawn(
    process.execPath,
    [
      cli,
      'emulate',
      venue.toLowerCase(),
      '--port',
      '0',
      '--api-key',
      KEY.api_key,
      '--api-secret',
      KEY.api_secret,
      '--passphrase',
      KEY.passphrase,
      '--limits-multiplier',
      String(limits),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const first = await new Promise<string>((res, rej) => {
    const rl = createInterface({ input: child.stdout });
    rl.once('line', res);
    child.once('exit', (c) => rej(new Error(`the ${venue} emulator exited ${c}`)));
  });
  const info = JSON.parse(first) as { url: string; ws_url: string };
  return { child, url: info.url, wsUrl: info.ws_url };
}

/** A resting limit order far from the market: acked, never filled (the venue's book stays light). */
function order(venue: VenueName, i: number, run: string): Order {
  const symbol = SYMBOLS[venue];
  return {
    client_order_id: clientOrderId(`${run}-${i}`),
    intent_id: `${run}-${i}`,
    leg: 0,
    attempt: 0,
    account: 'bench',
    strategy: 'bench',
    env: 'staging',
    instrument_id: `${venue}:${symbol}`,
    venue,
    symbol,
    side: 'BUY',
    order_type: 'LIMIT',
    qty: '0.001',
    limit_price: '30000',
    tif: 'GTC',
    ref_price: '65000',
  };
}

/** Places orders with `inFlight` at a time until `count` are placed or `untilMs` passes; how many were acked. */
async function placeAll(
  adapter: VenueAdapter,
  orders: Order[] | ((i: number) => Order),
  inFlight: number,
  untilMs = Infinity,
  count = Array.isArray(orders) ? orders.length : Infinity,
): Promise<number> {
  let next = 0;
  let acked = 0;
  const worker = async () => {
    while (next < count && performance.now() < untilMs) {
      const i = next++;
      const o = Array.isArray(orders) ? orders[i] : orders(i);
      const a = await adapter.place(o, new Date().toISOString());
      if (a.kind !== 'answered' || !a.reports.some((r) => r.kind === 'ACK')) throw new Error(`order not acked: ${JSON.stringify(a)}`);
      acked++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return acked;
}

/** The gateway's adapter against the venue's emulator, whose limits are `limits` times the base tier's. */
async function withVenue<T>(venue: VenueName, limits: number, run: (adapter: VenueAdapter) => Promise<T>): Promise<T> {
  const em = await startEmulator(venue, limits);
  const adapter = VENUE_FACTORIES[venue]({ env: 'staging', rest_url: em.url, ws_url: em.wsUrl, ...KEY, rate_limit_multiplier: limits });
  try {
    await adapter.start();
    return await run(adapter);
  } finally {
    await adapter.close();
    em.child.kill('SIGTERM');
  }
}

/** Orders per second each venue's base tier allows one account on one symbol (their published limits). */
const BASE_TIER_ORDERS_PER_SEC: Record<VenueName, number> = {
  BINANCE: 100 / 10, // ORDERS 100 per 10 s (exchangeInfo rateLimits)
  OKX: 60 / 2, // POST /api/v5/trade/order: 60 requests per 2 s per instrument
  KUCOIN: 4000 / 30, // the private pool: 4000 per 30 s, one per placement
};

/** Faster than the venues allow any account: what the gateway itself can carry. */
const LIFTED = 1000;

export async function venueBench(venue: VenueName, emit: (o: Record<string, unknown>) => void): Promise<void> {
  const name = venue.toLowerCase();
  // What a user gets by default: the venue's base-tier limits, which the gateway stays under.
  const limitedSeconds = Number(process.env.BENCH_VENUE_LIMITED_SECONDS ?? 15);
  const limited = await withVenue(venue, 1, async (adapter) => {
    const t0 = performance.now();
    const n = await placeAll(adapter, (i) => order(venue, i, 'base'), IN_FLIGHT, t0 + limitedSeconds * 1000);
    return n / ((performance.now() - t0) / 1000);
  });
  // The gateway's own capacity, with the limits lifted.
  const lifted = await withVenue(venue, LIFTED, async (adapter) => {
    let pushed = 0;
    adapter.subscribe((ms) => (pushed += ms.length));
    await placeAll(
      adapter,
      Array.from({ length: WARMUP }, (_, i) => order(venue, i, 'warm')),
      IN_FLIGHT,
    );
    const orders = Array.from({ length: ORDERS }, (_, i) => order(venue, i, 'tp'));
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await placeAll(adapter, orders, IN_FLIGHT);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    // Latency at a steady rate, one order every 1/RATE s.
    const samples: number[] = [];
    const start = performance.now();
    await Promise.all(
      Array.from({ length: LATENCY_ORDERS }, (_, i) => order(venue, i, 'lat')).map(async (o, i) => {
        const due = start + (i * 1000) / RATE;
        await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
        const t = performance.now();
        const a = await adapter.place(o, new Date().toISOString());
        if (a.kind !== 'answered') throw new Error(`order not answered: ${JSON.stringify(a)}`);
        samples.push(performance.now() - t);
      }),
    );
    return { perSec: ORDERS / seconds, cpuUs: (cpu.user + cpu.system) / ORDERS, samples, pushed };
  });
  emit({
    bench: `venue_${name}`,
    [`venue_${name}_orders_per_sec`]: Math.round(limited),
    [`venue_${name}_base_tier_limit_orders_per_sec`]: Math.round(BASE_TIER_ORDERS_PER_SEC[venue]),
    [`venue_${name}_orders_per_sec_limits_lifted`]: Math.round(lifted.perSec),
    [`venue_${name}_cpu_us_per_order`]: Math.round(lifted.cpuUs),
    ...latencyFigures(lifted.samples, `venue_${name}_ack_`),
    in_flight: IN_FLIGHT,
    latency_rate_per_sec: RATE,
    latency_note: 'at a rate above the base tier: measured with the limits lifted',
    orders: ORDERS,
    stream_reports: lifted.pushed,
  });
}
