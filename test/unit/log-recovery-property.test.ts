// Property: whatever happens to the tail of the last segment (cut, flipped byte in the last
// frame, garbage), reopening yields exactly the prefix of whole, intact frames, and the log keeps
// working; a flipped byte with intact frames after it is refused as corruption.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { JournalCorruptError, openEmbeddedLog } from '../../src/log/embedded/index.js';
import type { OutRecord } from '../../src/log/types.js';
import { flipByte, readAll, segFiles } from '../helpers/log-fixtures.js';

const TOPICS = ['a', 'b', 'c'];

const recordArb = fc.record({
  topic: fc.constantFrom(...TOPICS),
  key: fc.option(fc.string({ maxLength: 8 }), { nil: null }),
  value: fc.uint8Array({ maxLength: 120 }),
  headers: fc.dictionary(fc.string({ minLength: 1, maxLength: 4 }), fc.string({ maxLength: 6 }), { maxKeys: 2 }),
});

const damageArb = fc.oneof(
  fc.record({ kind: fc.constant('cut' as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }) }),
  fc.record({ kind: fc.constant('garbage' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
);

test('recovery keeps exactly the intact prefix of frames', { timeout: 120_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(recordArb, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 25 }),
      fc.constantFrom(256, 1024, 1 << 20),
      damageArb,
      async (frames, segmentBytes, damage) => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fillstream-logprop-'));
        try {
          const log = await openEmbeddedLog({ dir, fsync: 'off', segmentBytes });
          const ends: number[] = [];
          for (const f of frames) {
            await log.append(f.map((r) => ({ ...r, value: Buffer.from(r.value) })));
            ends.push(log.stats().bytes);
          }
          await log.close();

          const segs = segFiles(dir);
          const last = segs[segs.length - 1];
          const lastBase = Number(path.basename(last, '.seg'));
          const size = fs.statSync(last).size;
          // Frames that end at or before `keepUpTo` (a global byte position) survive.
          let keepUpTo: number;
          if (damage.kind === 'cut') {
            const cut = Math.floor(damage.at * size);
            fs.truncateSync(last, cut);
            keepUpTo = lastBase + cut;
          } else if (damage.kind === 'flip') {
            if (size === 0) return;
            const at = Math.floor(damage.at * size);
            flipByte(last, at);
            // The frame holding the flipped byte and all after it are lost.
            const hit = ends.findIndex((e) => e > lastBase + at);
            if (hit < ends.length - 1) {
              // Intact frames follow the damaged one: that is corruption, not a torn write, and
              // open refuses instead of cutting acknowledged commits away.
              await assert.rejects(openEmbeddedLog({ dir, fsync: 'off', segmentBytes }), JournalCorruptError);
              return;
            }
            keepUpTo = hit === 0 ? 0 : ends[hit - 1];
          } else {
            fs.appendFileSync(last, damage.bytes);
            keepUpTo = lastBase + size;
          }
          const kept = ends.filter((e) => e <= keepUpTo).length;
          const expectBytes = kept === 0 ? 0 : ends[kept - 1];

          const again = await openEmbeddedLog({ dir, fsync: 'off', segmentBytes });
          try {
            assert.equal(again.stats().frames, kept);
            assert.equal(again.stats().bytes, expectBytes);
            const want = frames.slice(0, kept).flat();
            for (const topic of TOPICS) {
              const got = await readAll(again, topic);
              const exp = want.filter((r) => r.topic === topic);
              assert.equal(got.length, exp.length);
              got.forEach((g, i) => {
                assert.equal(g.offset, i);
                assert.equal(g.key, exp[i].key);
                assert.deepEqual(g.headers, { ...exp[i].headers });
                assert.ok(g.value.equals(Buffer.from(exp[i].value)));
              });
            }
            // The log keeps working after recovery.
            const [p] = await again.append([{ topic: 'a', key: null, value: 'next' }]);
            assert.equal(p.offset, want.filter((r) => r.topic === 'a').length);
          } finally {
            await again.close();
          }
          const third = await openEmbeddedLog({ dir, fsync: 'off', segmentBytes });
          assert.equal(third.recovered.truncatedBytes, 0);
          assert.equal(third.stats().frames, kept + 1);
          await third.close();
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      },
    ),
    { numRuns: 150 },
  );
});

test('the window holds exactly the last windowRecords records of each topic', { timeout: 120_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 3000 }),
      fc.array(fc.tuple(fc.integer({ min: 1, max: 400 }), fc.constantFrom('a', 'b')), { minLength: 1, maxLength: 30 }),
      async (windowRecords, batches) => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fillstream-logwin-'));
        try {
          const log = await openEmbeddedLog({ dir, fsync: 'off', windowRecords });
          const sent: Record<string, { n: number }[]> = { a: [], b: [] };
          for (const [size, topic] of batches) {
            const recs: OutRecord[] = [];
            for (let i = 0; i < size; i++) {
              const obj = { n: sent[topic].length };
              sent[topic].push(obj);
              // Every other record goes to the other topic too, so frames mix topics.
              recs.push({ topic, key: null, value: JSON.stringify(obj), decoded: obj });
              if (i % 2) recs.push({ topic: topic === 'a' ? 'b' : 'a', key: 'x', value: 'filler', decoded: null });
              if (i % 2) sent[topic === 'a' ? 'b' : 'a'].push({ n: -1 });
            }
            await log.append(recs);
          }
          for (const topic of ['a', 'b']) {
            const got = await readAll(log, topic);
            const exp = sent[topic];
            assert.equal(got.length, exp.length);
            const low = Math.max(0, exp.length - windowRecords);
            got.forEach((r, i) => {
              if (exp[i].n < 0) assert.equal(r.value.toString(), 'filler');
              else assert.equal(r.value.toString(), JSON.stringify(exp[i]));
              if (i >= low) assert.equal(r.decoded, exp[i].n < 0 ? null : exp[i], `${topic} ${i} in window`);
              else assert.equal(r.decoded, undefined, `${topic} ${i} read from disk`);
            });
          }
          await log.close();
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      },
    ),
    { numRuns: 60 },
  );
});
