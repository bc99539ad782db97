// A trading day through the real CLI against recorded books: intents that breach each rule of
// the policy in turn get its code; a loss moves a strategy to HALTED by itself; operator commands
// (reduce, halt, resume, flatten) written between runs act on what comes after them.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, requireBuild, ROOT, tempDir } from '../helpers/cli.js';
import { eventsOf } from '../helpers/live.js';
import type { Event, EventOf } from '../../src/domain/events.js';
import type { Summary } from '../../src/projections/view.js';

let dir: string;
let data: string;
let intents: string;
let books: string;

const DAY = '2026-03-02'; // a Monday; New York is on EST (UTC-5) until March 8
const at = (hhmmss: string) => `${DAY}T${hhmmss}Z`;

const POLICY = {
  name: 'desk day',
  rules: [
    { rule: 'strategy_allow', strategies: ['momentum', 'fast', 'careful', 'dup', 'open', 'lev', 'daily', 'size', 'warn', 'pos', 'b'] },
    { rule: 'restricted_instruments', instruments: ['ETH'] },
    { rule: 'trading_window', venue: 'OKX', time_zone: 'America/New_York', days: ['MON', 'TUE', 'WED', 'THU', 'FRI'], open: '09:30', close: '16:00' },
    { rule: 'stop_loss_required', strategies: ['careful'] },
    { rule: 'price_band', max_bps: 200 },
    { rule: 'max_open_orders', limit: 2, account: 'acct-open' },
    { rule: 'velocity', per: 'strategy', max_per_second: 2, strategy: 'fast' },
    { rule: 'duplicate_guard', window_ms: 1000 },
    { rule: 'max_order_notional', limit_usd: '200000' },
    { rule: 'max_order_qty', instrument: 'BTC/USDT', limit: '3' },
    { rule: 'fat_finger', max_share_of_depth: '0.5', levels: 1 },
    { rule: 'order_size', venue: 'BINANCE', min_usd: '50' },
    { rule: 'position_limit', instrument: 'BTC/USDT', limit: '2', account: 'acct-pos' },
    { rule: 'leverage', max: '2', account: 'acct-lev' },
    { rule: 'daily_notional', strategy: 'daily', limit_usd: '60000' },
    { rule: 'gross_exposure', limit_usd: '120000', account: 'acct-warn', warn_only: true },
    { rule: 'daily_loss', strategy: 'momentum', limit_usd: '5000', then: 'HALTED' },
  ],
  equity_usd: { 'acct-lev': '50000' },
};

/** BTC at 50,000 in the night, 40,000 from noon: a long position loses. */
function book(ts: string, id: string, mid: number) {
  const tick = 10;
  return {
    ts,
    instrument_id: id,
    bids: [
      [String(mid - tick), '5'],
      [String(mid - 2 * tick), '5'],
    ],
    asks: [
      [String(mid + tick), '5'],
      [String(mid + 2 * tick), '5'],
    ],
  };
}

function intent(id: string, ts: string, o: { account?: string; strategy: string; instrument?: string; side?: string; qty: string; limit?: string; stopLoss?: string }) {
  return {
    intent_id: id,
    ts,
    account: o.account ?? 'acct-a',
    instrument_id: o.instrument ?? 'BINANCE:BTCUSDT',
    side: o.side ?? 'BUY',
    size: { type: 'quantity', value: o.qty },
    constraints: {
      ...(o.limit ? { order_type: 'LIMIT', limit_price: o.limit, tif: 'GTC' } : { order_type: 'MARKET', tif: 'IOC' }),
      ...(o.stopLoss ? { stop_loss: o.stopLoss } : {}),
    },
    labels: { strategy: o.strategy },
    env: 'sim',
  };
}

const add = (...xs: object[]) => appendFileSync(intents, xs.map((x) => JSON.stringify(x)).join('\n') + '\n');

function run(): Summary {
  const r = cli(['run', '--data-dir', data, '--intents', intents, '--books', books, '--until-idle', '--json']);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Summary;
}

function control(...args: string[]): void {
  const r = cli(['control', ...args, '--data-dir', data, '--operator', 'dana']);
  assert.equal(r.status, 0, r.stderr);
}

const verdict = (ev: Event[], id: string) =>
  ev.filter((e): e is EventOf<'RiskApproved' | 'RiskRejected'> => (e.type === 'RiskApproved' || e.type === 'RiskRejected') && e.intent_id === id).at(-1);

function expectCodes(ev: Event[], expected: Record<string, string>): void {
  for (const [id, code] of Object.entries(expected)) {
    const v = verdict(ev, id);
    assert.ok(v, `a verdict for ${id}`);
    if (code === 'APPROVED') assert.equal(v.type, 'RiskApproved', `${id}: ${v.type === 'RiskRejected' ? `${v.data.code} ${v.data.reason}` : ''}`);
    else {
      assert.equal(v.type, 'RiskRejected', `${id} should be rejected ${code}`);
      assert.equal(v.data.code, code, `${id}: ${v.data.reason}`);
      assert.ok(v.data.reason.length > 10, `${id} has a reason`);
    }
    assert.equal(v.data.policy_version, 1);
    assert.match(v.data.rule_set_hash ?? '', /^[0-9a-f]{64}$/);
  }
}

before(() => {
  requireBuild();
  dir = tempDir('risk-day');
  data = join(dir, 'data');
  intents = join(dir, 'intents.ndjson');
  books = join(dir, 'books.ndjson');
  const snapshots = [
    book(at('00:00:00'), 'BINANCE:BTCUSDT', 50000),
    book(at('00:00:00'), 'OKX:BTC-USDT', 50000),
    book(at('00:00:00'), 'BINANCE:ETHUSDT', 3000),
    book(at('00:00:00'), 'BINANCE:SOLUSDT', 100),
    book(at('12:00:00'), 'BINANCE:BTCUSDT', 40000),
  ];
  writeFileSync(books, snapshots.map((s) => JSON.stringify(s)).join('\n') + '\n');
  writeFileSync(join(dir, 'policy.json'), JSON.stringify(POLICY));
  writeFileSync(intents, '');
});

test('each rule in turn: its code and a reason naming the limit; warn_only warns and lets through', () => {
  add(
    intent('ok', at('01:00:00'), { strategy: 'momentum', qty: '1' }),
    intent('rogue', at('01:00:01'), { strategy: 'rogue', qty: '0.01' }),
    intent('eth', at('01:00:02'), { strategy: 'momentum', instrument: 'BINANCE:ETHUSDT', qty: '0.1' }),
    intent('night', at('01:00:03'), { strategy: 'momentum', instrument: 'OKX:BTC-USDT', qty: '0.01' }),
    intent('nosl', at('01:00:04'), { strategy: 'careful', qty: '0.01' }),
    intent('sl', at('01:00:05'), { strategy: 'careful', qty: '0.01', stopLoss: '45000' }),
    intent('band', at('01:00:06'), { strategy: 'momentum', qty: '0.01', limit: '45000' }),
    intent('open1', at('01:00:07'), { account: 'acct-open', strategy: 'open', qty: '0.01', limit: '49500' }),
    intent('open2', at('01:00:08'), { account: 'acct-open', strategy: 'open', qty: '0.011', limit: '49500' }),
    intent('open3', at('01:00:09'), { account: 'acct-open', strategy: 'open', qty: '0.012', limit: '49500' }),
    intent('fast1', at('02:00:00.000'), { account: 'acct-f', strategy: 'fast', qty: '0.01' }),
    intent('fast2', at('02:00:00.100'), { account: 'acct-f', strategy: 'fast', qty: '0.011' }),
    intent('fast3', at('02:00:00.200'), { account: 'acct-f', strategy: 'fast', qty: '0.012' }),
    intent('fast4', at('02:00:01.300'), { account: 'acct-f', strategy: 'fast', qty: '0.013' }),
    intent('dup1', at('03:00:00.000'), { account: 'acct-d', strategy: 'dup', qty: '0.02' }),
    intent('dup2', at('03:00:00.500'), { account: 'acct-d', strategy: 'dup', qty: '0.02' }),
    intent('dup3', at('03:00:01.600'), { account: 'acct-d', strategy: 'dup', qty: '0.02' }),
    intent('notional', at('04:00:00'), { account: 'acct-s', strategy: 'size', qty: '5' }),
    intent('qty', at('04:00:01'), { account: 'acct-s', strategy: 'size', qty: '3.5' }),
    intent('fat', at('04:00:02'), { account: 'acct-s', strategy: 'size', qty: '2.8' }),
    intent('tiny', at('04:00:03'), { account: 'acct-s', strategy: 'size', qty: '0.0005' }),
    intent('pos1', at('05:00:00'), { account: 'acct-pos', strategy: 'pos', qty: '1.5' }),
    intent('pos2', at('05:00:01'), { account: 'acct-pos', strategy: 'pos', qty: '1' }),
    intent('pos3', at('05:00:02'), { account: 'acct-pos', strategy: 'pos', side: 'SELL', qty: '1' }),
    intent('lev1', at('06:00:00'), { account: 'acct-lev', strategy: 'lev', qty: '1.9' }),
    intent('lev2', at('06:00:01'), { account: 'acct-lev', strategy: 'lev', qty: '0.2' }),
    intent('daily1', at('07:00:00'), { account: 'acct-y', strategy: 'daily', qty: '1' }),
    intent('daily2', at('07:00:01'), { account: 'acct-y', strategy: 'daily', qty: '0.3' }),
    intent('warn1', at('08:00:00'), { account: 'acct-warn', strategy: 'warn', qty: '2' }),
    intent('warn2', at('08:00:02'), { account: 'acct-warn', strategy: 'warn', qty: '0.5' }),
    intent('b1', at('09:00:00'), { account: 'acct-b', strategy: 'b', qty: '0.5' }),
  );
  control('policy', '--file', join(dir, 'policy.json'), '--reason', 'the desk policy');
  run();
  return eventsOf(data).then((ev) => {
    expectCodes(ev, {
      ok: 'APPROVED',
      rogue: 'STRATEGY_NOT_ALLOWED',
      eth: 'RESTRICTED_INSTRUMENT',
      night: 'OUTSIDE_TRADING_WINDOW',
      nosl: 'STOP_LOSS_REQUIRED',
      sl: 'APPROVED',
      band: 'PRICE_BAND',
      open1: 'APPROVED',
      open2: 'APPROVED',
      open3: 'MAX_OPEN_ORDERS',
      fast1: 'APPROVED',
      fast2: 'APPROVED',
      fast3: 'VELOCITY',
      fast4: 'APPROVED',
      dup1: 'APPROVED',
      dup2: 'DUPLICATE_ORDER',
      dup3: 'APPROVED',
      notional: 'MAX_ORDER_NOTIONAL',
      qty: 'MAX_ORDER_QTY',
      fat: 'FAT_FINGER',
      tiny: 'ORDER_SIZE_MIN',
      pos1: 'APPROVED',
      pos2: 'POSITION_LIMIT',
      pos3: 'APPROVED',
      lev1: 'APPROVED',
      lev2: 'LEVERAGE',
      daily1: 'APPROVED',
      daily2: 'DAILY_NOTIONAL',
      warn1: 'APPROVED',
      warn2: 'APPROVED',
      b1: 'APPROVED',
    });
    const reason = (id: string) => (verdict(ev, id) as EventOf<'RiskRejected'>).data.reason;
    assert.match(reason('notional'), /250\d*(\.\d+)? USD exceeds the limit of 200000 USD/);
    assert.match(reason('qty'), /3\.5 BTC exceeds the limit of 3 BTC/);
    assert.match(reason('pos2'), /resulting position 2\.5 BTC .* exceeds the limit of 2/);
    assert.match(reason('daily2'), /60000 USD daily notional/);
    assert.match(reason('night'), /09:30–16:00 America\/New_York/);
    const warned = ev.filter((e) => e.type === 'RiskWarned' && e.intent_id === 'warn2');
    assert.equal(warned.length, 1, 'warn_only: one warning, and the intent went on');
    assert.equal((warned[0] as EventOf<'RiskWarned'>).data.code, 'GROSS_EXPOSURE');
  });
});

test('a loss past the daily limit halts its strategy by itself; reduce-only lets only reductions through', async () => {
  control('reduce', '--scope', 'account:acct-b', '--reason', 'b is over its risk budget');
  add(
    intent('loss', at('12:00:00'), { strategy: 'momentum', qty: '0.01' }),
    intent('after-halt', at('12:00:01'), { strategy: 'momentum', qty: '0.01' }),
    intent('b-buy', at('12:00:02'), { account: 'acct-b', strategy: 'b', qty: '0.1' }),
    intent('b-sell', at('12:00:03'), { account: 'acct-b', strategy: 'b', side: 'SELL', qty: '0.2' }),
  );
  run();
  const ev = await eventsOf(data);
  expectCodes(ev, { loss: 'DAILY_LOSS', 'after-halt': 'HALTED', 'b-buy': 'REDUCE_ONLY', 'b-sell': 'APPROVED' });
  const moved = ev.filter((e): e is EventOf<'TradingStateChanged'> => e.type === 'TradingStateChanged');
  assert.deepEqual(
    moved.map((e) => [e.data.scope, e.data.from, e.data.to, e.data.by]),
    [
      ['account:acct-b', 'ACTIVE', 'REDUCING', 'operator:dana'],
      ['strategy:momentum', 'ACTIVE', 'HALTED', 'DAILY_LOSS'],
    ],
  );
  assert.match(moved[1].data.reason, /daily loss 100\d\d(\.\d+)? USD of strategy:momentum exceeds the limit of 5000 USD/);
  const status = cli(['risk', 'status', '--data-dir', data, '--books', books, '--json']);
  assert.equal(status.status, 0, status.stderr);
  const s = JSON.parse(status.stdout) as { states: { scope: string; mode: string }[] };
  assert.deepEqual(
    s.states.map((x) => [x.scope, x.mode]),
    [
      ['account:acct-b', 'REDUCING'],
      ['strategy:momentum', 'HALTED'],
    ],
  );
});

test('a global halt stops everything until resumed; a flatten closes the scope and reports its end', async () => {
  control('halt', '--reason', 'market closed for the desk');
  add(intent('halted', at('13:00:00'), { account: 'acct-c', strategy: 'pos', qty: '0.01' }));
  run();
  let ev = await eventsOf(data);
  expectCodes(ev, { halted: 'HALTED' });
  control('resume', '--reason', 'reopened');
  control('resume', '--scope', 'account:acct-b', '--reason', 'budget restored');
  control('flatten', '--scope', 'account:acct-b', '--reason', 'close b out');
  add(intent('reopened', at('13:30:00'), { account: 'acct-c', strategy: 'pos', qty: '0.01' }));
  const summary = run();
  assert.equal(summary.closing, 1, 'the closing intent is counted apart from the intents read');
  assert.equal(summary.pending, 0, 'every intent read is accounted for');
  assert.deepEqual(summary.risk_states, { 'strategy:momentum': { mode: 'HALTED', by: 'DAILY_LOSS', reason: summary.risk_states['strategy:momentum']?.reason } });
  ev = await eventsOf(data);
  expectCodes(ev, { reopened: 'APPROVED' });
  const started = ev.find((e): e is EventOf<'FlattenStarted'> => e.type === 'FlattenStarted');
  assert.ok(started, 'the flatten started');
  assert.deepEqual(
    started.data.closing.map((c) => [c.account, c.instrument_id, c.side, c.qty]),
    [['acct-b', 'BINANCE:BTCUSDT', 'SELL', '0.3']],
  );
  assert.equal(started.data.operator, 'dana');
  const done = ev.find((e): e is EventOf<'FlattenCompleted'> => e.type === 'FlattenCompleted');
  assert.ok(done, 'the flatten reported its end');
  assert.deepEqual(
    done.data.closed.map((c) => [c.instrument_id, c.qty]),
    [['BINANCE:BTCUSDT', '0.3']],
  );
  assert.deepEqual(done.data.failed, []);

  // A merge patch changes the policy in force: the next version, the rest kept.
  writeFileSync(join(dir, 'patch.json'), JSON.stringify({ name: 'desk day (patched)', equity_usd: { 'acct-lev': '80000' } }));
  control('policy', '--patch', join(dir, 'patch.json'), '--reason', 'more equity for lev');
  const status = JSON.parse(cli(['risk', 'status', '--data-dir', data, '--books', books, '--json']).stdout) as {
    policy: { version: number; name: string };
    limits: { rule: string }[];
  };
  assert.deepEqual([status.policy.version, status.policy.name], [2, 'desk day (patched)']);
  assert.equal(status.limits.length, POLICY.rules.length, 'every rule kept');
});

test('what-if: the day decided again under a looser position limit approves the intent the limit bound, and leaves the data dir as it was', async () => {
  const looser = { ...POLICY, rules: POLICY.rules.map((r) => (r.rule === 'position_limit' ? { ...r, limit: '3' } : r)) };
  writeFileSync(join(dir, 'looser.json'), JSON.stringify(looser));
  const before = (await eventsOf(data)).length;
  const r = cli(['whatif', '--data-dir', data, '--books', books, '--policy', join(dir, 'looser.json'), '--json']);
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as {
    intents: number;
    changed: number;
    differences: { intent_id: string; old: { outcome: string; code?: string }; new: { outcome: string } }[];
    by_rule: Record<string, { recorded: number; whatif: number }>;
  };
  assert.ok(report.intents >= 37, `every recorded intent decided again (${report.intents})`);
  const pos2 = report.differences.find((d) => d.intent_id === 'pos2');
  assert.deepEqual([pos2?.old.outcome, pos2?.old.code, pos2?.new.outcome], ['rejected', 'POSITION_LIMIT', 'approved']);
  assert.equal(report.by_rule.POSITION_LIMIT.recorded, 1);
  assert.equal(report.by_rule.POSITION_LIMIT.whatif, 0);
  assert.equal((await eventsOf(data)).length, before, 'the data dir is only read');
  const text = cli(['whatif', '--data-dir', data, '--books', books, '--policy', join(dir, 'looser.json')]);
  assert.match(text.stdout, /would change/);
  assert.match(text.stdout, /pos2 .* rejected POSITION_LIMIT .* approved/);
});

test('compliance in Rego: the shipped policies deny, warn and send to simulation; a bundle that does not compile is refused and the one in force stays', async () => {
  const rdata = join(dir, 'rego-data');
  const r = (args: string[]) => cli([...args, '--data-dir', rdata]);
  const bad = join(dir, 'bad-rego');
  mkdirSync(bad);
  writeFileSync(join(bad, 'broken.rego'), 'package fillstream.compliance\n\ndecision := {\n');
  const refused = r(['control', 'policy', '--rego', bad, '--reason', 'a typo']);
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /broken\.rego:\d+/);
  const put = r(['control', 'policy', '--rego', join(ROOT, 'policies/rego'), '--reason', 'compliance v1']);
  assert.equal(put.status, 0, put.stderr);
  const again = r(['control', 'policy', '--rego', bad, '--reason', 'a typo again']);
  assert.notEqual(again.status, 0);
  const file = join(dir, 'rego-intents.ndjson');
  const paper = { ...intent('paper', at('01:00:04'), { strategy: 'xs_v1', qty: '0.01' }), env: 'staging', labels: { strategy: 'xs_v1', stage: 'paper' } };
  writeFileSync(
    file,
    [
      intent('allowed', at('01:00:00'), { strategy: 'xs_v1', qty: '0.1' }),
      intent('unknown', at('01:00:01'), { strategy: 'nobody', qty: '0.1' }),
      intent('tier', at('01:00:02'), { strategy: 'xs_v1', qty: '0.6' }),
      intent('sol', at('01:00:03'), { strategy: 'xs_v1', instrument: 'BINANCE:SOLUSDT', qty: '150' }),
      paper,
    ]
      .map((x) => JSON.stringify(x))
      .join('\n') + '\n',
  );
  const run = r(['run', '--intents', file, '--books', books, '--until-idle', '--json']);
  assert.equal(run.status, 0, run.stderr);
  const ev = await eventsOf(rdata);
  const set = ev.find((e): e is EventOf<'CompliancePolicySet'> => e.type === 'CompliancePolicySet');
  assert.ok(set, 'the bundle is in the log');
  assert.equal(ev.filter((e) => e.type === 'CompliancePolicySet').length, 1, 'the refused bundles never reached it');
  const v = (id: string) => verdict(ev, id);
  assert.equal(v('allowed')?.type, 'RiskApproved');
  assert.equal(v('allowed')?.data.rego_hash, set.data.hash, 'the decision names the bundle');
  const unknown = v('unknown') as EventOf<'RiskRejected'>;
  assert.deepEqual([unknown.data.code, unknown.data.rule], ['COMPLIANCE', 'STRATEGY_UNKNOWN']);
  const tier = v('tier') as EventOf<'RiskRejected'>;
  assert.deepEqual([tier.data.code, tier.data.rule], ['COMPLIANCE', 'TIER_MAX_ORDER_NOTIONAL']);
  assert.match(tier.data.reason, /25000/);
  assert.equal(v('sol')?.type, 'RiskApproved', 'a warning lets the intent through');
  const warned = ev.filter((e): e is EventOf<'RiskWarned'> => e.type === 'RiskWarned' && e.intent_id === 'sol');
  assert.deepEqual(
    warned.map((w) => w.data.code),
    ['LARGE_NON_CORE'],
  );
  const p = v('paper') as EventOf<'RiskApproved'>;
  assert.equal(p.data.intent.env, 'sim', 'approved for the simulator only');
  assert.match(p.data.simulated ?? '', /simulation only/);
  assert.ok(
    ev.some((e) => e.type === 'OrderFilled' && e.intent_id === 'paper'),
    'and the simulator filled it',
  );
});
