// Chains on a real Kafka broker through the CLI: the fused decide stage (the default) and the
// stages apart run a live chain and a paper chain to the same reports as the embedded log.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EventOf } from '../../src/domain/events.js';
import type { Summary } from '../../src/projections/view.js';
import { cli, cliJson, requireBuild, tempDir } from '../helpers/cli.js';
import { kafkaBrokers } from '../helpers/kafka.js';

let work: string;
let books: string;
let intents: string;

before(() => {
  requireBuild();
  kafkaBrokers();
  work = tempDir('kafka-chains');
  books = join(work, 'books.ndjson');
  const ts = '2026-03-01T12:00:00Z';
  writeFileSync(
    books,
    [
      { ts, instrument_id: 'BINANCE:BTCUSDT', asks: [['60000', '5']], bids: [['59990', '5']] },
      { ts, instrument_id: 'BINANCE:ETHBTC', asks: [['0.05', '50']], bids: [['0.0499', '50']] },
      { ts, instrument_id: 'BINANCE:ETHUSDT', asks: [['3011', '50']], bids: [['3010', '50']] },
      { ts, instrument_id: 'OKX:BTC-USDT', asks: [['60010', '5']], bids: [['60000', '5']] },
    ]
      .map((b) => JSON.stringify(b))
      .join('\n') + '\n',
  );
  const tri = {
    kind: 'chain',
    intent_id: 'k-tri',
    ts: '2026-03-01T12:00:01Z',
    account: 'arb',
    venue: 'BINANCE',
    primary_quote: 'USDT',
    starting_amount: '1000',
    legs: [
      { pair: 'BTCUSDT', side: 'buy', quote_increment: '0.01' },
      { pair: 'ETHBTC', side: 'buy', quote_increment: '0.000001' },
      { pair: 'ETHUSDT', side: 'sell' },
    ],
    books: [
      { asks: [['60000', '5']], bids: [['59990', '5']] },
      { asks: [['0.05', '50']], bids: [['0.0499', '50']] },
      { asks: [['3011', '50']], bids: [['3010', '50']] },
    ],
    book_ts: '2026-03-01T12:00:00Z',
  };
  const paper = {
    ...tri,
    intent_id: 'k-paper',
    venue: 'OKX',
    account: 'arb2',
    mode: 'paper',
    legs: [
      { pair: 'BTC-USDT', side: 'buy', quote_increment: '0.01' },
      { pair: 'BTC-USDT', side: 'sell' },
    ],
    books: [
      { asks: [['60010', '5']], bids: [['60000', '5']] },
      { asks: [['60010', '5']], bids: [['60000', '5']] },
    ],
  };
  intents = join(work, 'chains.ndjson');
  writeFileSync(intents, [JSON.stringify(tri), JSON.stringify(paper)].join('\n') + '\n');
});

function freshTopics(): void {
  process.env.FILLSTREAM_TOPIC_PREFIX = `c${randomUUID().slice(0, 8)}.`;
  const r = cli(['topics', 'create', '--partitions', '3']);
  assert.equal(r.status, 0, r.stderr);
}

const reportsOf = (args: string[]): EventOf<'ChainCompleted'>[] => {
  const r = cli(['chains', 'reports', '--json', ...args]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as EventOf<'ChainCompleted'>)
    .sort((a, b) => a.intent_id.localeCompare(b.intent_id));
};
const legsOf = (rs: EventOf<'ChainCompleted'>[]) => rs.map((r) => [r.intent_id, r.data.status, r.data.legs.map((l) => [l.filled_qty, l.delivered]), r.data.profit]);

test('chains on Kafka, fused and apart: the same reports as on the embedded log', () => {
  const embeddedDir = join(work, 'embedded');
  const embedded = cliJson<Summary>(['run', '--data-dir', embeddedDir, '--books', books, '--intents', intents, '--until-idle']);
  assert.equal(embedded.chains.filled, 2);
  const expected = legsOf(reportsOf(['--data-dir', embeddedDir]));
  for (const stages of [undefined, 'normalizer,risk,router,gateway']) {
    freshTopics();
    const dir = join(work, stages ? 'apart' : 'fused');
    const s = cliJson<Summary>(['run', '--bus', 'kafka', '--data-dir', dir, '--books', books, '--intents', intents, '--until-idle', ...(stages ? ['--stages', stages] : [])]);
    assert.deepEqual(s.chains, embedded.chains, `${stages ?? 'fused'}: ${JSON.stringify(s.chains)}`);
    assert.equal(s.orders, embedded.orders);
    assert.deepEqual(legsOf(reportsOf(['--bus', 'kafka', '--data-dir', dir])), expected, stages ?? 'fused');
  }
});
