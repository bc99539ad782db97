// The Rego compliance layer with the real opa: the shipped policies compiled to wasm and evaluated
// in process (src/risk/rego.ts), and what the seam refuses: policies that do not compile, wasm that
// does not load or lacks the entrypoint, and answers that are not a verdict.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { compileRegoDir, findOpa, readTarGz } from '../../src/risk/rego-build.js';
import { loadRegoPolicy, regoBundleHash, REGO_ENTRYPOINT, type RegoBundle, type RegoPolicy, type RegoVerdict } from '../../src/risk/rego.js';
import { decisionPolicy, opaBin, policyDir } from '../helpers/opa.js';

const SHIPPED = resolve(import.meta.dirname, '../../policies/rego');

let opa: string;
let bundle: RegoBundle;
let policy: RegoPolicy;

before(async () => {
  opa = opaBin();
  bundle = await compileRegoDir(SHIPPED, opa);
  policy = await loadRegoPolicy(bundle);
});

/** A normalized intent (NormalizedIntent) that every shipped rule lets through. */
function intent(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    intent_id: 'r1',
    ts: '2026-01-02T10:00:00.000000Z',
    account: 'default',
    strategy: 'xs_v1',
    labels: { strategy: 'xs_v1', run: 'r1' },
    env: 'sim',
    instrument_id: 'BINANCE:BTCUSDT',
    venues: ['BINANCE:BTCUSDT'],
    sized_on: 'BINANCE:BTCUSDT',
    base: 'BTC',
    quote: 'USDT',
    side: 'BUY',
    size: { type: 'notional', value: '10000', ccy: 'USDT' },
    qty: '0.15384',
    order_type: 'MARKET',
    tif: 'IOC',
    ref_price: '65000.01',
    notional: '9999.84',
    notional_usd: '9999.84',
    ...over,
  };
}

const ALLOW: RegoVerdict = { deny: [], warn: [], simulate: false };
const codes = (v: RegoVerdict) => ({ deny: v.deny.map((f) => f.code), warn: v.warn.map((f) => f.code), simulate: v.simulate });

// One intent per rule, allowed and refused; `data.json` is the shipped sample data.
const CASES: { name: string; input: Record<string, unknown>; expect: { deny: string[]; warn: string[]; simulate: boolean } }[] = [
  { name: 'clean', input: intent(), expect: { deny: [], warn: [], simulate: false } },
  {
    name: 'restricted base',
    input: intent({ strategy: 'mm_kucoin', instrument_id: 'KUCOIN:XMR-USDT', venues: ['KUCOIN:XMR-USDT'], base: 'XMR' }),
    expect: { deny: ['RESTRICTED_INSTRUMENT'], warn: [], simulate: false },
  },
  { name: 'unlisted strategy', input: intent({ strategy: 'rogue' }), expect: { deny: ['STRATEGY_UNKNOWN'], warn: [], simulate: false } },
  {
    name: 'venue not permitted',
    input: intent({ instrument_id: 'BTCUSDT', venues: ['BINANCE:BTCUSDT', 'KUCOIN:BTC-USDT'] }),
    expect: { deny: ['STRATEGY_NOT_PERMITTED'], warn: [], simulate: false },
  },
  { name: 'pro tier', input: intent({ labels: { tier: 'pro' }, notional_usd: '100000' }), expect: { deny: [], warn: [], simulate: false } },
  { name: 'retail over limit', input: intent({ notional_usd: '25000.000000000000000001' }), expect: { deny: ['TIER_MAX_ORDER_NOTIONAL'], warn: [], simulate: false } },
  { name: 'retail at limit', input: intent({ notional_usd: '25000.000000000000000000' }), expect: { deny: [], warn: [], simulate: false } },
  { name: 'unknown tier', input: intent({ labels: { tier: 'vip' } }), expect: { deny: ['TIER_UNKNOWN'], warn: [], simulate: false } },
  {
    name: 'large non-core',
    input: intent({ instrument_id: 'BINANCE:SOLUSDT', venues: ['BINANCE:SOLUSDT'], base: 'SOL', notional_usd: '12000' }),
    expect: { deny: [], warn: ['LARGE_NON_CORE'], simulate: false },
  },
  { name: 'paper', input: intent({ labels: { strategy: 'xs_v1', stage: 'paper' } }), expect: { deny: [], warn: [], simulate: true } },
  {
    name: 'many at once',
    input: intent({ strategy: 'rogue', base: 'XMR', notional_usd: '30000' }),
    expect: { deny: ['RESTRICTED_INSTRUMENT', 'STRATEGY_UNKNOWN', 'TIER_MAX_ORDER_NOTIONAL'], warn: ['LARGE_NON_CORE'], simulate: false },
  },
];

test('the shipped policies compile to a wasm bundle whose hash covers the wasm and the data', async () => {
  assert.equal(Buffer.from(bundle.wasm.subarray(0, 4)).toString('latin1'), '\0asm');
  assert.deepEqual(bundle.data, JSON.parse(readFileSync(join(SHIPPED, 'data.json'), 'utf8')));
  assert.match(bundle.hash, /^[0-9a-f]{64}$/);
  assert.equal(bundle.hash, regoBundleHash(bundle.wasm, bundle.data));
  assert.equal(policy.hash, bundle.hash);
  // Reproducible: a second build, from a copy elsewhere, gives the same bytes, so the same hash.
  const copy = policyDir({});
  try {
    cpSync(SHIPPED, copy, { recursive: true });
    assert.equal((await compileRegoDir(copy, opa)).hash, bundle.hash);
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
  // Any change to the data (key order aside) changes the hash.
  const data = bundle.data as { fillstream: Record<string, unknown> };
  assert.notEqual(regoBundleHash(bundle.wasm, { fillstream: { ...data.fillstream, large_non_core_usd: '10001' } }), bundle.hash);
  assert.equal(regoBundleHash(bundle.wasm, { fillstream: Object.fromEntries(Object.entries(data.fillstream).reverse()) }), bundle.hash);
});

test('a clean intent is allowed', () => {
  assert.deepEqual(policy.evaluate(intent()), ALLOW);
});

test('each rule denies, warns or simulates, and messages name the limit and the value', () => {
  for (const c of CASES) assert.deepEqual(codes(policy.evaluate(c.input)), c.expect, c.name);
  const over = policy.evaluate(intent({ notional_usd: '25000.000000000000000001' }));
  assert.deepEqual(over.deny, [{ code: 'TIER_MAX_ORDER_NOTIONAL', message: "notional_usd 25000.000000000000000001 is above the retail tier's max_order_notional_usd 25000" }]);
  const warned = policy.evaluate(intent({ instrument_id: 'BINANCE:SOLUSDT', venues: ['BINANCE:SOLUSDT'], base: 'SOL', notional_usd: '12000' }));
  assert.deepEqual(warned.warn, [{ code: 'LARGE_NON_CORE', message: 'notional_usd 12000 in non-core asset SOL is above large_non_core_usd 10000' }]);
  const refused = policy.evaluate(intent({ instrument_id: 'BTCUSDT', venues: ['BINANCE:BTCUSDT', 'KUCOIN:BTC-USDT'] }));
  assert.match(refused.deny[0].message, /^strategy xs_v1 may not trade KUCOIN:BTC-USDT \(venues: BINANCE, OKX;/);
});

test('the wasm build decides as OPA itself does (opa eval on the same inputs)', () => {
  const query = `[d | some x in input; d := data.fillstream.compliance.decision with input as x]`;
  const out = execFileSync(opa, ['eval', '--format', 'json', '--stdin-input', '-d', 'compliance.rego', '-d', 'data.json', query], {
    cwd: SHIPPED,
    input: JSON.stringify(CASES.map((c) => c.input)),
    encoding: 'utf8',
  });
  const expected = (JSON.parse(out) as { result: { expressions: { value: RegoVerdict[] }[] }[] }).result[0].expressions[0].value;
  assert.equal(expected.length, CASES.length);
  CASES.forEach((c, i) => assert.deepEqual(policy.evaluate(c.input), expected[i], c.name));
});

test('the same input gives the same verdict, whatever was evaluated in between', () => {
  const input = CASES[CASES.length - 1].input;
  const first = policy.evaluate(input);
  assert.deepEqual(
    first.deny.map((f) => f.code),
    ['RESTRICTED_INSTRUMENT', 'STRATEGY_UNKNOWN', 'TIER_MAX_ORDER_NOTIONAL'],
  );
  for (let i = 0; i < 1000; i++) policy.evaluate(CASES[i % CASES.length].input);
  assert.deepEqual(policy.evaluate(input), first);
  // An input far larger than the wasm memory it started with grows it; later ones still work.
  const big = policy.evaluate(intent({ labels: { note: 'x'.repeat(2_000_000), stage: 'paper' } }));
  assert.deepEqual(big, { ...ALLOW, simulate: true });
  assert.deepEqual(policy.evaluate(input), first);
});

test('a policy that does not compile is refused with opa’s message (file:line)', async () => {
  const dir = policyDir({ 'compliance.rego': 'package fillstream.compliance\n\ndecision := {"deny": [\n' });
  try {
    await assert.rejects(compileRegoDir(dir, opa), (e: Error) => {
      assert.match(e.message, /^opa build failed in .*: /);
      assert.match(e.message, /compliance\.rego:\d+: rego_parse_error/);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('*_test.rego files are left out of the build, and data.json is optional', async () => {
  // Were the broken test file compiled, the build would fail.
  const dir = policyDir({ ...decisionPolicy('decision := {"deny": [], "warn": [], "simulate": false}'), 'broken_test.rego': 'package nope\n\ntest_x if {\n' });
  try {
    const b = await compileRegoDir(dir, opa);
    assert.deepEqual(b.data, {});
    assert.deepEqual((await loadRegoPolicy(b)).evaluate(intent()), ALLOW);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a directory with no policy, or an opa that is not there, is a clear error', async () => {
  const dir = policyDir({ 'only_test.rego': 'package x_test\n' });
  try {
    await assert.rejects(compileRegoDir(dir, opa), /no Rego policy in .*: no \.rego files besides \*_test\.rego/);
    await assert.rejects(compileRegoDir(SHIPPED, join(dir, 'no-opa')), /cannot run opa at .*no-opa \(ENOENT\): run infra\/dev\/opa\.sh fetch/);
    assert.throws(() => findOpa({ FILLSTREAM_OPA: join(dir, 'no-opa') }), /FILLSTREAM_OPA is .*no-opa, which does not exist/);
    assert.equal(findOpa({ FILLSTREAM_OPA: opa }), opa);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('wasm built for another entrypoint is refused, naming the one it has', async () => {
  const dir = policyDir({ 'other.rego': 'package other\n\nallow := true\n' });
  try {
    execFileSync(opa, ['build', '-t', 'wasm', '-e', 'other/allow', '-o', 'bundle.tar.gz', 'other.rego'], { cwd: dir });
    const wasm = readTarGz(readFileSync(join(dir, 'bundle.tar.gz'))).get('/policy.wasm');
    assert.ok(wasm);
    await assert.rejects(loadRegoPolicy({ wasm, data: {}, hash: regoBundleHash(wasm, {}) }), new RegExp(`lacks the entrypoint ${REGO_ENTRYPOINT} \\(it has: other/allow\\)`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bytes that are not wasm, a hash that does not match, and data that is not an object are refused', async () => {
  const junk = new TextEncoder().encode('not a wasm module');
  await assert.rejects(loadRegoPolicy({ wasm: junk, data: {}, hash: regoBundleHash(junk, {}) }), /the wasm does not load: /);
  await assert.rejects(loadRegoPolicy({ ...bundle, data: { fillstream: {} } }), /hash mismatch: the bundle says [0-9a-f]{64}, its wasm and data hash to [0-9a-f]{64}/);
  await assert.rejects(loadRegoPolicy({ ...bundle, data: [] }), /data must be a JSON object \(got \[\]\)/);
});

test('an answer that is not a verdict is an error naming what is wrong, never an allow', async () => {
  const answers: [decision: string, error: RegExp][] = [
    ['decision := {"deny": "none", "warn": [], "simulate": false}', /deny is not an array \(got "none"\)/],
    ['decision := {"deny": [], "warn": [], "simulate": "no"}', /simulate is not a boolean \(got "no"\)/],
    ['decision := {"deny": [], "warn": []}', /simulate is not a boolean \(got undefined\)/],
    ['decision := {"denny": [], "deny": [], "warn": [], "simulate": false}', /has an unknown key "denny"/],
    ['decision := {"deny": [{"code": "X"}], "warn": [], "simulate": false}', /deny\[0\]\.message is not a string/],
    ['decision := {"deny": [], "warn": [{"code": "", "message": "m"}], "simulate": false}', /warn\[0\]\.code is not a non-empty string \(got ""\)/],
    ['decision := {"deny": ["X"], "warn": [], "simulate": false}', /deny\[0\] is not an object \(got "X"\)/],
    ['decision := true', /is not an object \(got true\)/],
    // Undefined for this input: no rule body held.
    ['decision := {"deny": [], "warn": [], "simulate": false} if input.never', /is undefined for this input/],
  ];
  for (const [decision, error] of answers) {
    const dir = policyDir(decisionPolicy(decision));
    try {
      const p = await loadRegoPolicy(await compileRegoDir(dir, opa));
      assert.throws(() => p.evaluate(intent()), error, decision);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('a policy that fails at run time throws, and the next evaluation is unaffected', async () => {
  const dir = policyDir(
    decisionPolicy(
      [
        'decision := {"deny": [], "warn": [], "simulate": false} if input.a',
        'decision := {"deny": [{"code": "B", "message": "b"}], "warn": [], "simulate": false} if input.b',
      ].join('\n\n'),
    ),
  );
  try {
    const p = await loadRegoPolicy(await compileRegoDir(dir, opa));
    assert.throws(() => p.evaluate({ a: true, b: true }), /failed: compliance\.rego:\d+:\d+: var assignment conflict/);
    assert.deepEqual(p.evaluate({ b: true }), { deny: [{ code: 'B', message: 'b' }], warn: [], simulate: false });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('findings a policy left unsorted come out sorted by code, then message', async () => {
  const dir = policyDir(
    decisionPolicy('decision := {"deny": [{"code": "B", "message": "b"}, {"code": "A", "message": "z"}, {"code": "A", "message": "y"}], "warn": [], "simulate": false}'),
  );
  try {
    const p = await loadRegoPolicy(await compileRegoDir(dir, opa));
    assert.deepEqual(p.evaluate(intent()).deny, [
      { code: 'A', message: 'y' },
      { code: 'A', message: 'z' },
      { code: 'B', message: 'b' },
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
