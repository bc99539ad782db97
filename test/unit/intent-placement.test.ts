// Where a raw intent is decided: on its account's partition of exec.intents. The decision is a pure
// function of the record's bytes, its partition, the partition count and the key → partition
// function; the copy carries the same bytes and headers and names its original; folds count an
// intent once, original and copy together.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { accountKey } from '../../src/assembly/run.js';
import { TOPICS } from '../../src/domain/events.js';
import { frame } from '../../src/domain/wire.js';
import { openEmbeddedLog } from '../../src/log/embedded/index.js';
import type { LogRecord } from '../../src/log/types.js';
import { intentAccount, MAX_INTENT_BYTES, placementOf, type IntentPlacement } from '../../src/normalizer/decide.js';
import { applyRecord, emptyView } from '../../src/projections/view.js';
import { HEADER_FORWARDED_FROM } from '../../src/runtime/codec.js';
import { forwardedIntent, intentPlacement } from '../../src/runtime/forward.js';
import { generateIntents } from '../../src/tools/generate.js';

const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const intent = (account?: unknown) => json({ intent_id: 'a1', ts: '2026-01-02T10:00:00Z', instrument_id: 'BTCUSDT', side: 'BUY', size: { type: 'quantity', value: '1' }, account });
/** Six partitions; an account's partition is the length of its name, mod 6 (any function will do). */
const SIX: IntentPlacement = { partitions: 6, partitionOf: (account) => account.length % 6 };

test("an intent's account is its `account`, else `default`; bytes that are no JSON object have none", () => {
  assert.equal(intentAccount(intent('fund-a')), 'fund-a');
  assert.equal(intentAccount(intent()), 'default', 'absent');
  assert.equal(intentAccount(intent('')), 'default', 'empty: dead-lettered on the default account’s partition');
  assert.equal(intentAccount(intent(42)), 'default', 'not a string');
  assert.equal(intentAccount(Buffer.from('{"account":"x",')), null, 'not JSON');
  assert.equal(intentAccount(Buffer.from('[{"account":"x"}]')), null, 'an array');
  assert.equal(intentAccount(Buffer.from('"x"')), null, 'a string');
  assert.equal(intentAccount(Buffer.from('null')), null);
  assert.equal(intentAccount(Buffer.from([0x7b, 0x22, 0x61, 0xff, 0x22, 0x3a, 0x31, 0x7d])), null, 'not UTF-8');
  assert.equal(intentAccount(frame(7, intent('fund-a'))), null, 'framed with a schema id the registry does not know');
  const big = json({ account: 'fund-a', pad: 'x'.repeat(MAX_INTENT_BYTES) });
  assert.equal(intentAccount(big), null, 'oversized: dead-lettered unparsed');
});

test('a record on its account’s partition stays; elsewhere it goes to that partition, keyed by account; without an account it stays', () => {
  assert.equal(placementOf({ value: intent('abc'), partition: 3 }, SIX), undefined);
  assert.deepEqual(placementOf({ value: intent('abc'), partition: 0 }, SIX), { partition: 3, key: 'abc' });
  assert.deepEqual(placementOf({ value: intent(), partition: 0 }, SIX), { partition: 1, key: 'default' });
  assert.equal(placementOf({ value: Buffer.from('not json'), partition: 5 }, SIX), undefined);
  // One partition (the embedded log): nothing moves, nothing is parsed.
  assert.equal(placementOf({ value: intent('abc'), partition: 0 }, { partitions: 1, partitionOf: () => assert.fail('not asked') }), undefined);
});

test('every line the intake keys is already on its account’s partition: the intake’s key is the account, or no key for what has none', () => {
  for (const line of generateIntents({ count: 2_000, seed: 5, badRatio: 0.2, duplicateRatio: 0.05 })) {
    const raw = Buffer.from(line);
    // Keyed by accountKey, a line lands on the partition of that key: never moved.
    const key = accountKey(raw);
    if (key !== null) assert.equal(placementOf({ value: raw, partition: SIX.partitionOf(key) }, SIX), undefined, line);
  }
});

const value = fc.oneof(
  fc.option(fc.string({ maxLength: 12 }), { nil: undefined }).map((a) => intent(a)),
  fc.string({ maxLength: 40 }).map((s) => Buffer.from(s)),
  fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
);
const placement = fc
  .tuple(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 1_000 }))
  .map(([partitions, salt]): IntentPlacement => ({ partitions, partitionOf: (a) => (a.length * 31 + a.charCodeAt(0) * 7 + salt) % partitions }));

test('property: every copy of the same bytes, wherever it lands, is decided on one partition, after at most one move', () => {
  fc.assert(
    fc.property(value, placement, fc.array(fc.nat(), { minLength: 1, maxLength: 6 }), (v, p, landings) => {
      const account = intentAccount(v);
      const decidedOn = landings.map((l) => {
        const partition = l % p.partitions;
        const to = placementOf({ value: v, partition }, p);
        if (to === undefined) return partition;
        assert.equal(to.key, account);
        assert.notEqual(to.partition, partition);
        assert.ok(to.partition >= 0 && to.partition < p.partitions);
        // The copy, on the partition it was moved to, stays there.
        assert.equal(placementOf({ value: v, partition: to.partition }, p), undefined);
        return to.partition;
      });
      if (account !== null) assert.ok(decidedOn.every((d) => d === p.partitionOf(account)));
      // Without an account a record is dead-lettered where it landed.
      else
        assert.deepEqual(
          decidedOn,
          landings.map((l) => l % p.partitions),
        );
    }),
  );
});

const record = (partition: number, offset: number, value: Buffer, headers: Record<string, string> = {}): LogRecord => ({
  topic: TOPICS.intents,
  partition,
  offset,
  key: null,
  value,
  headers,
  timestamp: 0,
});

test('the copy keeps the bytes and every header (traceparent too), is keyed by account and names the record it copies', () => {
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const original = record(0, 17, intent('abc'), { traceparent, producer: 'agent-7' });
  const copy = forwardedIntent(original, { partition: 3, key: 'abc' });
  assert.deepEqual(copy, {
    topic: TOPICS.intents,
    key: 'abc',
    partition: 3,
    value: original.value,
    headers: { traceparent, producer: 'agent-7', [HEADER_FORWARDED_FROM]: 'exec.intents/0/17' },
  });
  assert.deepEqual(original.headers, { traceparent, producer: 'agent-7' }, 'the input record is left as it was');
});

test('the fold counts an intent once, original and copy together; the copy is still a record of the log', () => {
  const view = emptyView();
  const original = record(0, 17, intent('abc'));
  const copy = forwardedIntent(original, { partition: 3, key: 'abc' });
  applyRecord(view, original);
  assert.equal(view.intents, 1);
  applyRecord(view, { ...record(3, 4, copy.value as Buffer, copy.headers), key: copy.key });
  assert.equal(view.intents, 1);
  assert.equal(view.events, 2);
});

test('on the embedded log (one partition) there is nowhere to move to', async () => {
  const log = await openEmbeddedLog({ dir: join(mkdtempSync(join(tmpdir(), 'fillstream-placement-')), 'log'), fsync: 'off' });
  try {
    assert.equal(intentPlacement(log), undefined);
  } finally {
    await log.close();
  }
});
