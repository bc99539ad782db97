// What every venue emulator shares beside its wire protocol: the fault switches a test (or a user
// rehearsing failures) turns on, and the admin endpoint under /__emulator/ that turns them on,
// fills resting orders as a counterparty, counts placement requests, and shows or sets the account's balances.
//   GET  /__emulator/stats              {placement_requests:{coid:n}, placements:{coid:n}, order_tests:{coid:n}, open:n, orders:n}
//   GET  /__emulator/balances           {asset:{free, locked}}: the account as the matching engine knows it (no lag)
//   POST /__emulator/balances           {asset: "amount", ...}: sets those assets' free balances
//   GET  /__emulator/faults             the switches in force
//   POST /__emulator/faults             {latency_ms?, http_5xx?, ...}: merged into the switches
//   POST /__emulator/fill               {client_order_id, qty?}: a counterparty trades against a resting order
//   POST /__emulator/ws-drop            drops every user-data WebSocket now
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MarketData } from '../../market/types.js';
import { fmt } from '../../domain/decimal.js';
import { Refusal, type EmulatedExchange, type EmulatedTrade, type Holding } from './exchange.js';

/** What every venue's emulator is started with; each venue adds its own knobs. */
export interface EmulatorBaseOptions {
  /** 0 (default): a free port. */
  port?: number;
  host?: string;
  apiKey: string;
  apiSecret: string;
  passphrase?: string;
  market: MarketData;
  faults?: Partial<FaultSwitches>;
  /** Announce and apply the venue's rate limits times this (an account tier above the base one; default 1); OKX announces none. */
  limitsMultiplier?: number;
  /**
   * The account's free balances at start, by asset (decimal strings): exactly these, every other
   * asset 0. Default: each quote asset of the venue's instruments 10,000,000, each base 100,000.
   */
  balances?: Record<string, string>;
}

/** Listens where the options say (default 127.0.0.1, a free port); the base http URL and the host:port. */
export async function listenEmulator(server: Server, o: { port?: number; host?: string }): Promise<{ url: string; hostPort: string }> {
  const bind = o.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, bind, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const hostPort = `${bind.includes(':') ? `[${bind}]` : bind}:${port}`;
  return { url: `http://${hostPort}`, hostPort };
}

export interface FaultSwitches {
  /** Added to every REST reply, ms. */
  latency_ms: number;
  /** The next N order-placing requests get a 503 without being acted on. */
  http_5xx: number;
  /** The next N placements are accepted (the order exists) but the reply never comes: the connection hangs, then is destroyed. */
  timeout_after_accept: number;
  /** User-data pushes of trades are sent twice. */
  duplicate_fills: boolean;
  /** User-data pushes are held this long, ms, and released in reverse order within each window. */
  late_reports_ms: number;
  /** Added to the venue's clock, ms (its server time and its timestamp check). */
  clock_skew_ms: number;
  /** User-data pushes are dropped (the stream stays up): only queries can find what happened. */
  mute_user_stream: boolean;
  /** Answer every request with 429 and this Retry-After (seconds) while > 0; each answer counts one down. */
  http_429: number;
  /** Answer every request with 418 (IP banned) while true. */
  http_418: boolean;
  /** A trade's balance changes reach the balance endpoints this long after the trade, ms (its fills are reported at once). */
  balance_lag_ms: number;
}

export const NO_FAULTS: FaultSwitches = {
  latency_ms: 0,
  http_5xx: 0,
  timeout_after_accept: 0,
  duplicate_fills: false,
  late_reports_ms: 0,
  clock_skew_ms: 0,
  mute_user_stream: false,
  http_429: 0,
  http_418: false,
  balance_lag_ms: 0,
};

/** Parse `--fault name=value,...` or an admin body into switches; throws naming an unknown switch. */
export function parseFaults(input: Record<string, unknown>, base: FaultSwitches = NO_FAULTS): FaultSwitches {
  const out: FaultSwitches = { ...base };
  for (const [k, v] of Object.entries(input)) {
    if (!Object.hasOwn(NO_FAULTS, k)) throw new Error(`unknown fault switch ${k} (known: ${Object.keys(NO_FAULTS).join(', ')})`);
    const key = k as keyof FaultSwitches;
    const want = typeof NO_FAULTS[key];
    const value = want === 'boolean' ? v === true || v === 'true' || v === 1 || v === '1' : Number(v);
    if (want === 'number' && (!Number.isFinite(value) || (value as number) < -86_400_000)) throw new Error(`fault switch ${k} needs a number, got ${JSON.stringify(v)}`);
    (out as unknown as Record<string, unknown>)[key] = value;
  }
  return out;
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export interface AdminTarget {
  exchange: EmulatedExchange;
  faults: FaultSwitches;
  /** Drop every user-data WebSocket connection. */
  dropStreams(): void;
}

export const tradeJson = (t: EmulatedTrade) => ({
  trade_id: t.trade_id,
  qty: fmt(t.qty),
  price: fmt(t.price),
  fee: fmt(t.fee),
  fee_ccy: t.fee_ccy,
  maker: t.maker,
  ts_ms: t.ts_ms,
});

export const balancesJson = (h: Map<string, Holding>): Record<string, { free: string; locked: string }> =>
  Object.fromEntries([...h].sort(([a], [b]) => a.localeCompare(b)).map(([asset, x]) => [asset, { free: fmt(x.free), locked: fmt(x.locked) }]));

/** Serve /__emulator/*; false when the path is not an admin path (the venue front handles it). */
export async function handleAdmin(req: IncomingMessage, res: ServerResponse, target: AdminTarget): Promise<boolean> {
  const url = new URL(req.url ?? '/', 'http://emulator');
  if (!url.pathname.startsWith('/__emulator/')) return false;
  const what = url.pathname.slice('/__emulator/'.length);
  try {
    if (req.method === 'GET' && what === 'stats') {
      const ex = target.exchange;
      json(res, 200, {
        placement_requests: Object.fromEntries(ex.placementRequests),
        placements: Object.fromEntries(ex.placements),
        order_tests: Object.fromEntries(ex.orderTests),
        open: ex.open().length,
        orders: ex.orders().length,
      });
    } else if (req.method === 'GET' && what === 'faults') json(res, 200, target.faults);
    else if (req.method === 'POST' && what === 'faults') {
      const body = JSON.parse((await readBody(req)) || '{}') as Record<string, unknown>;
      Object.assign(target.faults, parseFaults(body, target.faults));
      json(res, 200, target.faults);
    } else if (req.method === 'POST' && what === 'fill') {
      const body = JSON.parse(await readBody(req)) as { client_order_id?: string; qty?: string };
      const trade = target.exchange.fillResting({ client_order_id: body.client_order_id }, body.qty);
      json(res, 200, tradeJson(trade));
    } else if (what === 'balances' && (req.method === 'GET' || req.method === 'POST')) {
      if (req.method === 'POST') {
        const body = JSON.parse((await readBody(req)) || '{}') as Record<string, unknown>;
        for (const [asset, amount] of Object.entries(body)) target.exchange.setBalance(asset, amount as string);
      }
      json(res, 200, balancesJson(target.exchange.holdingsNow()));
    } else if (req.method === 'POST' && what === 'ws-drop') {
      target.dropStreams();
      json(res, 200, { dropped: true });
    } else json(res, 404, { error: `no admin endpoint ${req.method} ${url.pathname}` });
  } catch (e) {
    json(res, e instanceof Refusal ? 409 : 400, { error: e instanceof Error ? e.message : String(e), code: e instanceof Refusal ? e.code : undefined });
  }
  return true;
}
