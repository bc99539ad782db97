// The HTTP API of `fillstream serve` on the embedded log: every read route against its contract,
// cursor pagination while intents arrive, operator control behind tokens, lifecycles, the live
// feed (filters, resume, a slow reader dropped) and no secret in any response or log line.
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import type { z } from 'zod';
import { TOPICS } from '../../src/domain/events.js';
import { ApiError, Health, Lifecycle, OrdersPage, Pnl, Positions, Ready, Status } from '../../src/ops/contract.js';
import { CLOSE_SLOW_CONSUMER } from '../../src/ops/feed.js';
import { METRIC_NAMES } from '../../src/ops/metrics.js';
import { fromRecord } from '../../src/runtime/codec.js';
import { generateIntents } from '../../src/tools/generate.js';
import { tempDir } from '../helpers/cli.js';
import { ALICE, BOB, getJson, post, serveInProcess, until, type Served } from '../helpers/serve.js';

type Page = z.infer<typeof OrdersPage>;
type FeedEvent = { topic: string; partition: number; offset: number; type: string; event: { account: string; intent_id: string } };

describe('serve: the HTTP API over the embedded log', () => {
  let s: Served;
  let intents: string;
  const lines = [...generateIntents({ count: 3_000, seed: 11, stepMs: 20 })];
  const chains = readFileSync('examples/intents.ndjson', 'utf8')
    .split('\n')
    .filter((l) => l.includes('"kind":"chain"'));

  before(async () => {
    const dir = tempDir('api');
    intents = join(dir, 'intents.ndjson');
    // The sample's two chains too (a three-leg one on BINANCE, a paper two-leg one on OKX).
    writeFileSync(intents, [...lines.slice(0, 1_000), ...chains].join('\n') + '\n');
    s = await serveInProcess({ dataDir: join(dir, 'data'), intents, feedMaxBuffered: 64 * 1024 });
    await until('the first 1,000 intents decided', async () => ((await getJson<z.infer<typeof Status>>(`${s.url}/status`)).body.counts.orders >= 1_000 ? true : undefined));
  });
  after(async () => {
    await s?.stop();
  });

  it('answers health, readiness, status, config, positions, PnL and its OpenAPI document, each as the contract says', async () => {
    const health = await getJson(`${s.url}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(Health.parse(health.body).status, 'ok');
    const ready = await getJson(`${s.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.equal(Ready.parse(ready.body).ready, true);
    const status = Status.parse((await getJson(`${s.url}/status`)).body);
    assert.equal(status.bus, 'embedded');
    assert.deepEqual(
      status.stages.map((x) => x.name),
      ['normalizer', 'risk', 'router', 'gateway'],
    );
    assert.ok(status.counts.intents >= 1_000);
    const positions = Positions.parse((await getJson(`${s.url}/positions`)).body);
    assert.ok(positions.positions.length > 0, 'the filled orders left positions');
    const acct = positions.positions[0].account;
    const mine = Positions.parse((await getJson(`${s.url}/positions?account=${acct}`)).body);
    assert.ok(mine.positions.every((p) => p.account === acct) && mine.positions.length > 0);
    const pnl = Pnl.parse((await getJson(`${s.url}/pnl`)).body);
    assert.ok(Object.keys(pnl.by_quote).length > 0);
    assert.ok(pnl.by_account[acct], 'PnL by account names the account');
    const doc = (await getJson<{ openapi: string; paths: Record<string, unknown> }>(`${s.url}/openapi.json`)).body;
    assert.equal(doc.openapi, '3.1.0');
    for (const p of ['/orders', '/orders/{id}', '/positions', '/pnl', '/status', '/control/halt', '/control/policy']) assert.ok(doc.paths[p], p);
    const missing = await getJson(`${s.url}/nowhere`);
    assert.equal(missing.status, 404);
    ApiError.parse(missing.body);
    const wrongMethod = await fetch(`${s.url}/orders`, { method: 'DELETE' });
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.get('allow'), 'GET, HEAD');
  });

  it('exports every metric of the catalog that it has figures for, and only catalog names', async () => {
    const text = await (await fetch(`${s.url}/metrics`)).text();
    const names = new Set([...text.matchAll(/^(fillstream_\w+?)(?:\{| )/gm)].map((m) => m[1]));
    for (const n of names) assert.ok(METRIC_NAMES.includes(n), `${n} is in METRIC_NAMES`);
    for (const n of [
      'fillstream_stage_records_total',
      'fillstream_stage_lag_records',
      'fillstream_stage_batch_seconds_bucket',
      'fillstream_stage_commit_seconds_count',
      'fillstream_intent_to_submit_seconds_bucket',
      'fillstream_submit_to_ack_seconds_count',
      'fillstream_intents_total',
      'fillstream_orders',
      'fillstream_trading_state',
      'fillstream_ready',
    ])
      assert.ok(names.has(n), `${n} exported`);
    assert.match(text, /^fillstream_orders\{status="FILLED"\} [1-9]\d*$/m);
    assert.match(text, /^fillstream_chains_total\{outcome="FILLED"\} 2$/m, 'both sample chains reported FILLED');
    assert.match(text, /^fillstream_chains_in_flight 0$/m);
    assert.match(text, /^fillstream_intents_total \d{4,}$/m);
  });

  it('pages through every order exactly once while new intents arrive, and rejects a bad query with 400', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let appended = false;
    let lastTotal = -1;
    for (;;) {
      const r = await getJson<Page>(`${s.url}/orders?limit=97${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(r.status, 200);
      const page = OrdersPage.parse(r.body);
      for (const o of page.orders) seen.push(o.client_order_id);
      if (!appended && seen.length >= 300) {
        // Inserts while paging: the next pages must neither skip nor repeat.
        appendFileSync(intents, lines.slice(1_000).join('\n') + '\n');
        appended = true;
      }
      if (page.next_cursor === null) {
        const counts = (await getJson<z.infer<typeof Status>>(`${s.url}/status`)).body.counts;
        const decided = counts.accepted + counts.rejected + counts.dlq + counts.duplicates;
        // Every intent decided and every order seen (a split intent has one order per venue), the
        // count unchanged since the last look: the router has nothing left to add.
        const total = counts.orders;
        if (appended && counts.intents === 3_000 + chains.length && decided === 3_000 && seen.length >= total && total === lastTotal) break;
        lastTotal = total;
        // At the end of the listing as it is now: go on from the last order's own cursor.
        cursor = page.orders.length > 0 ? page.orders[page.orders.length - 1].cursor : cursor;
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      cursor = page.next_cursor;
    }
    assert.equal(new Set(seen).size, seen.length, 'no order repeated');
    const listed: string[] = [];
    for (let c: string | null = 'c0'; c !== null;) {
      const page = OrdersPage.parse((await getJson(`${s.url}/orders?limit=1000&cursor=${c}`)).body);
      listed.push(...page.orders.map((o) => o.client_order_id));
      c = page.next_cursor;
    }
    assert.ok(listed.length >= 3_000, `at least one order per intent: ${listed.length}`);
    assert.deepEqual([...seen].sort(), [...listed].sort(), 'every order once: what paging while inserting saw is the whole listing');
    // Filters: an account's orders and a status, paged the same way.
    const all: Page['orders'] = [];
    for (let c: string | null = 'c0'; c !== null;) {
      const page = OrdersPage.parse((await getJson(`${s.url}/orders?limit=1000&cursor=${c}`)).body);
      all.push(...page.orders);
      c = page.next_cursor;
    }
    assert.deepEqual(
      all.map((o) => o.client_order_id),
      seen,
    );
    const acct = all[0].account;
    const mine = OrdersPage.parse((await getJson(`${s.url}/orders?account=${acct}&limit=1000`)).body);
    assert.ok(mine.orders.length > 0 && mine.orders.every((o) => o.account === acct));
    assert.deepEqual(
      mine.orders.map((o) => o.client_order_id),
      all.filter((o) => o.account === acct).map((o) => o.client_order_id),
    );
    const filled = OrdersPage.parse((await getJson(`${s.url}/orders?status=FILLED&strategy=${all[0].strategy}&limit=50`)).body);
    assert.ok(filled.orders.every((o) => o.status === 'FILLED' && o.strategy === all[0].strategy));
    const since = all[500].ts;
    const later = OrdersPage.parse((await getJson(`${s.url}/orders?since=${since}&limit=1000`)).body);
    assert.ok(later.orders.length > 0 && later.orders.every((o) => o.ts >= since));
    for (const bad of ['limit=0', 'limit=abc', 'status=DONE', 'cursor=zz', 'since=yesterday']) {
      const r = await getJson(`${s.url}/orders?${bad}`);
      assert.equal(r.status, 400, bad);
      assert.equal(ApiError.parse(r.body).code, 'BAD_QUERY');
    }
  });

  it("shows an intent's whole lifecycle by intent id or client order id, and 404 for neither", async () => {
    const first = OrdersPage.parse((await getJson(`${s.url}/orders?limit=1`)).body).orders[0];
    for (const id of [first.intent_id, first.client_order_id]) {
      const r = await getJson(`${s.url}/orders/${encodeURIComponent(id)}`);
      assert.equal(r.status, 200);
      const life = Lifecycle.parse(r.body);
      assert.equal(life.intent_id, first.intent_id);
      assert.equal(life.source, 'log');
      const types = life.events.map((e) => e.type);
      for (const t of ['IntentAccepted', 'RiskApproved', 'OrderRouted', 'OrderSubmitted']) assert.ok(types.includes(t), `${t} in ${types.join(',')}`);
      assert.ok(life.orders.some((o) => o.client_order_id === first.client_order_id));
    }
    const none = await getJson(`${s.url}/orders/no-such-intent`);
    assert.equal(none.status, 404);
    assert.equal(ApiError.parse(none.body).code, 'NOT_FOUND');
  });

  it('refuses control without a right token (401, logged without the token) and records what an operator does under their name', async () => {
    for (const token of [undefined, 'wrong-token', `${ALICE.token}x`, ALICE.token.slice(0, -1)]) {
      const r = await post(`${s.url}/control/halt`, { scope: 'global', reason: 'nope' }, token);
      assert.equal(r.status, 401, String(token));
      assert.equal(ApiError.parse(r.body).code, 'UNAUTHORIZED');
    }
    assert.ok(s.logs.some((l) => l.includes('control refused')));
    assert.ok(!s.logs.some((l) => l.includes('wrong-token') || l.includes(ALICE.token)), 'tokens never logged');

    const bad = await post(`${s.url}/control/halt`, { scope: 'desk:1', reason: 'x' }, ALICE.token);
    assert.equal(bad.status, 400);
    const noReason = await post(`${s.url}/control/reduce`, { scope: 'global' }, ALICE.token);
    assert.equal(noReason.status, 400);

    const halt = await post(`${s.url}/control/halt`, { scope: 'strategy:mm_v2', reason: 'desk review' }, ALICE.token);
    assert.equal(halt.status, 200);
    assert.equal(halt.body.operator, 'alice');
    await until('the halt in force', async () => {
      const st = Status.parse((await getJson(`${s.url}/status`)).body);
      return st.trading_states['strategy:mm_v2']?.mode === 'HALTED' ? st : undefined;
    });
    // The command is on the log, with who and why.
    const commands: { operator: string; reason: string; command: string }[] = [];
    await s.ops.tail!.log.scan([TOPICS.risk], (r) => {
      const e = fromRecord(r);
      if (e.type === 'OperatorCommand') commands.push(e.data);
    });
    assert.ok(commands.some((c) => c.command === 'halt' && c.operator === 'alice' && c.reason === 'desk review'));
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    assert.match(metrics, /^fillstream_trading_state\{scope="strategy:mm_v2"\} 2$/m);

    const resume = await post(`${s.url}/control/resume`, { scope: 'strategy:mm_v2', reason: 'reviewed' }, BOB.token);
    assert.equal(resume.body.operator, 'bob');
    await until('the resume in force', async () => (Status.parse((await getJson(`${s.url}/status`)).body).trading_states['strategy:mm_v2'] ? undefined : true));

    // A policy that does not parse is refused and nothing changes; a patch puts a new version in force.
    const before = Status.parse((await getJson(`${s.url}/status`)).body).policy_version;
    const refused = await post(`${s.url}/control/policy`, { policy: { rules: [{ rule: 'max_order_notional' }] }, reason: 'broken' }, ALICE.token);
    assert.equal(refused.status, 400);
    assert.equal(ApiError.parse(refused.body).code, 'BAD_BODY');
    const conflicting = await post(`${s.url}/control/policy`, { policy: { rules: [{ rule: 'order_size' }] }, reason: 'no bounds' }, ALICE.token);
    assert.equal(conflicting.status, 409, JSON.stringify(conflicting.body));
    assert.equal(ApiError.parse(conflicting.body).code, 'POLICY_REFUSED');
    const patched = await post(`${s.url}/control/policy`, { patch: { max_order_notional_usd: '2500000' }, reason: 'wider limit' }, ALICE.token);
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal(patched.body.accepted, true);
    await until('the new policy version', async () => (Status.parse((await getJson(`${s.url}/status`)).body).policy_version === before + 1 ? true : undefined));
    const again = await post(`${s.url}/control/policy`, { patch: { max_order_notional_usd: '2500000' }, reason: 'same again' }, ALICE.token);
    assert.equal(again.body.accepted, false);

    const cq = await post(`${s.url}/control/clear-quarantine`, { venue: 'BINANCE', env: 'prod', reason: 'reviewed the orphan' }, ALICE.token);
    assert.equal(cq.status, 200);
    assert.equal(cq.body.command, 'clear-quarantine');
  });

  it('streams live events with filters, resumes from offsets without a gap or a repeat, and drops a reader that falls behind', async () => {
    const acct = 'acct-1';
    // From the start, filtered: every event is the account's.
    const got: FeedEvent[] = [];
    const ws = new WebSocket(`${s.url.replace('http', 'ws')}/feed?from=start&account=${acct}&types=OrderRouted,OrderFilled`);
    ws.on('message', (m: Buffer) => got.push(...(JSON.parse(m.toString('utf8')) as FeedEvent[])));
    await until('the account’s events', () => (got.length >= 50 ? true : undefined));
    ws.close();
    assert.ok(got.every((e) => e.event.account === acct && (e.type === 'OrderRouted' || e.type === 'OrderFilled')));

    // Resume: from the offsets after the 20th gateway event, exactly what follows it.
    const all: FeedEvent[] = [];
    const ws2 = new WebSocket(`${s.url.replace('http', 'ws')}/feed?from=start&topics=${TOPICS.gateway}`);
    ws2.on('message', (m: Buffer) => all.push(...(JSON.parse(m.toString('utf8')) as FeedEvent[])));
    await until('gateway events', () => (all.length >= 200 ? true : undefined));
    ws2.close();
    const cut = all[19];
    const rest: FeedEvent[] = [];
    const ws3 = new WebSocket(`${s.url.replace('http', 'ws')}/feed?topics=${TOPICS.gateway}&from=${cut.topic}/${cut.partition}:${cut.offset + 1}`);
    ws3.on('message', (m: Buffer) => rest.push(...(JSON.parse(m.toString('utf8')) as FeedEvent[])));
    await until('the events after the cut', () => (rest.length >= 180 ? true : undefined));
    ws3.close();
    assert.deepEqual(
      rest.slice(0, 180).map((e) => e.offset),
      all.slice(20, 200).map((e) => e.offset),
    );

    // A bad request closes at once with 4000.
    const code = await new Promise<number>((resolve) => {
      const w = new WebSocket(`${s.url.replace('http', 'ws')}/feed?from=nowhere`);
      w.on('close', (c) => resolve(c));
    });
    assert.equal(code, 4000);

    // A reader that stops reading: its unsent data passes the bound and it is dropped with 4008.
    const dropped0 = Number(/^fillstream_feed_dropped_total (\d+)$/m.exec(await (await fetch(`${s.url}/metrics`)).text())?.[1] ?? 0);
    const slow = new WebSocket(`${s.url.replace('http', 'ws')}/feed?from=start`);
    await new Promise((r) => slow.once('open', r));
    (slow as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    const closed = new Promise<number>((resolve) => slow.on('close', (c) => resolve(c)));
    await until('the slow reader dropped', async () => {
      const m = /^fillstream_feed_dropped_total (\d+)$/m.exec(await (await fetch(`${s.url}/metrics`)).text());
      return Number(m?.[1] ?? 0) > dropped0 ? true : undefined;
    });
    (slow as unknown as { _socket: { resume(): void } })._socket.resume();
    assert.equal(await closed, CLOSE_SLOW_CONSUMER);
  });

  it('logs each event about an intent as a JSON line with intent_id, trace_id and stage', () => {
    const lines = s.logs.flatMap((l) => l.split('\n')).filter((l) => l.includes('"event_type"'));
    assert.ok(lines.length > 1_000, `${lines.length} lines`);
    for (const l of lines) {
      const j = JSON.parse(l) as Record<string, unknown>;
      if (!j.intent_id) continue;
      assert.match(String(j.trace_id), /^[0-9a-f]{32}$/, l);
      assert.ok(['normalizer', 'risk', 'router', 'gateway'].includes(String(j.stage)), l);
    }
    assert.ok(lines.some((l) => l.includes('"event_type":"OrderFilled"') && l.includes('"level":20')));
  });

  it('puts no secret in any response or log line', async () => {
    const bodies = await Promise.all(
      ['/config', '/status', '/healthz', '/readyz', '/metrics', '/orders?limit=5', '/positions', '/pnl'].map(async (p) => (await fetch(`${s.url}${p}`)).text()),
    );
    for (const text of [...bodies, ...s.logs]) for (const secret of [ALICE.token, BOB.token]) assert.ok(!text.includes(secret), 'a token leaked');
  });
});
