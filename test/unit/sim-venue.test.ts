import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { clientOrderId } from '../../src/domain/ids.js';
import { isoToMicros } from '../../src/domain/time.js';
import { createSyntheticMarket } from '../../src/market/synthetic.js';
import { decodeJournalLine, encodeJournalLine, type JournalEntry } from '../../src/venues/sim/journal.js';
import { matchOrder } from '../../src/venues/sim/match.js';
import { openSimVenue, SIM_JOURNAL_FILE, type TimedOrder } from '../../src/venues/sim/sim-venue.js';

const market = createSyntheticMarket({ seed: 11 });
const TS = '2026-01-02T10:00:00Z';

const order = (n: number, o: Partial<TimedOrder> = {}): TimedOrder => ({
  client_order_id: clientOrderId(`intent-${n}`),
  intent_id: `intent-${n}`,
  leg: 0,
  attempt: 0,
  account: 'default',
  strategy: 's1',
  env: 'sim',
  instrument_id: 'BINANCE:BTCUSDT',
  venue: 'BINANCE',
  symbol: 'BTCUSDT',
  side: n % 2 ? 'SELL' : 'BUY',
  order_type: 'MARKET',
  qty: '0.15',
  tif: 'IOC',
  ref_price: '65000',
  ts: TS,
  ...o,
});

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'fs-simvenue-'));
}

test('serves every venue of the market and fills like matchOrder at the order event time', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const v = await openSimVenue({ dir, market });
  assert.deepEqual([...v.venues], ['BINANCE', 'OKX', 'KUCOIN']);
  const o = order(1, { ts: '2026-01-02T10:00:03.250000Z' });
  const [r] = await v.submit([o]);
  assert.equal(r.client_order_id, o.client_order_id);
  assert.equal(r.recovered, false);
  const tsUs = isoToMicros(o.ts);
  assert.deepEqual(r.reports, matchOrder(o, market.bookAt(o.instrument_id, tsUs), market.instrument(o.instrument_id), tsUs));
  assert.equal(r.reports[0].kind, 'ACK');
  assert.ok(r.reports.some((x) => x.kind === 'TRADE'));
  assert.equal(await v.knownOrders(), 1);
  await v.close();
});

test('idempotent: a known client order id is never placed twice, within and across batches', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const v = await openSimVenue({ dir, market });
  const batch = [order(1), order(2), order(1), order(3)];
  const first = await v.submit(batch);
  assert.deepEqual(
    first.map((r) => r.recovered),
    [false, false, true, false],
  );
  assert.deepEqual(first[2].reports, first[0].reports);
  // a retry with a different event time still returns what the venue has: nothing new is placed
  const again = await v.submit([order(2, { ts: '2026-01-03T00:00:00Z' }), order(1), order(4)]);
  assert.deepEqual(
    again.map((r) => r.recovered),
    [true, true, false],
  );
  assert.deepEqual(again[0].reports, first[1].reports);
  assert.deepEqual(again[1].reports, first[0].reports);
  assert.equal(await v.knownOrders(), 4);
  const counts = v.journalCounts();
  assert.equal(counts.size, 4);
  assert.ok([...counts.values()].every((c) => c === 1));
  // Every request reached the journal: 4 placements, and a line per request for a known id.
  const resent = new Map([
    [order(1).client_order_id, 2],
    [order(2).client_order_id, 1],
  ]);
  assert.deepEqual(v.resendCounts(), resent);
  const lines = readFileSync(join(dir, SIM_JOURNAL_FILE), 'utf8').trim().split('\n');
  assert.equal(lines.length, 7);
  assert.deepEqual(lines.slice(2, 3), [JSON.stringify({ resent: order(1).client_order_id })], 'a re-send within a batch follows its placement');
  await v.close();
  // Counted durably: a reopened venue still knows what reached it.
  const reopened = await openSimVenue({ dir, market });
  assert.deepEqual(reopened.resendCounts(), resent);
  assert.equal(reopened.journalCounts().size, 4);
  await reopened.close();
});

test('rejected orders are remembered too; a missing event time is a clear NO_MARKET_DATA reject', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const v = await openSimVenue({ dir, market });
  const { ts: _drop, ...untimed } = order(5);
  const [r1, r2, r3] = await v.submit([untimed, order(6, { qty: '0.000001' }), order(7, { instrument_id: 'BINANCE:NOPE' })]);
  assert.equal(r1.reports[0].kind === 'REJECTED' && r1.reports[0].code, 'NO_MARKET_DATA');
  assert.match(r1.reports[0].kind === 'REJECTED' ? r1.reports[0].reason : '', /no valid event time/);
  assert.equal(r2.reports[0].kind === 'REJECTED' && r2.reports[0].code, 'LOT_SIZE');
  assert.equal(r3.reports[0].kind === 'REJECTED' && r3.reports[0].code, 'UNKNOWN_SYMBOL');
  const [again] = await v.submit([order(6)]);
  assert.equal(again.recovered, true);
  assert.deepEqual(again.reports, r2.reports);
  await v.close();
  await assert.rejects(v.submit([order(8)]), /closed/);
});

test('survives reopen: known orders come back recovered with identical reports', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const orders = Array.from({ length: 50 }, (_, i) =>
    order(i, { qty: i % 5 === 0 ? '40' : '0.2', instrument_id: i % 3 ? 'OKX:BTC-USDT' : 'BINANCE:BTCUSDT', venue: i % 3 ? 'OKX' : 'BINANCE' }),
  );
  const v1 = await openSimVenue({ dir, market });
  const before = await v1.submit(orders);
  await v1.close();
  const v2 = await openSimVenue({ dir, market });
  assert.equal(await v2.knownOrders(), 50);
  assert.equal(v2.tornLinesDropped, 0);
  const after = await v2.submit(orders);
  assert.ok(after.every((r) => r.recovered));
  assert.deepEqual(
    after.map((r) => r.reports),
    before.map((r) => r.reports),
  );
  assert.ok([...v2.journalCounts().values()].every((c) => c === 1));
  assert.equal(v2.resendCounts().size, 50);
  assert.ok([...v2.resendCounts().values()].every((c) => c === 1));
  await v2.close();
});

test('a torn last line (crash mid-write) is dropped and the journal stays appendable', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const v1 = await openSimVenue({ dir, market });
  await v1.submit([order(1), order(2)]);
  await v1.close();
  const path = join(dir, SIM_JOURNAL_FILE);
  appendFileSync(path, '{"id":"fs-torn","instrument_id":"BINANCE:BTCUSDT","reports":[{"kind":"AC');
  const v2 = await openSimVenue({ dir, market });
  assert.equal(v2.tornLinesDropped, 1);
  assert.equal(await v2.knownOrders(), 2);
  const [r] = await v2.submit([order(3)]);
  assert.equal(r.recovered, false);
  await v2.close();
  const v3 = await openSimVenue({ dir, market });
  assert.equal(v3.tornLinesDropped, 0);
  assert.equal(await v3.knownOrders(), 3);
  await v3.close();
});

test('journal lines round-trip every report kind exactly, including differing ids and times', () => {
  const t1 = '2026-01-02T10:00:00.000000Z';
  const t2 = '2026-01-02T10:00:01.000000Z';
  const entries: JournalEntry[] = [
    {
      client_order_id: 'c1',
      instrument_id: 'OKX:BTC-USDT',
      ts: t1,
      reports: [
        { kind: 'ACK', venue_order_id: 'V1', ts: t1 },
        { kind: 'TRADE', venue_order_id: 'V1', trade_id: 'V1-1', qty: '0.1', price: '65000.1', fee: '6.50001', fee_ccy: 'USDT', liquidity: 'TAKER', ts: t1 },
        { kind: 'TRADE', venue_order_id: 'V2', trade_id: 'x', qty: '0.2', price: '65000.2', fee: '0', fee_ccy: 'USDT', liquidity: 'MAKER', ts: t2 },
        { kind: 'CANCELED', reason: 'IOC', ts: t2 },
        { kind: 'EXPIRED', reason: 'insufficient liquidity', ts: t1 },
      ],
    },
    { client_order_id: 'c2', instrument_id: 'X', ts: null, reports: [{ kind: 'REJECTED', code: 'LOT_SIZE', reason: 'too "small"', ts: t2 }] },
    { client_order_id: 'c3', instrument_id: 'X', ts: t1, reports: [] },
  ];
  for (const e of entries) {
    const line = encodeJournalLine(e);
    assert.ok(line.endsWith('\n') && !line.slice(0, -1).includes('\n'));
    assert.deepEqual(decodeJournalLine(line), e);
  }
});

test('corruption before the last line is an error naming the line', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const good = encodeJournalLine({ client_order_id: 'a', instrument_id: 'BINANCE:BTCUSDT', ts: TS, reports: [] });
  writeFileSync(join(dir, SIM_JOURNAL_FILE), good + 'not json\n' + good);
  await assert.rejects(openSimVenue({ dir, market }), /sim-venue\.ndjson:2: corrupt sim venue journal line/);
  writeFileSync(join(dir, SIM_JOURNAL_FILE), good + '{"id":"b","i":"X","ts":null,"t":"","v":"","r":[["T",0]]}\n');
  await assert.rejects(openSimVenue({ dir, market }), /sim-venue\.ndjson:2: corrupt sim venue journal line \(bad report/);
  // A re-send is only ever written after its id's placement.
  writeFileSync(join(dir, SIM_JOURNAL_FILE), '{"resent":"a"}\n' + good);
  await assert.rejects(openSimVenue({ dir, market }), /sim-venue\.ndjson:1: corrupt sim venue journal line \(re-send of a, which no earlier line placed/);
  writeFileSync(join(dir, SIM_JOURNAL_FILE), good + '{"resent":"a"}\n');
  const v = await openSimVenue({ dir, market });
  assert.deepEqual(v.resendCounts(), new Map([['a', 1]]));
  await v.close();
});

test('SIGKILL after submit returns: every returned order is known after restart', async (t) => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const mod = (p: string) => JSON.stringify(pathToFileURL(resolve(p)).href);
  // The child places batches forever, printing each returned batch; we kill it mid-stream.
  const script = `
    const { openSimVenue } = await import(${mod('src/venues/sim/sim-venue.ts')});
    const { createSyntheticMarket } = await import(${mod('src/market/synthetic.ts')});
    const v = await openSimVenue({ dir: ${JSON.stringify(dir)}, market: createSyntheticMarket({ seed: 11 }) });
    for (let b = 0; ; b++) {
      const orders = Array.from({ length: 100 }, (_, i) => ({
        client_order_id: 'k' + b + '-' + i, intent_id: 'k' + b + '-' + i, leg: 0, attempt: 0, account: 'default', strategy: 's',
        env: 'sim', instrument_id: 'BINANCE:ETHUSDT', venue: 'BINANCE', symbol: 'ETHUSDT', side: 'BUY', order_type: 'MARKET',
        qty: '0.5', tif: 'IOC', ref_price: '3000', ts: '2026-01-02T10:00:00Z' }));
      await v.submit(orders);
      process.stdout.write('batch ' + b + '\\n');
      if (b % 10 === 9) await new Promise((r) => setImmediate(r));
    }
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let lastBatch = -1;
  await new Promise<void>((done, fail) => {
    let buf = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      const m = [...buf.matchAll(/batch (\d+)\n/g)];
      if (m.length) lastBatch = Number(m[m.length - 1][1]);
      if (lastBatch >= 30 && child.exitCode === null && !child.killed) child.kill('SIGKILL');
    });
    child.on('exit', (_code, signal) => (signal === 'SIGKILL' ? done() : fail(new Error(`child exited without SIGKILL (${signal})`))));
  });
  const v = await openSimVenue({ dir, market });
  const known = await v.knownOrders();
  assert.ok(known >= (lastBatch + 1) * 100, `known ${known} < returned ${(lastBatch + 1) * 100}`);
  assert.ok([...v.journalCounts().values()].every((c) => c === 1));
  // every order the child saw returned is recovered, not placed again
  const retry = Array.from({ length: 100 }, (_, i) => order(0, { client_order_id: `k${lastBatch}-${i}`, instrument_id: 'BINANCE:ETHUSDT', symbol: 'ETHUSDT', qty: '0.5' }));
  assert.ok((await v.submit(retry)).every((r) => r.recovered));
  assert.equal(await v.knownOrders(), known);
  await v.close();
});
