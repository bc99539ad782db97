// The read_committed filter of the @platformatic/kafka fetch path (no broker): records of aborted
// transactions are left out whether or not the abort marker is in the same response, and for every
// aborted transaction of a producer, not only its last.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RecordsBatch } from '@platformatic/kafka';
import { collect, type Fetched } from '../../src/log/kafka/platformatic-fetch.js';

const TXN = 0x10;
const CONTROL = 0x20;

function batch(firstOffset: number, producerId: number, values: string[], attributes = TXN): RecordsBatch {
  return {
    firstOffset: BigInt(firstOffset),
    length: 0,
    partitionLeaderEpoch: 0,
    magic: 2,
    crc: 0,
    attributes,
    lastOffsetDelta: values.length - 1,
    firstTimestamp: 1000n,
    maxTimestamp: 1000n,
    producerId: BigInt(producerId),
    producerEpoch: 0,
    firstSequence: 0,
    records: values.map((v, i) => ({ length: 0, attributes: 0, timestampDelta: 0n, offsetDelta: i, key: null, value: Buffer.from(v), headers: [] })),
  };
}

/** A control batch: key = version (int16) then type (int16: 0 abort, 1 commit). */
function marker(offset: number, producerId: number, commit: boolean): RecordsBatch {
  const b = batch(offset, producerId, [''], TXN | CONTROL);
  const key = Buffer.alloc(4);
  key.writeInt16BE(0, 0);
  key.writeInt16BE(commit ? 1 : 0, 2);
  b.records[0].key = key;
  return b;
}

const fresh = (): Fetched => ({ topic: 't', partition: 0, records: [], next: 0, lastStable: -1 });

test('two aborted transactions of one producer in one response are both left out', () => {
  const f = fresh();
  const batches = [batch(0, 7, ['a1', 'a2']), marker(2, 7, false), batch(3, 7, ['ok']), marker(4, 7, true), batch(5, 7, ['b1']), marker(6, 7, false), batch(7, 8, ['other'])];
  collect(f, 0, batches, [
    { producerId: 7n, firstOffset: 0n },
    { producerId: 7n, firstOffset: 5n },
  ]);
  assert.deepEqual(
    f.records.map((r) => r.value.toString()),
    ['ok', 'other'],
  );
  assert.equal(f.next, 8, 'past markers and aborted records');
});

test('an aborted transaction whose marker is beyond the response is left out all the same', () => {
  const f = fresh();
  collect(f, 0, [batch(0, 1, ['kept']), marker(1, 1, true), batch(2, 9, ['x1', 'x2'])], [{ producerId: 9n, firstOffset: 2n }]);
  assert.deepEqual(
    f.records.map((r) => r.value.toString()),
    ['kept'],
  );
  assert.equal(f.next, 4);
});

test('records before the wanted offset are skipped, offsets and timestamps kept', () => {
  const f = fresh();
  collect(f, 1, [batch(0, 1, ['r0', 'r1', 'r2'], 0)], []);
  assert.deepEqual(
    f.records.map((r) => [r.offset, r.value.toString(), r.timestamp]),
    [
      [1, 'r1', 1000],
      [2, 'r2', 1000],
    ],
  );
});
