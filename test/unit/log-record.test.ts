// The records the embedded log hands out decode key, headers and value lazily, from chunks read
// in pieces; they must look exactly like eagerly decoded plain records to any reader.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { JournalCorruptError, openEmbeddedLog } from '../../src/log/embedded/index.js';
import { FRAME_HEADER_BYTES, FrameEncoder, decodeRecordAt, readFrameHead } from '../../src/log/embedded/frame.js';
import { FrameCache, VerifiedFrame } from '../../src/log/embedded/frame-cache.js';
import { decodeHeaders, decodeStr } from '../../src/log/embedded/record.js';
import type { LogRecord, OutRecord } from '../../src/log/types.js';
import { flipByte, rec, segFiles, tmpDir } from '../helpers/log-fixtures.js';

interface Expected {
  topic: string;
  key: string | null;
  headers: Record<string, string>;
  value: Buffer;
}

/** What a reader must see for an appended record: the eager decoding of its bytes. */
function expectedOf(r: OutRecord): Expected {
  const headers: Record<string, string> = {};
  for (const name in r.headers ?? {}) {
    const v = String((r.headers as Record<string, unknown>)[name]);
    // Strings round-trip through UTF-8 (lone surrogates become U+FFFD), exactly as before.
    const name8 = Buffer.from(name, 'utf8').toString('utf8');
    const v8 = Buffer.from(v, 'utf8').toString('utf8');
    Object.defineProperty(headers, name8, { value: v8, enumerable: true, writable: true, configurable: true });
  }
  const key = r.key === null || r.key === undefined ? null : Buffer.from(r.key, 'utf8').toString('utf8');
  const value = typeof r.value === 'string' ? Buffer.from(r.value, 'utf8') : Buffer.from(r.value);
  return { topic: r.topic, key, headers, value };
}

function checkRecord(r: LogRecord, e: Expected, offset: number, what: string): void {
  assert.equal(r.topic, e.topic, what);
  assert.equal(r.partition, 0, what);
  assert.equal(r.offset, offset, what);
  assert.equal(r.key, e.key, `${what}: key`);
  assert.equal(r.key, r.key);
  assert.ok(Buffer.isBuffer(r.value), `${what}: value is a Buffer`);
  assert.equal(r.value.length, e.value.length, `${what}: value length`);
  assert.ok(r.value.equals(e.value), `${what}: value bytes`);
  assert.equal(r.value, r.value, `${what}: the same Buffer on every read`);
  assert.equal(Object.getPrototypeOf(r.headers), Object.prototype, `${what}: headers are a plain object`);
  assert.deepEqual(Object.keys(r.headers), Object.keys(e.headers), `${what}: header names in order`);
  assert.deepEqual(r.headers, e.headers, `${what}: headers`);
  assert.equal(r.headers, r.headers, `${what}: the same headers object on every read`);
  assert.equal(typeof r.timestamp, 'number');
  // JSON shows the same fields as a plain record would.
  const plain = { topic: r.topic, partition: r.partition, offset: r.offset, key: e.key, value: e.value, headers: e.headers, timestamp: r.timestamp, decoded: r.decoded };
  assert.equal(JSON.stringify(r), JSON.stringify(plain), `${what}: JSON`);
}

// Strings that stress the codec: ASCII (interned), non-ASCII, lone surrogates, '__proto__'.
const textArb = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('type', 'intent_id', 'OrderFilled', 'OrderAcked', '', 'é', 'ü-key', '__proto__', 'a\uD800b', '日本'),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.string({ minLength: 60, maxLength: 90 }),
);

const recordArb = fc.record({
  topic: fc.constantFrom('a', 'b', 'c'),
  key: fc.option(textArb, { nil: null }),
  value: fc.oneof(
    fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)),
    fc.string({ maxLength: 200 }),
  ),
  headers: fc.option(fc.dictionary(textArb, textArb, { maxKeys: 4 }), { nil: undefined }),
});

test('lazy records read like eagerly decoded ones: window, disk reads and scans, any chunk size', { timeout: 180_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(recordArb, { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 20 }),
      fc.constantFrom(300, 2048, 1 << 20),
      fc.integer({ min: FRAME_HEADER_BYTES, max: 700 }),
      async (batches, segmentBytes, readChunkBytes) => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fillstream-logrec-'));
        try {
          const log = await openEmbeddedLog({ dir, fsync: 'off', segmentBytes, readChunkBytes });
          const expected: Record<string, Expected[]> = { a: [], b: [], c: [] };
          const order: [string, number][] = [];
          for (const batch of batches) {
            await log.append(batch);
            for (const r of batch) {
              order.push([r.topic, expected[r.topic].length]);
              expected[r.topic].push(expectedOf(r));
            }
          }
          const checkAll = async (l: typeof log, what: string): Promise<void> => {
            for (const topic of ['a', 'b', 'c']) {
              const got = await l.read(topic, 0, 0, 1e9);
              assert.equal(got.length, expected[topic].length);
              got.forEach((r, i) => checkRecord(r, expected[topic][i], i, `${what} read ${topic}/${i}`));
            }
            const seen: LogRecord[] = [];
            assert.equal(await l.scan(['c', 'a', 'b'], (r) => seen.push(r)), order.length);
            seen.forEach((r, i) => checkRecord(r, expected[order[i][0]][order[i][1]], order[i][1], `${what} scan ${i}`));
            // A scan of one topic steps over the frames without it.
            const onlyB: LogRecord[] = [];
            await l.scan(['b'], (r) => onlyB.push(r));
            assert.equal(onlyB.length, expected.b.length);
            onlyB.forEach((r, i) => checkRecord(r, expected.b[i], i, `${what} scan b ${i}`));
          };
          await checkAll(log, 'window');
          await log.close();
          const again = await openEmbeddedLog({ dir, fsync: 'off', segmentBytes, readChunkBytes });
          await checkAll(again, 'disk');
          await again.close();
          const ro = await openEmbeddedLog({ dir, readOnly: true, readChunkBytes: readChunkBytes * 3 });
          await checkAll(ro, 'read-only');
          await ro.close();
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      },
    ),
    { numRuns: 80 },
  );
});

test('frames split across read chunks and frames larger than a chunk scan correctly', async (t) => {
  const dir = tmpDir(t);
  const log = await openEmbeddedLog({ dir, fsync: 'off' });
  const values: string[] = [];
  for (let b = 0; b < 30; b++) {
    const batch: OutRecord[] = [];
    for (let i = 0; i < 1 + (b % 7); i++) {
      const v = `v${values.length}-`.padEnd(b % 5 === 0 ? 900 : 10 + ((b * 13 + i) % 50), 'x');
      values.push(v);
      batch.push(rec(b % 2 ? 'p' : 'q', v, `k${values.length % 3}`, { type: `T${b % 3}`, intent_id: `i${values.length}` }));
    }
    await log.append(batch);
  }
  await log.close();
  for (const readChunkBytes of [8, 9, 64, 333, 1000, 4096, 1 << 20]) {
    const l = await openEmbeddedLog({ dir, fsync: 'off', readChunkBytes });
    const seen: string[] = [];
    const ids: string[] = [];
    await l.scan(['p', 'q'], (r) => {
      seen.push(r.value.toString());
      ids.push(r.headers.intent_id);
    });
    assert.deepEqual(seen, values, `chunk ${readChunkBytes}`);
    assert.deepEqual(
      ids,
      values.map((_, i) => `i${i + 1}`),
    );
    await l.close();
  }
});

test('record fields behave like plain fields: own objects, assignment, inspect', async (t) => {
  const dir = tmpDir(t);
  const log = await openEmbeddedLog({ dir, fsync: 'off', windowRecords: 0 });
  await log.append([rec('t', 'hello', 'k', { type: 'A', intent_id: 'i1' }), rec('t', Buffer.from([1, 2, 3]))]);
  const [a1, b1] = await log.read('t', 0, 0, 10);
  const [a2] = await log.read('t', 0, 0, 1);
  // Every record has its own headers object and value Buffer.
  assert.notEqual(a1.headers, a2.headers);
  assert.notEqual(a1.value, a2.value);
  a1.headers.type = 'changed';
  assert.equal(a2.headers.type, 'A');
  assert.equal((await log.read('t', 0, 0, 1))[0].headers.type, 'A');
  assert.deepEqual(b1.headers, {});
  assert.equal(b1.key, null);
  // Assignment replaces a field, as it would on a plain object.
  const v = Buffer.from('other');
  a1.value = v;
  a1.headers = { x: 'y' };
  a1.key = null;
  a1.decoded = { n: 1 };
  assert.equal(a1.value, v);
  assert.deepEqual(a1.headers, { x: 'y' });
  assert.equal(a1.key, null);
  (a2 as { key: unknown }).key = undefined;
  assert.equal(a2.key, undefined);
  // Shown like a plain record.
  assert.match(inspect(b1), /value: <Buffer 01 02 03>/);
  assert.match(inspect(a2), /headers: \{ type: 'A', intent_id: 'i1' \}/);
  const fromScan: LogRecord[] = [];
  await log.scan(['t'], (r) => fromScan.push(r));
  assert.equal(fromScan[0].value.toString(), 'hello');
  assert.deepEqual(Object.keys(fromScan[0]).sort(), ['decoded', 'offset', 'partition', 'timestamp', 'topic']);
  await log.close();
});

test('decodeStr equals Buffer#toString for any bytes, cached or not', () => {
  // Many same-length ASCII strings differing in a few positions collide in the cache's hash.
  const similar = fc.tuple(fc.constantFrom('abcdefgh', 'ab-def-h', 'zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz'), fc.nat(99)).map(([s, n]) => {
    const a = [...s];
    a[3] = String.fromCharCode(97 + (n % 26));
    a[a.length - 3] = String.fromCharCode(48 + (n % 10));
    return Buffer.from(a.join(''), 'latin1');
  });
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 80 }).map((u) => Buffer.from(u)),
    similar,
    fc.string({ maxLength: 20 }).map((s) => Buffer.from(s)),
  );
  fc.assert(
    fc.property(fc.array(bytes, { minLength: 1, maxLength: 40 }), (parts) => {
      const buf = Buffer.concat([Buffer.from([0xc3]), ...parts, Buffer.from([0xa9])]);
      for (let round = 0; round < 2; round++) {
        let p = 1;
        for (const part of parts) {
          assert.equal(decodeStr(buf, p, p + part.length), buf.toString('utf8', p, p + part.length));
          p += part.length;
        }
      }
    }),
    { numRuns: 500 },
  );
  // An ASCII string in the cache never stands in for different (or invalid) bytes of its length.
  const b = Buffer.from('\u00e9x', 'latin1'); // 0xe9 'x': invalid UTF-8
  assert.equal(decodeStr(Buffer.from('\u00e9x'), 0, 3), '\u00e9x');
  assert.equal(decodeStr(b, 0, 2), '\ufffdx');
});

test('decodeHeaders matches an eager reference decoding as header names change from record to record', () => {
  const enc = new FrameEncoder();
  const hArb = fc.dictionary(fc.oneof(textArb, fc.constantFrom('type', 'typf', 'intent_id')), textArb, { maxKeys: 5 });
  fc.assert(
    fc.property(fc.array(hArb, { minLength: 1, maxLength: 20 }), (hs) => {
      const { buf } = enc.encode(
        0,
        null,
        [],
        hs.map((headers) => ({ topic: 't', key: null, value: 'v', headers })),
      );
      const head = readFrameHead(buf, FRAME_HEADER_BYTES, buf.length);
      let q = head.recordsAt;
      for (const h of hs) {
        const r = decodeRecordAt(buf, q, 't', 0, 0);
        const e = expectedOf({ topic: 't', key: null, value: 'v', headers: h }).headers;
        assert.deepEqual(Object.keys(r.headers), Object.keys(e));
        assert.deepEqual(r.headers, e);
        assert.deepEqual(decodeHeaders(buf, q + 14), e);
        q += 4 + buf.readUInt32LE(q);
      }
    }),
    { numRuns: 300 },
  );
});

/** Start of every frame in a segment file. */
function framePositions(file: string): number[] {
  const buf = fs.readFileSync(file);
  const out: number[] = [];
  for (let p = 0; p + FRAME_HEADER_BYTES <= buf.length; p += FRAME_HEADER_BYTES + buf.readUInt32LE(p)) out.push(p);
  return out;
}

test('scan and read check the crc of what they decode, and the frame positions of what they step over', async (t) => {
  const dir = tmpDir(t);
  const log = await openEmbeddedLog({ dir, fsync: 'off', windowRecords: 0 });
  await log.append([rec('a', 'a0'), rec('a', 'a1')]);
  await log.append([rec('b', 'b0')]);
  await log.append([rec('a', 'a2'), rec('b', 'b1')]);
  await log.append([rec('b', 'b2')]);
  const [file] = segFiles(dir);
  const frames = framePositions(file);
  assert.equal(frames.length, 4);

  // Damage after open: a byte of the last value of frame 2 (holds a and b).
  flipByte(file, frames[3] - 1);
  await assert.rejects(
    log.scan(['a'], () => undefined),
    (e: unknown) => e instanceof JournalCorruptError && /crc mismatch/.test(e.message),
  );
  await assert.rejects(
    log.scan(['b'], () => undefined),
    JournalCorruptError,
  );
  await assert.rejects(log.read('b', 0, 1, 2), JournalCorruptError);
  // Records of intact frames still read.
  assert.deepEqual(
    (await log.read('a', 0, 0, 2)).map((r) => r.value.toString()),
    ['a0', 'a1'],
  );
  flipByte(file, frames[3] - 1);

  // A frame only of topic b: its payload is not decoded by a scan of a, but its length is checked.
  flipByte(file, frames[1] + FRAME_HEADER_BYTES + 3);
  const seen: string[] = [];
  await log.scan(['a'], (r) => seen.push(r.value.toString()));
  assert.deepEqual(seen, ['a0', 'a1', 'a2']);
  await assert.rejects(
    log.scan(['b'], () => undefined),
    /crc mismatch/,
  );
  flipByte(file, frames[1] + FRAME_HEADER_BYTES + 3);
  flipByte(file, frames[1]); // its length
  await assert.rejects(
    log.scan(['a'], () => undefined),
    (e: unknown) => e instanceof JournalCorruptError && /not where the index has it|bad frame length/.test(e.message),
  );
  flipByte(file, frames[1]);
  const all: string[] = [];
  await log.scan(['a', 'b'], (r) => all.push(r.value.toString()));
  assert.deepEqual(all, ['a0', 'a1', 'b0', 'a2', 'b1', 'b2']);
  await log.close();
});

test('reads of any range and topic, in any order, return the right records (frames shared through the cache)', async (t) => {
  const dir = tmpDir(t);
  const log = await openEmbeddedLog({ dir, fsync: 'off', segmentBytes: 4096 });
  const sent: Record<string, string[]> = { a: [], b: [] };
  for (let f = 0; f < 60; f++) {
    const batch: OutRecord[] = [];
    for (let i = 0; i < 1 + (f % 9); i++) {
      const topic = (f + i) % 3 === 0 ? 'b' : 'a';
      const v = `${topic}${sent[topic].length}:${'.'.repeat((f * 31 + i * 7) % 90)}`;
      sent[topic].push(v);
      batch.push(rec(topic, v, null, { n: String(sent[topic].length - 1) }));
    }
    await log.append(batch);
  }
  await log.close();
  const again = await openEmbeddedLog({ dir, fsync: 'off', windowRecords: 0 });
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom('a', 'b'), fc.nat(300), fc.integer({ min: 1, max: 200 })), { minLength: 1, maxLength: 30 }), async (reads) => {
      const got = await Promise.all(reads.map(([topic, from, max]) => again.read(topic, 0, from, max)));
      reads.forEach(([topic, from, max], k) => {
        const exp = sent[topic].slice(from, from + max);
        assert.deepEqual(
          got[k].map((r) => r.value.toString()),
          exp,
        );
        got[k].forEach((r, i) => {
          assert.equal(r.offset, from + i);
          assert.deepEqual(r.headers, { n: String(from + i) });
        });
      });
    }),
    { numRuns: 100 },
  );
  await again.close();
});

test('the frame cache holds verified frames up to its bound, counting each buffer once', () => {
  const head = { timestamp: 0, topics: [], group: null, offsets: [], recordCount: 0, recordsAt: 0, rawLength: 0, zstdAt: 0 };
  const cache = new FrameCache(1000);
  const b1 = Buffer.alloc(600);
  const b2 = Buffer.alloc(300);
  const b3 = Buffer.alloc(500);
  cache.put(1, new VerifiedFrame(b1, 100, head));
  cache.put(2, new VerifiedFrame(b1, 600, head));
  assert.equal(cache.size(), 600, 'two frames of one buffer count it once');
  cache.put(3, new VerifiedFrame(b2, 300, head));
  assert.equal(cache.size(), 900);
  assert.ok(cache.get(1), 'frame 1 is now the most recently used');
  cache.put(4, new VerifiedFrame(b3, 500, head));
  // b1 is held by frames 1 and 2; evicting the oldest (2, then 3) is not enough while 1 holds b1.
  assert.equal(cache.get(2), undefined);
  assert.equal(cache.get(3), undefined);
  assert.equal(cache.get(1), undefined);
  assert.ok(cache.get(4));
  assert.equal(cache.size(), 500);
  cache.put(5, new VerifiedFrame(Buffer.alloc(2000), 10, head));
  assert.equal(cache.get(5), undefined, 'a buffer larger than the bound is not kept');
  assert.equal(cache.size(), 500);
  cache.clear();
  assert.equal(cache.size(), 0);
});
