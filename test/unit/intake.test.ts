import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedLog } from '../../src/log/embedded/index.js';
import { intakeFile, MAX_LINE_BYTES } from '../../src/intake/intake.js';
import { TOPICS } from '../../src/domain/events.js';

test('intake: lines across chunks, CRLF and blank lines; an endless line is cut, the lines after it survive; a rerun resumes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fillstream-intake-'));
  const file = join(dir, 'in.ndjson');
  const long = 'x'.repeat(3 * MAX_LINE_BYTES + 17);
  writeFileSync(file, `a\r\n\n  \nb\n${long}\nc\nd-without-newline`);
  const log = await openEmbeddedLog({ dir: join(dir, 'log'), fsync: 'off' });
  try {
    assert.equal(await intakeFile(log, file), 5);
    const recs = await log.read(TOPICS.intents, 0, 0, 100);
    const vals = recs.map((r) => r.value.toString());
    assert.deepEqual([vals[0], vals[1], vals[3], vals[4]], ['a', 'b', 'c', 'd-without-newline']);
    assert.equal(recs[2].value.length, MAX_LINE_BYTES, 'the long line is kept up to the cap');
    // Nothing new: a rerun reads nothing; appended lines are picked up from the committed position.
    assert.equal(await intakeFile(log, file), 0);
    appendFileSync(file, '\ne\n');
    assert.equal(await intakeFile(log, file), 1);
    assert.equal((await log.read(TOPICS.intents, 0, 5, 10))[0].value.toString(), 'e');
  } finally {
    await log.close();
  }
});
