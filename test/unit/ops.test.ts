// The API's pure parts: operator tokens, /orders queries and pages, config redaction, feed requests.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { REDACTED, redact, redactUrl } from '../../src/ops/config.js';
import { matches, parseFeedRequest } from '../../src/ops/feed.js';
import { BadQuery, SCAN_BUDGET, cursorOf, pageOrders, parseOrdersQuery } from '../../src/ops/orders.js';
import { OperatorTokens, bearer, parseTokens } from '../../src/ops/tokens.js';
import type { OrderState } from '../../src/oms/order.js';
import type { TailRecord } from '../../src/ops/tail.js';

describe('operator tokens', () => {
  it('names the operator of a right token and no one for a wrong, short, long or missing one', () => {
    const t = new OperatorTokens({ env: 'alice:aaaaaaaaaaaaaaaaaaaa, bob:bbbbbbbbbbbbbbbbbbbbbbbbbb' });
    assert.equal(t.size, 2);
    assert.equal(t.operatorOf('aaaaaaaaaaaaaaaaaaaa'), 'alice');
    assert.equal(t.operatorOf('bbbbbbbbbbbbbbbbbbbbbbbbbb'), 'bob');
    for (const wrong of [undefined, '', 'a', 'aaaaaaaaaaaaaaaaaaa', 'aaaaaaaaaaaaaaaaaaaaa', 'aaaaaaaaaaaaaaaaaaab']) assert.equal(t.operatorOf(wrong), undefined, String(wrong));
  });

  it('refuses malformed entries and short tokens without printing the token', () => {
    assert.throws(() => parseTokens('alice', 'X'), /entry 1 is not name:token/);
    assert.throws(
      () => parseTokens('alice:short', 'X'),
      (e: Error) => /shorter than 16/.test(e.message) && !e.message.includes('short,'),
    );
    assert.deepEqual(
      parseTokens('# ops\n\nalice:0123456789abcdef\n', 'X').map((e) => e.name),
      ['alice'],
    );
  });

  it('reads the tokens file again when it changes (rotation without a restart) and keeps the tokens in force when the new file is bad', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'fillstream-tokens-')), 'tokens');
    writeFileSync(file, 'alice:old-token-0123456789\n');
    const t = new OperatorTokens({ file });
    assert.equal(t.operatorOf('old-token-0123456789'), 'alice');
    writeFileSync(file, 'alice:old-token-0123456789\nalice:new-token-0123456789abc\n');
    assert.equal(t.operatorOf('new-token-0123456789abc'), 'alice');
    writeFileSync(file, 'alice:new-token-0123456789abc\n');
    assert.equal(t.operatorOf('old-token-0123456789'), undefined, 'the retired token no longer works');
    writeFileSync(file, 'alice\n');
    assert.equal(t.operatorOf('new-token-0123456789abc'), 'alice', 'a broken file keeps the tokens in force');
    assert.match(t.lastError ?? '', /not name:token/);
  });

  it('reads bearer tokens', () => {
    assert.equal(bearer('Bearer abc'), 'abc');
    assert.equal(bearer('bearer   abc  '), 'abc');
    assert.equal(bearer('Basic abc'), undefined);
    assert.equal(bearer(undefined), undefined);
  });
});

function order(i: number, account: string, status: OrderState['status'] = 'FILLED'): OrderState {
  return {
    order: {
      client_order_id: `c${i}`,
      intent_id: `i${i}`,
      leg: 0,
      attempt: 0,
      account,
      strategy: i % 2 ? 's1' : 's2',
      env: 'sim',
      instrument_id: 'SIM:BTC-USDT',
      venue: 'SIM',
      symbol: 'BTC-USDT',
      side: 'BUY',
      order_type: 'MARKET',
      qty: '1',
      tif: 'IOC',
      ref_price: '100',
    },
    status,
    filled_qty: '1',
    notional: '100',
    avg_price: '100',
    fees: '0',
    fingerprints: [],
    fills: 1,
    ts: `2026-01-01T00:00:${String(i % 60).padStart(2, '0')}.000000Z`,
  };
}

describe('/orders pages', () => {
  it('parses queries and names the bad parameter', () => {
    assert.deepEqual(parseOrdersQuery({}), { limit: 100, start: 0, account: undefined, strategy: undefined, venue: undefined });
    assert.equal(parseOrdersQuery({ limit: '7', cursor: cursorOf(42) }).start, 42);
    assert.equal(parseOrdersQuery({ since: '2026-01-01T00:00:00Z' }).since, '2026-01-01T00:00:00.000000Z');
    assert.equal(parseOrdersQuery({ until: '2026-01-01T00:00:00.5Z' }).until, '2026-01-01T00:00:00.500000Z');
    for (const [q, re] of [
      [{ limit: '1001' }, /limit/],
      [{ status: 'OPEN' }, /status "OPEN": use one of NEW/],
      [{ cursor: '12' }, /cursor/],
      [{ until: '2026-01-01' }, /until/],
      [{ since: '2026-13-01T00:00:00Z' }, /since/],
      [{ account: ['a', 'b'] }, /account: give it once/],
    ] as const)
      assert.throws(
        () => parseOrdersQuery(q),
        (e: Error) => e instanceof BadQuery && re.test(e.message),
      );
  });

  it('property: paging while orders are appended yields every order once, in order', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 25 }), (growth, limit) => {
        const ids: string[] = [];
        const states = new Map<string, OrderState>();
        const byAccount = new Map<string, number[]>();
        const add = () => {
          const i = ids.length;
          const acct = `a${i % 3}`;
          ids.push(`c${i}`);
          states.set(`c${i}`, order(i, acct));
          byAccount.set(acct, [...(byAccount.get(acct) ?? []), i]);
        };
        const seen: string[] = [];
        let cursor = 0;
        for (const g of growth) {
          for (let k = 0; k < g; k++) add();
          const page = pageOrders({ limit, start: cursor }, ids, byAccount, (c) => states.get(c));
          for (const o of page.orders) seen.push(o.client_order_id);
          if (page.orders.length > 0) cursor = Number.parseInt(page.orders[page.orders.length - 1].cursor.slice(1), 36);
        }
        // Drain what is left.
        for (;;) {
          const page = pageOrders({ limit, start: cursor }, ids, byAccount, (c) => states.get(c));
          for (const o of page.orders) seen.push(o.client_order_id);
          if (page.orders.length === 0) break;
          cursor = Number.parseInt(page.orders[page.orders.length - 1].cursor.slice(1), 36);
        }
        assert.deepEqual(seen, ids);
      }),
    );
  });

  it("walks only an account's own orders, applies every filter, and stops a sparse scan at its budget with a cursor to go on", () => {
    const ids: string[] = [];
    const states = new Map<string, OrderState>();
    const byAccount = new Map<string, number[]>();
    const n = SCAN_BUDGET + 500;
    for (let i = 0; i < n; i++) {
      const acct = i === n - 1 ? 'rare' : 'busy';
      ids.push(`c${i}`);
      states.set(`c${i}`, order(i, acct, i % 5 === 0 ? 'CANCELED' : 'FILLED'));
      const own = byAccount.get(acct) ?? [];
      own.push(i);
      byAccount.set(acct, own);
    }
    const rare = pageOrders({ limit: 10, start: 0, account: 'rare' }, ids, byAccount, (c) => states.get(c));
    assert.deepEqual(
      rare.orders.map((o) => o.client_order_id),
      [`c${n - 1}`],
    );
    assert.equal(rare.scanned, 1);
    const canceled = pageOrders({ limit: 5, start: 0, status: 'CANCELED', strategy: 's2' }, ids, byAccount, (c) => states.get(c));
    assert.ok(canceled.orders.every((o) => o.status === 'CANCELED' && o.strategy === 's2'));
    // A status nobody has: the page stops at the budget and says where to go on.
    const none = pageOrders({ limit: 5, start: 0, status: 'EXPIRED' }, ids, byAccount, (c) => states.get(c));
    assert.equal(none.orders.length, 0);
    assert.equal(none.scanned, SCAN_BUDGET);
    assert.equal(none.next_cursor, cursorOf(SCAN_BUDGET));
    const rest = pageOrders({ limit: 5, start: SCAN_BUDGET, status: 'EXPIRED' }, ids, byAccount, (c) => states.get(c));
    assert.equal(rest.next_cursor, null);
  });
});

describe('config redaction', () => {
  it('replaces secret-named values at any depth and URL passwords, and leaves the rest', () => {
    const out = redact({
      KAFKA_BROKERS: 'k:9092',
      REDIS_URL: 'redis://user:hunter2@r:6379/0',
      BINANCE_API_SECRET: 's3cret',
      BINANCE_API_SECRET_FILE: '/run/secrets/binance',
      nested: { passphrase: 'pp', tokens: ['a', 'b'], port: 8080, api_key: 'k' },
    }) as Record<string, unknown>;
    assert.equal(out.KAFKA_BROKERS, 'k:9092');
    assert.equal(out.REDIS_URL, `redis://user:${REDACTED}@r:6379/0`);
    assert.equal(out.BINANCE_API_SECRET, REDACTED);
    assert.equal(out.BINANCE_API_SECRET_FILE, '/run/secrets/binance', 'a path to a secret is not the secret');
    assert.deepEqual(out.nested, { passphrase: REDACTED, tokens: REDACTED, port: 8080, api_key: REDACTED });
    assert.equal(redactUrl('http://h:1/x'), 'http://h:1/x');
    assert.ok(!JSON.stringify(out).includes('hunter2') && !JSON.stringify(out).includes('s3cret'));
  });
});

describe('feed requests', () => {
  const rec = (over: Partial<TailRecord['event']>, topic = 'exec.gateway'): TailRecord =>
    ({ topic, partition: 0, offset: 1, message: '', event: { type: 'OrderFilled', account: 'a', strategy: 's', intent_id: 'i', ...over } }) as unknown as TailRecord;
  it('parses filters and positions, and refuses what it cannot read', () => {
    const r = parseFeedRequest({ account: 'a,b', types: 'OrderFilled', from: 'exec.gateway/0:12,exec.risk/1:3' });
    assert.deepEqual(
      [...r.from!],
      [
        ['exec.gateway/0', 12],
        ['exec.risk/1', 3],
      ],
    );
    assert.ok(matches(r.filter, rec({})));
    assert.ok(!matches(r.filter, rec({ account: 'c' })));
    assert.ok(!matches(r.filter, rec({ type: 'OrderRouted' } as never)));
    assert.equal(parseFeedRequest({}).from, undefined);
    assert.equal(parseFeedRequest({ from: 'start' }).from?.size, 0);
    assert.throws(() => parseFeedRequest({ from: 'yesterday' }), /topic\/partition:offset/);
    assert.throws(() => parseFeedRequest({ topics: 'exec.nope' }), /no topic exec.nope/);
  });
});
