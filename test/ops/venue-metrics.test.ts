// Venue health on the operating surface: serve with a live venue (the Binance emulator on
// loopback, its real protocol) exports the venue's rate-limit headroom and standing, times its
// answers, and counts a placement that got no answer as a venue error.
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadVenuesFile } from '../../src/assembly/venues.js';
import { Health } from '../../src/ops/contract.js';
import { tempDir } from '../helpers/cli.js';
import { KEYS, liveIntent, liveVenue, type LiveVenueFixture } from '../helpers/live.js';
import { ALICE, getJson, post, serveInProcess, until, type Served } from '../helpers/serve.js';

describe('venue health in metrics', () => {
  let s: Served;
  let fx: LiveVenueFixture;
  let intents: string;
  const saved = { ...process.env };

  before(async () => {
    const dir = tempDir('venue-metrics');
    fx = await liveVenue('BINANCE', dir);
    // The venues file names the keys' variables; this process is the one that reads them.
    for (const [k, v] of Object.entries(fx.env)) if (k.startsWith('FS_TEST_')) process.env[k] = v;
    intents = join(dir, 'intents.ndjson');
    writeFileSync(intents, JSON.stringify(liveIntent('vm-1', 'BINANCE', 'BTCUSDT')) + '\n');
    s = await serveInProcess({ dataDir: join(dir, 'data'), intents, venues: loadVenuesFile(fx.venuesFile) });
  });
  after(async () => {
    await s?.stop();
    await fx?.close();
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  });

  const metric = async (re: RegExp) => re.exec(await (await fetch(`${s.url}/metrics`)).text())?.[1];

  it("exports the venue's headroom, standing and answer times", async () => {
    const acks = await until('the order answered', () => metric(/^fillstream_submit_to_ack_seconds_count\{venue="staging:BINANCE"\} (\d+)$/m), 30_000);
    assert.ok(Number(acks) >= 1);
    const headroom = Number(await metric(/^fillstream_venue_rate_limit_headroom_ratio\{venue="staging:BINANCE"\} ([\d.e-]+)$/m));
    assert.ok(headroom > 0 && headroom <= 1, String(headroom));
    assert.equal(await metric(/^fillstream_venue_up\{venue="staging:BINANCE"\} (\d)$/m), '1');
    assert.equal(Health.parse((await getJson(`${s.url}/healthz`)).body).status, 'ok');
  });

  it('counts a placement with no answer as a venue error', async () => {
    fx.em.faults.http_5xx = 1;
    appendFileSync(intents, JSON.stringify(liveIntent('vm-2', 'BINANCE', 'BTCUSDT')) + '\n');
    const errors = await until('the error counted', () => metric(/^fillstream_venue_errors_total\{venue="staging:BINANCE",kind="no_answer"\} (\d+)$/m), 30_000);
    assert.equal(errors, '1');
  });

  it("puts none of the venue's keys in any response or log line", async () => {
    const bodies = await Promise.all(
      ['/config', '/status', '/healthz', '/readyz', '/metrics', '/orders', '/orders/vm-1', '/positions'].map(async (p) => (await fetch(`${s.url}${p}`)).text()),
    );
    assert.ok(s.logs.length > 0);
    for (const text of [...bodies, ...s.logs]) for (const secret of [KEYS.api_secret, KEYS.passphrase]) assert.ok(!text.includes(secret), `${secret} leaked`);
  });
});

describe('a quarantine on the operating surface', () => {
  let s: Served;
  let fx: LiveVenueFixture;
  const saved = { ...process.env };

  before(async () => {
    const dir = tempDir('venue-quarantine');
    fx = await liveVenue('BINANCE', dir);
    // An order on the venue that fillstream did not place: reconciliation quarantines the account.
    fx.em.exchange.place({ client_order_id: 'manual1', symbol: 'BTCUSDT', side: 'BUY', type: 'LIMIT', tif: 'GTC', qty: '0.002', price: '30000' });
    for (const [k, v] of Object.entries(fx.env)) if (k.startsWith('FS_TEST_')) process.env[k] = v;
    const intents = join(dir, 'intents.ndjson');
    writeFileSync(intents, '');
    s = await serveInProcess({ dataDir: join(dir, 'data'), intents, venues: loadVenuesFile(fx.venuesFile) });
  });
  after(async () => {
    await s?.stop();
    await fx?.close();
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  });

  it('is not ready while quarantined, says why, exports it, and is ready again once an operator clears it', async () => {
    const notReady = await until('not ready', async () => {
      const r = await getJson<{ ready: boolean; reasons: string[] }>(`${s.url}/readyz`);
      return r.status === 503 && r.body.reasons.some((x) => x.includes('quarantined')) ? r.body : undefined;
    });
    assert.match(notReady.reasons.join(' '), /staging:BINANCE quarantined: .*did not place/);
    assert.equal(await metricOf(s, /^fillstream_venue_quarantined\{venue="staging:BINANCE"\} (\d)$/m), '1');
    fx.em.exchange.cancel({ client_order_id: 'manual1' });
    const cleared = await post(`${s.url}/control/clear-quarantine`, { venue: 'BINANCE', env: 'staging', account: 'acct', reason: 'a manual order, reviewed' }, ALICE.token);
    assert.equal(cleared.status, 200);
    await until('ready again', async () => ((await getJson(`${s.url}/readyz`)).status === 200 ? true : undefined));
    assert.equal(await metricOf(s, /^fillstream_venue_quarantined\{venue="staging:BINANCE"\} (\d)$/m), '0');
  });
});

async function metricOf(s: Served, re: RegExp): Promise<string | undefined> {
  return re.exec(await (await fetch(`${s.url}/metrics`)).text())?.[1];
}
