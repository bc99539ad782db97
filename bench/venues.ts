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

async function startEmulator(venue: VenueName): Promise<{ child: ChildProcess; url: string; wsUrl: string }> {
  const cli = join(import.meta.dirname, '../src/cli/main.js');
  const child = spawn(
    process.execPath,
    [cli, 'emulate', venue.toLowerCase(), '--port', '0', '--api-key', KEY.api_key, '--api-secret', KEY.api_secret, '--passphrase', KEY.passphrase, '--unlimited'],
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

async function placeAll(adapter: VenueAdapter, orders: Order[], inFlight: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < orders.length) {
      const o = orders[next++];
      const a = await adapter.place(o, new Date().toISOString());
      if (a.kind !== 'answered' || !a.reports.some((r) => r.kind === 'ACK')) throw new Error(`order not acked: ${JSON.stringify(a)}`);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
}

export async function venueBench(venue: VenueName, emit: (o: Record<string, unknown>) => void): Promise<void> {
  const em = await startEmulator(venue);
  const adapter = VENUE_FACTORIES[venue]({ env: 'staging', rest_url: em.url, ws_url: em.wsUrl, ...KEY });
  try {
    await adapter.start();
    let pushed = 0;
    adapter.subscribe((ms) => (pushed += ms.length));
    const name = venue.toLowerCase();
    // Warm-up, then the throughput run.
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
    const lat = Array.from({ length: LATENCY_ORDERS }, (_, i) => order(venue, i, 'lat'));
    const start = performance.now();
    await Promise.all(
      lat.map(async (o, i) => {
        const due = start + (i * 1000) / RATE;
        await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
        const t = performance.now();
        const a = await adapter.place(o, new Date().toISOString());
        if (a.kind !== 'answered') throw new Error(`order not answered: ${JSON.stringify(a)}`);
        samples.push(performance.now() - t);
      }),
    );
    emit({
      bench: `venue_${name}`,
      [`venue_${name}_orders_per_sec`]: Math.round(ORDERS / seconds),
      [`venue_${name}_cpu_us_per_order`]: Math.round((cpu.user + cpu.system) / ORDERS),
      ...latencyFigures(samples, `venue_${name}_ack_`),
      in_flight: IN_FLIGHT,
      latency_rate_per_sec: RATE,
      orders: ORDERS,
      stream_reports: pushed,
    });
  } finally {
    await adapter.close();
    em.child.kill('SIGTERM');
  }
}
