// The operator page in a real headless browser (Debian's chromium, driven by puppeteer-core): it
// loads, live events appear in the blotter, and a halt from the page, with the token it asks for,
// reaches the log under the operator's name.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import puppeteer, { type Browser } from 'puppeteer-core';
import { TOPICS } from '../../src/domain/events.js';
import { fromRecord } from '../../src/runtime/codec.js';
import { generateIntents } from '../../src/tools/generate.js';
import { ROOT, tempDir } from '../helpers/cli.js';
import { ALICE, serveInProcess, until, type Served } from '../helpers/serve.js';

describe('the operator page in chromium', () => {
  let s: Served;
  let browser: Browser;
  let intents: string;
  const lines = [...generateIntents({ count: 600, seed: 3, stepMs: 50 })];

  before(async () => {
    const dir = tempDir('page');
    intents = join(dir, 'intents.ndjson');
    writeFileSync(intents, lines.slice(0, 300).join('\n') + '\n');
    s = await serveInProcess({ dataDir: join(dir, 'data'), intents });
    const executablePath = execFileSync(join(ROOT, 'infra/dev/chromium.sh'), ['bin'], { encoding: 'utf8' }).trim();
    browser = await puppeteer.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  });
  after(async () => {
    await browser?.close();
    await s?.stop();
  });

  it('loads, shows live events and positions, and halts the scope the operator names', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(s.url, { waitUntil: 'load' });
    assert.equal(await page.title(), 'fillstream operator');
    await page.waitForFunction(`document.getElementById('connection')?.textContent === 'live'`, { timeout: 15_000 });

    // Intents arrive after the page connected: their events must show up in the blotter.
    appendFileSync(intents, lines.slice(300).join('\n') + '\n');
    await page.waitForFunction(`document.querySelectorAll('#events tr[data-type="OrderFilled"]').length > 0`, { timeout: 20_000 });
    const count = await page.$eval('#count', (e) => Number(e.textContent));
    assert.ok(count > 0);
    await page.waitForFunction(`document.querySelectorAll('#positions tr').length > 0`, { timeout: 10_000 });
    assert.ok((await page.$eval('#role', (e) => e.textContent ?? '')).includes('serve on embedded'));

    // Halt from the page: it asks for the token (a prompt), posts, and the log records it.
    page.on('dialog', (d) => void d.accept(ALICE.token));
    await page.evaluate(`document.getElementById('scope').value = 'account:acct-2'; document.getElementById('reason').value = 'halted from the page'`);
    await page.click('#halt');
    await page.waitForFunction(`(document.getElementById('message')?.textContent ?? '').startsWith('halt sent')`, { timeout: 10_000 });
    const halted = await until('the halt on the log', async () => {
      let found: { operator: string; reason: string } | undefined;
      await s.ops.tail!.log.scan([TOPICS.risk], (r) => {
        const e = fromRecord(r);
        if (e.type === 'OperatorCommand' && e.data.scope === 'account:acct-2' && e.data.command === 'halt') found = e.data;
      });
      return found;
    });
    assert.equal(halted.operator, 'alice');
    assert.equal(halted.reason, 'halted from the page');
    // The page shows the new state once risk has acted on it.
    await page.waitForFunction(`document.querySelectorAll('#states td.HALTED').length > 0`, { timeout: 10_000 });
    assert.deepEqual(errors, []);
  });
});
