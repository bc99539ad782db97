// Child process for the embedded log's crash and lock tests.
//   copy <dir> <n> <fsync>: append records a-0..a-(n-1) to topic A (resuming where the log ends) while a
//     consumer copies A to B with consume/commit; prints "done" and exits 0 once B has caught up.
//   hold <dir>: open the log, print "ready", and wait to be killed.
import { openEmbeddedLog, type FsyncMode } from '../../src/log/embedded/index.js';

const TOPIC_A = 'crash.a';
const TOPIC_B = 'crash.b';
const COPY_GROUP = 'copier';

const [mode, dir, nArg, fsyncArg] = process.argv.slice(2);

if (mode === 'hold') {
  await openEmbeddedLog({ dir, fsync: 'off' });
  process.stdout.write('ready\n');
  setInterval(() => undefined, 1 << 30);
} else if (mode === 'copy') {
  const n = Number(nArg);
  const log = await openEmbeddedLog({ dir, fsync: (fsyncArg ?? 'always') as FsyncMode, segmentBytes: 64 * 1024 });
  const consumer = log.consume({
    group: COPY_GROUP,
    topics: [TOPIC_A],
    maxBatch: 17,
    handle: (batch) =>
      batch.map((r) => ({
        topic: TOPIC_B,
        key: r.key,
        value: Buffer.concat([Buffer.from('b:'), r.value]),
        headers: { src: String(r.offset) },
      })),
  });
  process.stdout.write('ready\n');
  // Producer: resume from the log's end, in small chunks of random size.
  let next = log.endOffsetNow(TOPIC_A, 0);
  while (next < n) {
    const size = Math.min(n - next, 1 + Math.floor(Math.random() * 40));
    const recs = [];
    for (let i = 0; i < size; i++) recs.push({ topic: TOPIC_A, key: `k${(next + i) % 7}`, value: `a-${next + i}` });
    const pos = await log.append(recs);
    next = pos[pos.length - 1].offset + 1;
  }
  while (consumer.lag() > 0 || log.committedNow(COPY_GROUP, TOPIC_A, 0) < n) {
    await Promise.race([consumer.done, new Promise((r) => setTimeout(r, 5))]);
  }
  await log.close();
  await consumer.done;
  process.stdout.write('done\n');
} else {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exit(2);
}
