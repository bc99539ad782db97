import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { OrderStatus } from '../../src/domain/events.js';
import type { OrderState } from '../../src/oms/order.js';
import { storedOrder, storedOrderJson } from '../../src/projections/redis/projector.js';

// Any text a venue or a header may carry: quotes, backslashes, control characters, lone surrogates.
const text = fc.string({ unit: 'binary' });
const decimal = fc.stringMatching(/^-?\d{1,12}(\.\d{1,18})?$/);
const optional = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

const orderState: fc.Arbitrary<OrderState> = fc
  .record({
    order: fc.record({ client_order_id: text, intent_id: text, account: text, qty: decimal, price: optional(decimal), leg: fc.nat() }),
    status: fc.constantFrom(...OrderStatus.options),
    filled_qty: decimal,
    notional: decimal,
    avg_price: text,
    fees: decimal,
    fee_ccy: optional(text),
    other_fees: optional(fc.dictionary(text, decimal)),
    venue_order_id: optional(text),
    fingerprints: fc.array(text, { maxLength: 3 }),
    fills: fc.nat(),
    ts: text,
  })
  .map((r) => {
    // Optional fields are absent, not undefined, as the fold leaves them.
    const s: Record<string, unknown> = { ...r };
    for (const k of ['fee_ccy', 'other_fees', 'venue_order_id']) if (s[k] === undefined) delete s[k];
    return s as unknown as OrderState;
  });

test('property: the stored order JSON reads back as the state less its fingerprints', () => {
  fc.assert(
    fc.property(orderState, (s) => {
      const expected = JSON.parse(JSON.stringify(storedOrder(s)));
      assert.deepEqual(JSON.parse(storedOrderJson(s)), expected);
      // With the order's JSON kept from an earlier write, as the projector does for open orders.
      assert.deepEqual(JSON.parse(storedOrderJson(s, JSON.stringify(s.order))), expected);
      assert.equal('fingerprints' in JSON.parse(storedOrderJson(s)), false);
    }),
    { numRuns: 2000 },
  );
});
