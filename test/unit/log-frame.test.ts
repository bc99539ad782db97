import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { FRAME_HEADER_BYTES, FrameEncoder, FrameFormatError, checkFrame, decodeRecordAt, readFrameHead } from '../../src/log/embedded/frame.js';
import { readFrames } from '../../src/log/embedded/segments.js';
import type { OutRecord } from '../../src/log/types.js';
import { tmpDir } from '../helpers/log-fixtures.js';

test('a frame round-trips records, offsets and its header fields', () => {
  const enc = new FrameEncoder();
  const records: OutRecord[] = [
    { topic: 't1', key: 'k', value: 'héllo', headers: { a: '1', ü: 'ß' } },
    { topic: 't2', key: null, value: Buffer.from([0, 1, 2]) },
    { topic: 't1', key: '', value: '' },
  ];
  const offsets = [{ topic: 'source:f.jsonl', partition: 2, offset: 2 ** 40 }];
  const { buf, topics, recordTopic, valueStart, valueEnd } = enc.encode(1234.5, 'grp', offsets, records);
  assert.deepEqual(topics, ['t1', 't2']);
  assert.deepEqual([...recordTopic], [0, 1, 0]);
  assert.equal(buf.subarray(valueStart[0], valueEnd[0]).toString(), 'héllo');
  const len = checkFrame(buf, 0, buf.length);
  assert.equal(len, buf.length - FRAME_HEADER_BYTES);
  const head = readFrameHead(buf, FRAME_HEADER_BYTES, buf.length);
  assert.equal(head.timestamp, 1234.5);
  assert.equal(head.group, 'grp');
  assert.deepEqual(head.offsets, offsets);
  assert.equal(head.recordCount, 3);
  let q = head.recordsAt;
  const got = [];
  for (let i = 0; i < head.recordCount; i++) {
    assert.equal(head.topics[buf.readUInt16LE(q + 4)], records[i].topic);
    got.push(decodeRecordAt(buf, q, records[i].topic, i, head.timestamp));
    q += 4 + buf.readUInt32LE(q);
  }
  assert.equal(q, buf.length);
  assert.deepEqual(got[0].headers, { a: '1', ü: 'ß' });
  assert.equal(got[0].key, 'k');
  assert.equal(got[1].key, null);
  assert.equal(got[2].key, '');
  assert.deepEqual([...got[1].value], [0, 1, 2]);
  assert.equal(got[2].value.length, 0);

  // The crc catches any flipped bit; a cut frame is reported as such.
  const bad = Buffer.from(buf);
  bad[bad.length - 1] ^= 1;
  assert.throws(() => checkFrame(bad, 0, bad.length), /crc mismatch/);
  assert.throws(() => checkFrame(buf, 0, buf.length - 1), FrameFormatError);
  // A header named __proto__ stays a plain own property.
  const weird = JSON.parse('{"__proto__":"x"}') as Record<string, string>;
  const f2 = enc.encode(0, null, [], [{ topic: 't', key: null, value: 'v', headers: weird }]).buf;
  const h2 = readFrameHead(f2, FRAME_HEADER_BYTES, f2.length);
  const r2 = decodeRecordAt(f2, h2.recordsAt, 't', 0, 0);
  assert.equal(Object.getPrototypeOf(r2.headers), Object.prototype);
  assert.deepEqual(Object.keys(r2.headers), ['__proto__']);
});

test('the encoder rejects bad input before writing anything', () => {
  const enc = new FrameEncoder();
  assert.throws(() => enc.encode(0, null, [], [{ topic: '', key: null, value: 'x' }]), /non-empty string/);
  assert.throws(() => enc.encode(0, null, [], [{ topic: 't', key: 5 as never, value: 'x' }]), /key must be/);
  assert.throws(() => enc.encode(0, null, [], [{ topic: 't', key: null, value: 5 as never }]), /value must be/);
  assert.throws(() => enc.encode(0, null, [{ topic: 't', partition: 0, offset: 1 }], []), /need a group/);
  assert.throws(() => enc.encode(0, 'g', [{ topic: 't', partition: 0, offset: 1.5 }], []), /bad offset/);
});

test('chunked sequential reads hand every frame to the parser exactly once, whatever the chunk size', async (t) => {
  const dir = tmpDir(t);
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(fc.string({ maxLength: 300 }), { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 30 }),
      fc.integer({ min: 8, max: 3000 }),
      async (frames, chunk) => {
        const enc = new FrameEncoder();
        const file = path.join(dir, 'frames.bin');
        const parts = frames.map((vs) =>
          Buffer.from(
            enc.encode(
              0,
              null,
              [],
              vs.map((v) => ({ topic: 't', key: null, value: v })),
            ).buf,
          ),
        );
        fs.writeFileSync(file, Buffer.concat(parts));
        const size = fs.statSync(file).size;
        const seen: string[] = [];
        const fd = fs.openSync(file, 'r');
        try {
          const end = await readFrames(fd, 0, size, chunk, (buf, start, stop) => {
            let p = start;
            while (stop - p >= FRAME_HEADER_BYTES) {
              const len = buf.readUInt32LE(p);
              if (p + FRAME_HEADER_BYTES + len > stop) break;
              checkFrame(buf, p, stop);
              const head = readFrameHead(buf, p + FRAME_HEADER_BYTES, p + FRAME_HEADER_BYTES + len);
              let q = head.recordsAt;
              for (let i = 0; i < head.recordCount; i++) {
                seen.push(decodeRecordAt(buf, q, 't', 0, 0).value.toString());
                q += 4 + buf.readUInt32LE(q);
              }
              p += FRAME_HEADER_BYTES + len;
            }
            return { used: p - start, stop: false };
          });
          assert.equal(end, size);
        } finally {
          fs.closeSync(fd);
        }
        assert.deepEqual(seen, frames.flat());
      },
    ),
    { numRuns: 200 },
  );
});
