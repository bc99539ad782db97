// A live venue for the gateway tests: the venue's emulator in this process (its real protocol on
// loopback) and a venues file naming it, with the keys in environment variables the CLI inherits.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EMULATORS, type RunningEmulator, type VenueName } from '../../src/assembly/venue-factories.js';
import { openLogReadOnly } from '../../src/assembly/run.js';
import { ALL_TOPICS, type Event } from '../../src/domain/events.js';
import type { FaultSwitches } from '../../src/venues/emulator/admin.js';
import { createSyntheticMarket } from '../../src/market/synthetic.js';
import { fmt, type Dec } from '../../src/domain/decimal.js';
import { fromRecord } from '../../src/runtime/codec.js';

export const LIVE_VENUES: { venue: VenueName; symbol: string }[] = [
  { venue: 'BINANCE', symbol: 'BTCUSDT' },
  { venue: 'OKX', symbol: 'BTC-USDT' },
  { venue: 'KUCOIN', symbol: 'BTC-USDT' },
];

export const KEYS = { api_key: 'test-key-0001', api_secret: 'test-secret-0001', passphrase: 'test-pass-0001' };

export interface LiveVenueFixture {
  em: RunningEmulator;
  venuesFile: string;
  /** The environment the CLI needs: the keys under the names the venues file gives. */
  env: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

export async function liveVenue(
  venue: VenueName,
  dir: string,
  o: {
    faults?: Partial<FaultSwitches>;
    secret?: string;
    settleMs?: number;
    timeoutMs?: number;
    env?: 'staging' | 'prod';
    withdrawals?: boolean;
    /** The account's starting balances (default: the emulator's generous ones). */
    balances?: Record<string, string>;
  } = {},
): Promise<LiveVenueFixture> {
  const env = o.env ?? 'staging';
  const em = await EMULATORS[venue]({
    port: 0,
    apiKey: KEYS.api_key,
    apiSecret: KEYS.api_secret,
    passphrase: KEYS.passphrase,
    market: createSyntheticMarket({ seed: 1 }),
    faults: o.faults,
    ...(o.balances ? { balances: o.balances } : {}),
    withdrawals: o.withdrawals ?? false,
    live: env === 'prod',
  });
  const prefix = `FS_TEST_${venue}`;
  const file = {
    venues: [
      {
        venue,
        env,
        account: 'acct',
        rest_url: em.url,
        ws_url: em.wsUrl,
        credentials: { api_key: `${prefix}_KEY`, api_secret: `${prefix}_SECRET`, ...(venue === 'BINANCE' ? {} : { passphrase: `${prefix}_PASSPHRASE` }) },
        timeout_ms: o.timeoutMs ?? 1_500,
      },
    ],
    settle_ms: o.settleMs ?? 500,
  };
  const venuesFile = join(dir, 'venues.json');
  writeFileSync(venuesFile, JSON.stringify(file, null, 2));
  const keys = { ...process.env, [`${prefix}_KEY`]: KEYS.api_key, [`${prefix}_SECRET`]: o.secret ?? KEYS.api_secret, [`${prefix}_PASSPHRASE`]: KEYS.passphrase };
  return { em, venuesFile, env: keys, close: () => em.close() };
}

/** Every event of a data dir's log (read-only: `run` may hold it). */
export async function eventsOf(dataDir: string): Promise<Event[]> {
  const log = await openLogReadOnly(dataDir);
  const out: Event[] = [];
  try {
    await log.scan(
      ALL_TOPICS.filter((t) => t !== 'exec.intents'),
      (r) => out.push(fromRecord(r)),
    );
  } finally {
    await log.close();
  }
  return out;
}

/** Polls `check` (every 50 ms) until it returns something, or fails naming `what`. */
export async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    // Not there yet (the log not created, a file mid-write) is "not yet".
    const v = await Promise.resolve()
      .then(check)
      .catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`no ${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** An intent for a live venue, timed now (venues fill against their book now). */
export function liveIntent(
  id: string,
  venue: VenueName,
  symbol: string,
  o: { side?: 'BUY' | 'SELL'; qty?: string; limit?: string; tif?: string; env?: string; account?: string; expireAt?: string } = {},
) {
  return {
    intent_id: id,
    ts: new Date().toISOString(),
    account: o.account ?? 'acct',
    instrument_id: `${venue}:${symbol}`,
    side: o.side ?? 'BUY',
    size: { type: 'quantity', value: o.qty ?? '0.002' },
    constraints: {
      ...(o.limit ? { order_type: 'LIMIT', limit_price: o.limit, tif: o.tif ?? 'GTC' } : { order_type: 'MARKET', tif: o.tif ?? 'IOC' }),
      ...(o.expireAt ? { expire_at: o.expireAt } : {}),
    },
    env: o.env ?? 'staging',
  };
}

/**
 * The signal's books for a chain on `venue`: its market now; for live legs asks a little above and
 * bids a little below (a signal a moment old, so each buy's limit clears the book), for paper ones
 * the venue's own top of book (prices on its tick, as a real signal's are).
 */
function booksNow(venue: string, symbols: string[], paper: boolean): { ts: string; books: { asks: string[][]; bids: string[][] }[] } {
  const market = createSyntheticMarket({ seed: 1 });
  const now = Date.now();
  const skew = (x: Dec, by: string) => fmt(paper ? x : x.times(by));
  return {
    ts: new Date(now).toISOString(),
    books: symbols.map((symbol) => {
      const b = market.bookAt(`${venue}:${symbol}`, now * 1000)!;
      return { asks: [[skew(b.asks[0].price, '1.002'), '100']], bids: [[skew(b.bids[0].price, '0.998'), '100']] };
    }),
  };
}

/** A staging chain of 500 USDT on `venue` through `pairs`, its books as the signal saw them now; `o` overrides fields (mode, account, …). */
function chainNow(venue: VenueName, id: string, pairs: [string, 'buy' | 'sell', string?][], o: Record<string, unknown>): Record<string, unknown> {
  const { ts, books } = booksNow(
    venue,
    pairs.map(([p]) => p),
    o.mode === 'paper',
  );
  return {
    kind: 'chain',
    intent_id: id,
    ts,
    account: 'acct',
    venue,
    primary_quote: 'USDT',
    starting_amount: '500',
    legs: pairs.map(([pair, side, quote_increment]) => ({ pair, side, ...(quote_increment ? { quote_increment } : {}) })),
    books,
    book_ts: ts,
    env: 'staging',
    ...o,
  };
}

/** USDT → BTC → ETH → USDT on Binance. */
export const binanceTriangle = (id: string, o: Record<string, unknown> = {}) =>
  chainNow(
    'BINANCE',
    id,
    [
      ['BTCUSDT', 'buy', '0.01'],
      ['ETHBTC', 'buy', '0.00000001'],
      ['ETHUSDT', 'sell'],
    ],
    o,
  );

/** A two-leg chain on OKX or KuCoin (they list no cross pair here): buy BTC-USDT, sell it back. */
export const roundTrip = (venue: 'OKX' | 'KUCOIN', id: string, o: Record<string, unknown> = {}) =>
  chainNow(
    venue,
    id,
    [
      ['BTC-USDT', 'buy', '0.01'],
      ['BTC-USDT', 'sell'],
    ],
    o,
  );
