import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { z } from 'zod';
import { isDecimalString, numberToDecimalString } from '../../src/domain/decimal.js';
import { Intent } from '../../src/domain/intent.js';
import { parseRfc3339Micros } from '../../src/domain/time.js';

// The intent schema as it was before it was compiled, kept as the oracle: the compiled one must
// accept, normalize and reject exactly like it, with the same issues.
const Oracle = (() => {
  const decimalInput = z
    .union([z.string(), z.number()])
    .refine((v) => (typeof v === 'number' ? Number.isFinite(v) : isDecimalString(v.trim())), {
      message: 'must be a decimal number, e.g. "10000" or "0.015"',
    })
    .transform((v) => (typeof v === 'number' ? numberToDecimalString(v) : v.trim()));
  const rfc3339 = z.string().refine((s) => parseRfc3339Micros(s) !== undefined, {
    message: 'must be an RFC 3339 time in 1970-2199 (UTC), e.g. 2026-01-02T10:00:00Z',
  });
  const idText = z
    .string()
    .min(1, 'must not be empty')
    .max(128, 'must be at most 128 characters')
    .regex(/^[\x21-\x7E]+$/, 'must be printable ASCII without spaces');
  const upper = (v: unknown) => (typeof v === 'string' ? v.trim().toUpperCase() : v);
  const lower = (v: unknown) => (typeof v === 'string' ? v.trim().toLowerCase() : v);
  return z.strictObject({
    intent_id: idText,
    ts: rfc3339,
    account: idText.max(64).default('default'),
    instrument_id: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9:/_.-]+$/, 'must be VENUE:SYMBOL or a bare symbol'),
    side: z.preprocess(upper, z.enum(['BUY', 'SELL'])),
    size: z.strictObject({
      type: z.preprocess(lower, z.enum(['notional', 'quantity'])),
      value: decimalInput,
      ccy: z.string().min(1).max(16).optional(),
    }),
    constraints: z
      .strictObject({
        order_type: z.preprocess(upper, z.enum(['MARKET', 'LIMIT'])).optional(),
        limit_price: decimalInput.optional(),
        tif: z.preprocess(upper, z.enum(['GTC', 'IOC', 'FOK'])).optional(),
        max_slippage_bps: z.number().min(0).max(10_000).optional(),
        stop_loss: decimalInput.optional(),
        expire_at: rfc3339.optional(),
      })
      .default({}),
    labels: z.record(z.string().min(1).max(64), z.string().max(256)).default({}),
    env: z.preprocess(lower, z.enum(['sim', 'staging', 'prod'])).default('sim'),
  });
})();

// Mostly valid values with the odd bad one, so that both accepting and rejecting paths are exercised.
const mostly = <T>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<unknown>) => fc.oneof({ arbitrary: good, weight: 8 }, { arbitrary: bad, weight: 1 });
const cased = (...xs: string[]) =>
  fc
    .tuple(fc.constantFrom(...xs), fc.constantFrom('upper', 'lower', 'mixed'), fc.constantFrom('', ' ', '\t'), fc.constantFrom('', ' '))
    .map(([v, c, pre, post]) => pre + (c === 'upper' ? v.toUpperCase() : c === 'lower' ? v.toLowerCase() : v[0].toLowerCase() + v.slice(1).toUpperCase()) + post);
const decimal = mostly(
  fc.oneof(
    fc.integer({ min: 1, max: 40_000 }).map(String),
    fc.tuple(fc.nat(99), fc.nat(99_999)).map(([a, b]) => `${a}.${b}`),
  ),
  fc.oneof(
    fc.double({ noNaN: true }),
    fc.integer(),
    fc.constantFrom(' 12.5 ', '1e3', '+5', '.5', '5.', '-0', '0', '-2', 'abc', '', '0.0000000000000000001', 1e-7, 1e21, 1e-60),
    fc.string(),
  ),
);
const time = mostly(
  fc.integer({ min: 1_767_225_600_000, max: 1_800_000_000_000 }).map((ms) => new Date(ms).toISOString().replace('Z', `${ms % 1000}Z`)),
  fc.oneof(
    fc.integer({ min: -1e13, max: 3e14 }).map((ms) => new Date(ms).toISOString()),
    fc.constantFrom('2026-01-02t10:00:00z', '2026-01-02 10:00:00.5+02:00', '2026-02-30T10:00:00Z', '2026-01-02T24:00:00Z', 'yesterday', '2026-01-02T10:00:00.1234567890Z'),
    fc.string(),
  ),
);
const id = mostly(fc.stringMatching(/^[a-z0-9-]{1,12}$/), fc.oneof(fc.string({ maxLength: 4 }), fc.constant('x'.repeat(129)), fc.integer()));
const optional = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 3 });
const intent = fc.record(
  {
    intent_id: id,
    ts: time,
    account: optional(mostly(fc.constantFrom('acct-1', 'desk_2'), fc.oneof(fc.constant('x'.repeat(65)), fc.string({ maxLength: 3 })))),
    instrument_id: mostly(fc.constantFrom('BINANCE:BTCUSDT', 'okx:eth-usdt', 'BTC/USDT', 'ETHBTC'), fc.oneof(fc.constantFrom('BTC USDT', '', 'X'.repeat(65)), fc.integer())),
    side: mostly(cased('BUY', 'SELL'), fc.oneof(fc.constantFrom('HOLD', null), fc.integer())),
    size: mostly(
      fc.record(
        {
          type: mostly(cased('notional', 'quantity'), fc.constantFrom('qty', 7)),
          value: decimal,
          ccy: optional(mostly(fc.constantFrom('USDT', 'btc'), fc.constantFrom('', 'X'.repeat(17), 3))),
        },
        { requiredKeys: ['type', 'value'] },
      ),
      fc.oneof(fc.constant('10'), fc.record({ type: fc.constant('notional'), value: fc.constant('1'), extra: fc.constant(1) })),
    ),
    constraints: optional(
      mostly(
        fc.record(
          {
            order_type: cased('MARKET', 'LIMIT'),
            limit_price: decimal,
            tif: mostly(cased('GTC', 'IOC', 'FOK'), fc.constantFrom('DAY', 1)),
            max_slippage_bps: mostly(fc.integer({ min: 0, max: 10_000 }), fc.oneof(fc.double(), fc.constantFrom('5', -1, 10_001))),
            stop_loss: decimal,
            expire_at: time,
          },
          { requiredKeys: [] },
        ),
        fc.oneof(fc.constant(null), fc.constant([]), fc.record({ tif: fc.constant('IOC'), gtd: fc.constant(true) })),
      ),
    ),
    labels: optional(
      mostly(
        fc.dictionary(fc.constantFrom('strategy', 'run', 'desk', '1'), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
        fc.dictionary(fc.oneof(fc.constantFrom('', '__proto__', 'k'.repeat(65)), fc.string()), fc.oneof(fc.string(), fc.constant('v'.repeat(257)), fc.integer()), { maxKeys: 3 }),
      ),
    ),
    env: optional(mostly(cased('sim', 'staging', 'prod'), fc.constantFrom('dev', 0))),
  },
  { requiredKeys: ['intent_id', 'ts', 'instrument_id', 'side', 'size'] },
);
// What the normalizer hands the schema: JSON.parse output (a "__proto__" key is then an own property).
const input = fc
  .oneof(
    { arbitrary: intent, weight: 10 },
    intent.map((o) => ({ ...o, extra: 1 })),
    fc.jsonValue(),
  )
  .map((v) => JSON.parse(JSON.stringify(v).replace('"desk"', '"__proto__"')) as unknown);

const issues = (e: z.ZodError) => e.issues.map((i) => ({ code: i.code, path: i.path, message: i.message }));

test('the compiled intent schema accepts, normalizes and rejects exactly like the plain one', () => {
  let accepted = 0;
  fc.assert(
    fc.property(input, (v) => {
      const got = Intent.safeParse(v);
      const want = Oracle.safeParse(v);
      assert.equal(got.success, want.success, JSON.stringify(v));
      if (got.success && want.success) {
        accepted++;
        assert.deepEqual(got.data, want.data);
        assert.equal(JSON.stringify(got.data), JSON.stringify(want.data), 'same fields in the same order');
      } else if (!got.success && !want.success) {
        assert.deepEqual(issues(got.error), issues(want.error));
      }
    }),
    { numRuns: 3000 },
  );
  assert.ok(accepted > 300, `only ${accepted} of 3000 inputs were valid`);
});

test('defaults are fresh objects: one parsed intent cannot leak labels into the next', () => {
  const v = { intent_id: 'a', ts: '2026-01-02T10:00:00Z', instrument_id: 'BTCUSDT', side: 'buy', size: { type: 'NOTIONAL', value: ' 10.50 ' } };
  const a = Intent.parse(v);
  a.labels.x = 'y';
  a.constraints.tif = 'FOK';
  const b = Intent.parse(v);
  assert.deepEqual(b.labels, {});
  assert.deepEqual(b.constraints, {});
  assert.deepEqual({ side: b.side, size: b.size, account: b.account, env: b.env }, { side: 'BUY', size: { type: 'notional', value: '10.50' }, account: 'default', env: 'sim' });
});
