// serve with REDIS_URL: /orders, an intent's orders and positions come from the Redis projection.
// Paging while intents arrive gives every order once; filters give what the fold gives; positions
// agree with the fold's.
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { z } from 'zod';
import { Lifecycle, OrdersPage, Positions, Status } from '../../src/ops/contract.js';
import { generateIntents } from '../../src/tools/generate.js';
import { tempDir } from '../helpers/cli.js';
import { freshRedisPrefix, redisUrl } from '../helpers/redis.js';
import { getJson, serveInProcess, until, type Served } from '../helpers/serve.js';

type Page = z.infer<typeof OrdersPage>;

describe('serve reads orders and positions from Redis', () => {
  let s: Served;
  let intents: string;
  const lines = [...generateIntents({ count: 2_000, seed: 21, stepMs: 20 })];

  before(async () => {
    const dir = tempDir('api-redis');
    intents = join(dir, 'intents.ndjson');
    writeFileSync(intents, lines.slice(0, 800).join('\n') + '\n');
    const redis = { url: redisUrl(), prefix: freshRedisPrefix() };
    s = await serveInProcess({ dataDir: join(dir, 'data'), intents, redis });
  });
  after(async () => {
    await s?.stop();
  });

  /** Every order through /orders pages, from a cursor, until the end as it is now. */
  const pageAll = async (query: string): Promise<Page['orders']> => {
    const out: Page['orders'] = [];
    for (let c: string | null = 'c0'; c !== null;) {
      const page = OrdersPage.parse((await getJson(`${s.url}/orders?${query}&cursor=${c}`)).body);
      out.push(...page.orders);
      c = page.next_cursor;
    }
    return out;
  };

  it('pages through every order once while intents arrive', async () => {
    await until('the first orders projected', async () => (OrdersPage.parse((await getJson(`${s.url}/orders?limit=1`)).body).orders.length > 0 ? true : undefined));
    const seen: string[] = [];
    let cursor = 'c0';
    let appended = false;
    for (;;) {
      const page = OrdersPage.parse((await getJson(`${s.url}/orders?limit=61&cursor=${cursor}`)).body);
      seen.push(...page.orders.map((o) => o.client_order_id));
      if (!appended && seen.length >= 200) {
        appendFileSync(intents, lines.slice(800).join('\n') + '\n');
        appended = true;
      }
      if (page.orders.length > 0) cursor = page.orders[page.orders.length - 1].cursor;
      if (page.next_cursor === null) {
        const total = Status.parse((await getJson(`${s.url}/status`)).body).counts.orders;
        if (appended && total >= 2_000 && seen.length >= total) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    assert.equal(new Set(seen).size, seen.length, 'no order repeated');
    assert.deepEqual(new Set(seen), new Set(s.ops.tail!.orderIds), 'the same orders as the fold');
  });

  it('filters as the fold does, and answers an intent’s orders and positions from Redis', async () => {
    const all = await pageAll('limit=500');
    const acct = all[0].account;
    const mine = await pageAll(`account=${acct}&limit=37`);
    assert.deepEqual(
      mine.map((o) => o.client_order_id).sort(),
      all
        .filter((o) => o.account === acct)
        .map((o) => o.client_order_id)
        .sort(),
    );
    const filled = await pageAll(`status=FILLED&strategy=${all[0].strategy}&limit=100`);
    const want = [...s.ops.tail!.view.orders.values()].filter((o) => o.status === 'FILLED' && o.order.strategy === all[0].strategy).map((o) => o.order.client_order_id);
    assert.deepEqual(filled.map((o) => o.client_order_id).sort(), want.sort());

    const life = Lifecycle.parse((await getJson(`${s.url}/orders/${all[3].intent_id}`)).body);
    assert.deepEqual(
      life.orders.map((o) => o.client_order_id),
      [all[3].client_order_id],
    );
    assert.equal(life.orders[0].cursor, all[3].cursor, 'the same place in the listing');

    // Positions: Redis's, once the projector is at the fold's last event, equal the fold's.
    const fold = s.ops.tail!.view;
    const positions = await until('the projection caught up', async () => {
      const p = Positions.parse((await getJson(`${s.url}/positions`)).body);
      return p.marked_at === fold.last_ts ? p : undefined;
    });
    const qty = new Map(positions.positions.map((p) => [`${p.account}/${p.instrument_id}`, p.qty]));
    for (const [account, byInstrument] of fold.positions.positions)
      for (const [id, acc] of byInstrument) assert.equal(qty.get(`${account}/${id}`), acc.qty.toString(), `${account} ${id}`);
  });
});
