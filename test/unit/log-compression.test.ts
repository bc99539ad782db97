// Compressed frames (version 2) of the embedded log: what they hold, that every read path gives the
// records back as written, and that damage is caught.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { test } from 'node:test';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import {
  COMPRESS_MIN_BYTES,
  FRAME_HEADER_BYTES,
  FRAME_VERSION_ZSTD,
  FrameEncoder,
  checkFrame,
  compressFrame,
  decodeRecordAt,
  inflateFrame,
  readFrameHead,
  zstdRecordTopic,
} from '../../src/log/embedded/frame.js';
import { JournalCorruptError, openEmbeddedLog, type LogCompression } from '../../src/log/embedded/index.js';
import type { LogRecord, OutRecord } from '../../src/log/types.js';
import { readAll, segFiles, tmpDir } from '../helpers/log-fixtures.js';

/** Event-like records: repetitive JSON, as the pipeline writes. */
function events(n: number, from = 0): OutRecord[] {
  const out: OutRecord[] = [];
  for (let i = from; i < from + n; i++) {
    const topic = i % 3 === 0 ? 'exec.risk' : 'exec.gateway';
    const value = JSON.stringify({ event_id: `i${i}/ack`, type: 'OrderAcked', intent_id: `i${i}`, account: 'acct-1', data: { qty: '0.5', px: `${65000 + i}.25` } });
    out.push({ topic, key: `k${i % 7}`, value, headers: { type: 'OrderAcked', intent_id: `i${i}` } });
  }
  return out;
}

test('a compressed frame keeps its head, lists its records topics and inflates to the plain records', () => {
  const enc = new FrameEncoder().encode(99.5, 'grp', [{ topic: 'exec.intents', partition: 0, offset: 7 }], events(200));
  const plain = Buffer.from(enc.buf);
  const z = compressFrame(enc);
  assert.ok(z, 'repetitive records compress');
  assert.ok(z.length < plain.length / 2, `${z.length} bytes against ${plain.length}`);
  assert.ok(plain.equals(enc.buf), 'the encoded frame is left as it was');

  const len = checkFrame(z, 0, z.length);
  assert.equal(z[FRAME_HEADER_BYTES], FRAME_VERSION_ZSTD);
  const head = readFrameHead(z, FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + len);
  assert.equal(head.timestamp, 99.5);
  assert.equal(head.group, 'grp');
  assert.deepEqual(head.offsets, [{ topic: 'exec.intents', partition: 0, offset: 7 }]);
  assert.equal(head.recordCount, 200);
  assert.equal(head.rawLength, plain.length - enc.recordsAt);
  for (let i = 0; i < 200; i++) assert.equal(zstdRecordTopic(z, head, i), enc.recordTopic[i]);

  const open = inflateFrame(z, FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + len);
  assert.ok(open.buf.equals(plain.subarray(enc.recordsAt)), 'inflates to the version 1 records, byte for byte');
  let q = open.head.recordsAt;
  const sent = events(200);
  for (let i = 0; i < 200; i++) {
    const r = decodeRecordAt(open.buf, q, head.topics[enc.recordTopic[i]], i, head.timestamp);
    assert.equal(r.value.toString(), sent[i].value);
    assert.equal(r.key, sent[i].key);
    assert.deepEqual(r.headers, sent[i].headers);
    q += 4 + open.buf.readUInt32LE(q);
  }
  assert.equal(q, open.end);
});

test('small or incompressible records stay plain', () => {
  const encoder = new FrameEncoder();
  const small = encoder.encode(0, null, [], [{ topic: 't', key: null, value: 'x'.repeat(COMPRESS_MIN_BYTES - 40) }]);
  assert.equal(compressFrame(small), null);
  const noise = encoder.encode(0, null, [], [{ topic: 't', key: null, value: randomBytes(COMPRESS_MIN_BYTES * 2) }]);
  assert.equal(compressFrame(noise), null, 'bytes that do not shrink are written as they are');
});

test('compressed records that do not inflate to the length given are refused as malformed', () => {
  const enc = new FrameEncoder().encode(0, null, [], events(200));
  const z = Buffer.from(compressFrame(enc) as Buffer);
  const head = readFrameHead(z, FRAME_HEADER_BYTES, z.length);
  const wrongLength = Buffer.from(z);
  wrongLength.writeUInt32LE(head.rawLength + 1, head.zstdAt - 4);
  assert.throws(() => inflateFrame(wrongLength, FRAME_HEADER_BYTES, wrongLength.length), /inflate/);
  const garbage = Buffer.from(z);
  garbage.fill(0x41, head.zstdAt, head.zstdAt + 8);
  assert.throws(() => inflateFrame(garbage, FRAME_HEADER_BYTES, garbage.length), /inflate/);
});

async function writeAll(dir: string, compression: LogCompression, batches: OutRecord[][]): Promise<number> {
  const log = await openEmbeddedLog({ dir, fsync: 'off', compression, windowRecords: 0 });
  for (const b of batches) await log.append(b);
  const bytes = log.stats().bytes;
  await log.close();
  return bytes;
}

const plainOf = (rs: LogRecord[]): unknown[] => rs.map((r) => [r.topic, r.offset, r.key, r.headers, r.value.toString()]);

test('the log reads back the same records compressed or not: from disk, by scan, after reopen and across a change of setting', async (t) => {
  // Batches of every size around the threshold, so plain and compressed frames interleave.
  const batches: OutRecord[][] = [];
  for (let b = 0, i = 0; b < 30; b++) {
    const n = [1, 2, 5, 40, 3, 200][b % 6];
    batches.push(events(n, i));
    i += n;
  }
  const plainDir = tmpDir(t);
  const zDir = tmpDir(t);
  const plainBytes = await writeAll(plainDir, 'none', batches);
  const zBytes = await writeAll(zDir, 'zstd', batches);
  assert.ok(zBytes < plainBytes / 3, `zstd log ${zBytes} bytes against ${plainBytes}`);

  const a = await openEmbeddedLog({ dir: plainDir, readOnly: true });
  const b = await openEmbeddedLog({ dir: zDir, compression: 'zstd', windowRecords: 0 });
  for (const topic of ['exec.risk', 'exec.gateway']) {
    const want = plainOf(await readAll(a, topic));
    assert.ok(want.length > 100);
    assert.deepEqual(plainOf(await readAll(b, topic)), want, `${topic} read from disk`);
    // Reads that start and end inside frames.
    assert.deepEqual(plainOf(await b.read(topic, 0, 37, 61)), want.slice(37, 98));
  }
  const scanA: LogRecord[] = [];
  const scanB: LogRecord[] = [];
  await a.scan(['exec.gateway', 'exec.risk'], (r) => scanA.push(r));
  await b.scan(['exec.gateway', 'exec.risk'], (r) => scanB.push(r));
  assert.deepEqual(plainOf(scanB), plainOf(scanA), 'scan visits the same records in the same order');

  // Written on, uncompressed, after a reopen: a log holds frames of both kinds.
  await b.close();
  await writeAll(zDir, 'none', [events(50, 5000)]);
  await a.close();
  await writeAll(plainDir, 'none', [events(50, 5000)]);
  const a2 = await openEmbeddedLog({ dir: plainDir, readOnly: true });
  const b2 = await openEmbeddedLog({ dir: zDir, readOnly: true });
  for (const topic of ['exec.risk', 'exec.gateway']) assert.deepEqual(plainOf(await readAll(b2, topic)), plainOf(await readAll(a2, topic)));
  await a2.close();
  await b2.close();
});

test('a flipped byte in a compressed frame fails its crc; records that do not inflate are a clear error', async (t) => {
  const dir = tmpDir(t);
  const log = await openEmbeddedLog({ dir, fsync: 'off', windowRecords: 0 });
  await log.append(events(200));
  const mid = log.stats().bytes;
  await log.append(events(200, 200));
  const end = log.stats().bytes;
  await log.close();
  const [seg] = segFiles(dir);

  // Damage past the crc's reach is what a torn write leaves: the last frame is dropped on open.
  const bytes = fs.readFileSync(seg);
  const torn = Buffer.from(bytes);
  torn[end - 3] ^= 0x5a;
  fs.writeFileSync(seg, torn);
  const again = await openEmbeddedLog({ dir, fsync: 'off' });
  assert.match(String(again.recovered.reason), /crc/);
  assert.equal(again.recovered.truncatedBytes, end - mid);
  assert.equal(again.endOffsetNow('exec.gateway', 0) + again.endOffsetNow('exec.risk', 0), 200);
  await again.close();

  // A first frame whose zstd bytes are damaged but whose crc was made to match: recovery indexes
  // it (it does not inflate), reading it says where and why.
  const bad = Buffer.from(bytes.subarray(0, mid));
  const head = readFrameHead(bad, FRAME_HEADER_BYTES, mid);
  bad.fill(0x41, head.zstdAt, head.zstdAt + 16);
  bad.writeUInt32LE(crc32(bad.subarray(FRAME_HEADER_BYTES, mid)), 4);
  fs.writeFileSync(seg, bad);
  const opened = await openEmbeddedLog({ dir, fsync: 'off', windowRecords: 0 });
  assert.equal(opened.recovered.truncatedBytes, 0);
  await assert.rejects(readAll(opened, 'exec.gateway'), (e: unknown) => e instanceof JournalCorruptError && /byte 0: records do not inflate/.test(e.message));
  await assert.rejects(
    opened.scan(['exec.risk'], () => {}),
    (e: unknown) => e instanceof JournalCorruptError && /frame at byte 0: malformed frame: records do not inflate/.test(e.message),
  );
  await opened.close();
});

test('property: any batches read back alike from a compressed and a plain log', async (t) => {
  const record = fc.record({
    topic: fc.constantFrom('a', 'b', 'exec.c'),
    key: fc.option(fc.string({ maxLength: 8 }), { nil: null }),
    value: fc.string({ maxLength: 300 }),
  });
  const big = fc.record({
    topic: fc.constantFrom('a', 'b', 'exec.c'),
    key: fc.option(fc.string({ maxLength: 8 }), { nil: null }),
    value: fc.integer({ min: 0, max: 1e6 }).map((n) => `{"type":"OrderFilled","qty":"${n}.5","note":"${'x'.repeat(n % 700)}"}`),
  });
  let run = 0;
  let smaller = 0;
  await fc.assert(
    // Small batches stay plain; batches of many event-sized values pass the threshold.
    fc.asyncProperty(
      fc.array(fc.oneof(fc.array(record, { minLength: 1, maxLength: 10 }), fc.array(big, { minLength: 20, maxLength: 60 })), { minLength: 1, maxLength: 8 }),
      async (batches) => {
        const dirs = [tmpDir(t) + `/p${run}`, tmpDir(t) + `/z${run++}`];
        const plainBytes = await writeAll(dirs[0], 'none', batches);
        if ((await writeAll(dirs[1], 'zstd', batches)) < plainBytes) smaller++;
        const logs = await Promise.all(dirs.map((dir) => openEmbeddedLog({ dir, readOnly: true })));
        for (const topic of ['a', 'b', 'exec.c']) assert.deepEqual(plainOf(await readAll(logs[1], topic)), plainOf(await readAll(logs[0], topic)));
        await Promise.all(logs.map((l) => l.close()));
      },
    ),
    { numRuns: 40 },
  );
  assert.ok(smaller > 0, 'some runs wrote compressed frames');
});
