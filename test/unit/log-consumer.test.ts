import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openEmbeddedLog } from '../../src/log/embedded/index.js';
import type { LogRecord } from '../../src/log/types.js';
import { readAll, rec, tmpDir, values, waitFor } from '../helpers/log-fixtures.js';

test('consume copies records, commits offsets with outputs, resumes after reopen', async (t) => {
  const dir = tmpDir(t);
  const log = await openEmbeddedLog({ dir, fsync: 'always' });
  for (let i = 0; i < 25; i++) await log.append([rec('in', `r${i}`)]);
  const batches: number[] = [];
  const c = log.consume({
    group: 'copy',
    topics: ['in'],
    maxBatch: 10,
    handle: (batch) => {
      batches.push(batch.length);
      return batch.map((r) => rec('out', `copy-${r.value.toString()}`));
    },
  });
  // Committed offsets show once written; busy() lasts until the last commit is durable.
  await waitFor(() => log.committedNow('copy', 'in', 0) === 25 && !c.busy(), 5000, 'copy');
  assert.deepEqual(batches, [10, 10, 5]);
  assert.equal(c.lag(), 0);
  assert.equal(c.busy(), false);
  assert.deepEqual(
    values(await readAll(log, 'out')),
    Array.from({ length: 25 }, (_, i) => `copy-r${i}`),
  );
  await c.stop();
  await c.done;
  assert.throws(() => log.consume({ group: 'x', topics: [], handle: () => [] }), /no topics/);
  await log.append([rec('in', 'late-1'), rec('in', 'late-2')]);
  await log.close();

  // The next run starts at the committed offsets: only the new records.
  const again = await openEmbeddedLog({ dir, fsync: 'always' });
  const seen: string[] = [];
  const c2 = again.consume({ group: 'copy', topics: ['in'], handle: (b) => (seen.push(...values(b)), []) });
  assert.equal(c2.lag(), 2);
  await waitFor(() => c2.lag() === 0 && !c2.busy(), 5000, 'resume');
  assert.deepEqual(seen, ['late-1', 'late-2']);
  assert.equal(again.committedNow('copy', 'in', 0), 27);
  await again.close(); // stops c2
  await c2.done;
});

test('a consumer of several topics gets batches merged in global journal order', async (t) => {
  const dir = tmpDir(t);
  const log = await openEmbeddedLog({ dir, fsync: 'off', windowRecords: 4 });
  const expected: string[] = [];
  for (let i = 0; i < 60; i++) {
    const batch = [];
    for (let j = 0; j <= i % 3; j++) {
      const topic = ['p', 'q', 'r'][(i + j) % 3];
      const v = `${topic}${i}.${j}`;
      batch.push(rec(topic, v));
      if (topic !== 'r') expected.push(v);
    }
    await log.append(batch);
  }
  const got: string[] = [];
  const sizes: number[] = [];
  const c = log.consume({
    group: 'm',
    topics: ['q', 'p'],
    maxBatch: 7,
    handle: (b) => {
      sizes.push(b.length);
      got.push(...values(b));
      return [];
    },
  });
  await waitFor(() => c.lag() === 0 && !c.busy(), 5000, 'merge');
  assert.deepEqual(got, expected);
  assert.ok(sizes.every((s) => s <= 7));
  assert.equal(log.committedNow('m', 'p', 0), log.endOffsetNow('p', 0));
  assert.equal(log.committedNow('m', 'q', 0), log.endOffsetNow('q', 0));
  assert.equal(log.committedNow('m', 'r', 0), 0);
  await log.close();
});

test('an idle consumer wakes on append without polling delay; lag and busy report progress', async (t) => {
  const dir = tmpDir(t);
  const log = await openEmbeddedLog({ dir, fsync: 'always' });
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  const handled: LogRecord[] = [];
  const c = log.consume({
    group: 'w',
    topics: ['in'],
    handle: async (b) => {
      handled.push(...b);
      await gate;
      return [];
    },
  });
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(c.lag(), 0);
  const t0 = Date.now();
  await log.append([rec('in', 'a'), rec('in', 'b')]);
  await waitFor(() => handled.length === 2, 900, 'wake');
  assert.ok(Date.now() - t0 < 500, 'woken by notify, not by the fallback timer');
  assert.equal(c.busy(), true);
  assert.equal(c.lag(), 2, 'not committed yet');
  release();
  await waitFor(() => !c.busy() && c.lag() === 0, 2000, 'commit');
  assert.equal(log.committedNow('w', 'in', 0), 2);
  await log.close();
});

test('done rejects and the consumer stops when handle throws; nothing of the batch is committed', async (t) => {
  const dir = tmpDir(t);
  const log = await openEmbeddedLog({ dir, fsync: 'off' });
  await log.append([rec('in', 'ok'), rec('in', 'boom'), rec('in', 'after')]);
  const c = log.consume({
    group: 'f',
    topics: ['in'],
    maxBatch: 1,
    handle: (b) => {
      if (b[0].value.toString() === 'boom') throw new Error('handler failed');
      return [rec('out', b[0].value)];
    },
  });
  await assert.rejects(c.done, /handler failed/);
  assert.equal(log.committedNow('f', 'in', 0), 1);
  assert.deepEqual(values(await readAll(log, 'out')), ['ok']);
  assert.equal(c.busy(), false);
  await c.stop(); // stopping a failed consumer is fine
  // The group can run again (it was unregistered when it stopped).
  const c2 = log.consume({ group: 'f', topics: ['in'], handle: () => [] });
  await waitFor(() => c2.lag() === 0 && !c2.busy(), 2000, 'rerun');
  assert.throws(() => log.consume({ group: 'f', topics: ['in'], handle: () => [] }), /already running/);
  await log.close();
});

test('stop finishes the batch in hand; consumers interleave fairly', async (t) => {
  const dir = tmpDir(t);
  const log = await openEmbeddedLog({ dir, fsync: 'off' });
  for (let i = 0; i < 20; i++) {
    await log.append(Array.from({ length: 100 }, (_, j) => rec('one', `o${i * 100 + j}`)));
    await log.append(Array.from({ length: 100 }, (_, j) => rec('two', `t${i * 100 + j}`)));
  }
  const order: string[] = [];
  const mk = (name: string) =>
    log.consume({
      group: name,
      topics: [name],
      maxBatch: 50,
      handle: (b) => {
        order.push(name);
        return [rec(`${name}.out`, String(b.length))];
      },
    });
  const a = mk('one');
  const b = mk('two');
  await waitFor(() => a.lag() === 0 && b.lag() === 0 && !a.busy() && !b.busy(), 5000, 'both');
  assert.equal(order.length, 80);
  // Fair: neither runs long stretches while the other waits.
  let run = 1;
  let longest = 1;
  for (let i = 1; i < order.length; i++) {
    run = order[i] === order[i - 1] ? run + 1 : 1;
    longest = Math.max(longest, run);
  }
  assert.ok(longest <= 3, `longest run of one consumer: ${longest}`);

  // stop() during a batch lets that batch commit.
  await log.append(Array.from({ length: 10 }, (_, j) => rec('s', `s${j}`)));
  let entered: () => void = () => undefined;
  const inHandle = new Promise<void>((r) => (entered = r));
  const c = log.consume({
    group: 's',
    topics: ['s'],
    maxBatch: 4,
    handle: async (batch) => {
      entered();
      await new Promise((r) => setTimeout(r, 20));
      return [rec('s.out', String(batch.length))];
    },
  });
  await inHandle;
  await c.stop();
  await c.done;
  assert.equal(log.committedNow('s', 's', 0), 4);
  assert.deepEqual(values(await readAll(log, 's.out')), ['4']);
  await log.close();
});

test('decoded objects are dropped once every consumer of the topic has read them', async (t) => {
  const dir = tmpDir(t);
  const log = await openEmbeddedLog({ dir, fsync: 'off', windowRecords: 100 });
  const objs = Array.from({ length: 20 }, (_, i) => ({ n: i }));
  await log.append(objs.map((o) => ({ topic: 'in', key: null, value: JSON.stringify(o), decoded: o })));
  const seenDecoded: unknown[] = [];
  const fast = log.consume({ group: 'fast', topics: ['in'], maxBatch: 20, handle: (b) => (seenDecoded.push(...b.map((r) => r.decoded)), []) });
  await waitFor(() => fast.lag() === 0 && !fast.busy(), 5000, 'fast');
  assert.deepEqual(seenDecoded, objs, 'the consumer got the appended objects, not parses');
  // One consumer read everything: nothing decoded is kept; the values are intact.
  const after = await readAll(log, 'in');
  assert.deepEqual(
    after.map((r) => r.decoded),
    objs.map(() => undefined),
  );
  assert.deepEqual(
    after.map((r) => JSON.parse(r.value.toString())),
    objs,
  );

  // With two consumers, a record keeps its object until the slower one has read it.
  const more = Array.from({ length: 10 }, (_, i) => ({ n: 20 + i }));
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  const slow = log.consume({ group: 'slow', topics: ['in'], maxBatch: 100, handle: async () => (await gate, []) });
  await log.append(more.map((o) => ({ topic: 'in', key: null, value: JSON.stringify(o), decoded: o })));
  await waitFor(() => fast.lag() === 0 && !fast.busy(), 5000, 'fast again');
  assert.deepEqual(
    (await log.read('in', 0, 20, 10)).map((r) => r.decoded),
    more,
    'slow has not read them yet',
  );
  release();
  await waitFor(() => slow.lag() === 0 && !slow.busy(), 5000, 'slow');
  assert.deepEqual(
    (await log.read('in', 0, 20, 10)).map((r) => r.decoded),
    more.map(() => undefined),
  );
  await log.close();
});
