import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ALL_TOPICS, TOPICS } from '../../src/domain/events.js';
import { childTraceparent, traceIdForIntent, traceIdOf } from '../../src/domain/trace.js';
import { HEADER_TRACEPARENT } from '../../src/runtime/codec.js';
import { startPipeline } from '../../src/assembly/run.js';

const PARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

test('an event continues its parent trace with a span of its own, or starts the intent’s trace', () => {
  const a = childTraceparent(PARENT, 'i1', 'i1/accepted');
  assert.match(a, /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
  assert.notEqual(a.split('-')[2], '00f067aa0ba902b7');
  assert.equal(childTraceparent(PARENT, 'i1', 'i1/accepted'), a, 'deterministic: a replay rebuilds the same trace');
  assert.notEqual(childTraceparent(PARENT, 'i1', 'i1/risk'), a, 'each event its own span');
  for (const bad of [
    undefined,
    'garbage',
    '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`,
    '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
  ]) {
    assert.equal(traceIdOf(childTraceparent(bad, 'i1', 'i1/accepted')), traceIdForIntent('i1'), String(bad));
  }
  assert.notEqual(traceIdForIntent('i1'), traceIdForIntent('i2'));
  assert.match(traceIdForIntent('i1'), /^[0-9a-f]{32}$/);
});

test('every event of an intent carries its trace from stage to stage, and a producer’s traceparent is continued', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fs-trace-'));
  const p = await startPipeline({ dataDir: dir, fsync: 'off' });
  try {
    const intent = (id: string) =>
      JSON.stringify({
        intent_id: id,
        ts: '2026-01-02T10:00:00Z',
        instrument_id: 'BINANCE:BTCUSDT',
        side: 'BUY',
        size: { type: 'quantity', value: '0.01' },
        constraints: { tif: 'IOC' },
        env: 'sim',
      });
    await p.log.append([
      { topic: TOPICS.intents, key: null, value: intent('t1'), headers: { [HEADER_TRACEPARENT]: PARENT } },
      { topic: TOPICS.intents, key: null, value: intent('t2') },
      { topic: TOPICS.intents, key: null, value: '{not json' },
    ]);
    await p.waitIdle();
    const traces = new Map<string, Set<string>>();
    const spans = new Set<string>();
    let events = 0;
    await p.log.scan(
      ALL_TOPICS.filter((t) => t !== TOPICS.intents),
      (r) => {
        const tp = r.headers[HEADER_TRACEPARENT];
        assert.match(tp, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
        const id = r.headers.intent_id;
        (traces.get(id) ?? traces.set(id, new Set()).get(id)!).add(tp.split('-')[1]);
        spans.add(tp.split('-')[2]);
        events++;
      },
    );
    assert.deepEqual([...traces.get('t1')!], ['4bf92f3577b34da6a3ce929d0e0e4736'], 'the producer’s trace, through every stage');
    assert.deepEqual([...traces.get('t2')!], [traceIdForIntent('t2')]);
    assert.ok(events >= 9, `normalizer, risk, router and gateway events for two intents, a dead letter and the policy: ${events}`);
    assert.equal(spans.size, events, 'one span per event');
  } finally {
    await p.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
