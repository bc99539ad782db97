// The given / when / then helper's own checks must be able to fail: toy deciders that break the
// contract one way each, and expectations that do not hold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Dec } from '../../src/domain/decimal.js';
import type { InPlaceDecider } from '../../src/domain/decider.js';
import { assertMatch, given, snapshot, type TestedDecider } from '../helpers/decider.js';

// A till: deposits add to a balance; a deposit above the limit is rejected, a zero one is a dead letter.
type Deposit = { amount: number };
type TillEvent =
  | { type: 'Deposited'; data: { amount: number; note: string; tags: string[] } }
  | { type: 'RiskRejected'; data: { code: 'MAX_ORDER_NOTIONAL' | 'HALTED'; reason: string } }
  | { type: 'DeadLetter'; data: { code: 'NON_POSITIVE'; reason: string } };
interface Till {
  balance: number;
  seen: Set<number>;
}

const deposited = (amount: number): TillEvent => ({ type: 'Deposited', data: { amount, note: `deposit of ${amount}`, tags: ['cash'] } });

function decideTill(c: Deposit, s: Till): TillEvent[] {
  if (c.amount === 0) return [{ type: 'DeadLetter', data: { code: 'NON_POSITIVE', reason: 'a deposit must be positive' } }];
  if (s.balance + c.amount > 100) return [{ type: 'RiskRejected', data: { code: 'MAX_ORDER_NOTIONAL', reason: `balance ${s.balance + c.amount} exceeds 100` } }];
  return [deposited(c.amount)];
}

const till = {
  initialState: (): Till => ({ balance: 0, seen: new Set() }),
  decide: decideTill,
  evolve: (s: Till, e: TillEvent): Till => (e.type === 'Deposited' ? { balance: s.balance + e.data.amount, seen: new Set(s.seen).add(e.data.amount) } : s),
  evolveInPlace(s: Till, e: TillEvent): Till {
    if (e.type === 'Deposited') {
      s.balance += e.data.amount;
      s.seen.add(e.data.amount);
    }
    return s;
  },
} satisfies InPlaceDecider<Deposit, Till, TillEvent>;

test('a decider that keeps the contract passes every check', () => {
  const g = given(till, deposited(10), deposited(20));
  assert.equal(g.state.balance, 30);
  const w = g.when({ amount: 5 });
  w.then({ type: 'Deposited', data: { amount: 5, note: /deposit/, tags: ['cash'] } });
  assert.equal(w.state.balance, 35, 'the state after the decided events');
  assert.equal(g.when({ amount: 80 }).thenRejected('MAX_ORDER_NOTIONAL', /exceeds 100/).data.reason, 'balance 110 exceeds 100');
  assert.equal(g.when({ amount: 0 }).thenRejected('NON_POSITIVE').type, 'DeadLetter');
  given(till, deposited(100)).when({ amount: 1 }).thenRejected('MAX_ORDER_NOTIONAL');
});

test('given fails when evolve changes its input state', () => {
  const mutating = {
    ...till,
    evolve(s: Till, e: TillEvent): Till {
      if (e.type === 'Deposited') s.seen.add(e.data.amount); // the bug: the Set is shared with the input
      return e.type === 'Deposited' ? { balance: s.balance + e.data.amount, seen: s.seen } : s;
    },
  };
  assert.throws(() => given(mutating, deposited(1)), /given: event #0 \(Deposited\): evolve changed its input state/);
});

test('given fails when the in-place fold diverges from the evolve fold', () => {
  const diverging = { ...till, evolveInPlace: (s: Till, e: TillEvent): Till => (e.type === 'Deposited' ? ((s.balance += e.data.amount * 2), s) : s) };
  assert.throws(() => given(diverging, deposited(1), deposited(2)), /event #0 \(Deposited\): the evolveInPlace fold differs from the evolve fold/);
  // Only the seen set differs here: Sets are compared too.
  const forgetful = { ...till, evolveInPlace: (s: Till, e: TillEvent): Till => (e.type === 'Deposited' ? ((s.balance += e.data.amount), s) : s) };
  assert.throws(() => given(forgetful, deposited(1)), /evolveInPlace fold differs/);
});

test('given fails when a fold changes the events it folds', () => {
  const scribbling = {
    ...till,
    evolve: (s: Till, e: TillEvent): Till => {
      if (e.type === 'Deposited') e.data.tags.push('seen');
      return till.evolve(s, e);
    },
  };
  assert.throws(() => given(scribbling, deposited(1)), /given: folding changed the events it folded/);
});

test('when fails when decide changes the state or is not deterministic', () => {
  const mutating = { ...till, decide: (c: Deposit, s: Till) => (s.seen.add(-1), decideTill(c, s)) };
  assert.throws(() => given(mutating, deposited(1)).when({ amount: 2 }), /when: decide changed the state it decided on/);
  let calls = 0;
  const clocked = { ...till, decide: (c: Deposit, s: Till) => decideTill({ amount: c.amount + calls++ }, s) };
  assert.throws(() => given(clocked).when({ amount: 2 }), /decide is not deterministic/);
});

test('when fails when the decided events do not fold cleanly', () => {
  // evolve mutates only on an event the given history never had: the decided one.
  const late = { ...till, evolve: (s: Till, e: TillEvent): Till => (e.type === 'Deposited' && e.data.amount === 7 ? ((s.balance += 7), s) : till.evolve(s, e)) };
  assert.throws(() => given(late, deposited(1)).when({ amount: 7 }), /when \(the given events, then the decided ones\): event #1 \(Deposited\): evolve changed its input state/);
});

test('then fails on a field that differs, a string that does not match, a count that differs', () => {
  const w = given(till).when({ amount: 5 });
  assert.throws(() => w.then({ type: 'Deposited', data: { amount: 6 } }), /then: event #0 \(Deposited\) does not match:\n {2}data.amount: expected 6, got 5/);
  assert.throws(() => w.then({ data: { note: /withdrawal/ } }), /data.note: expected a string matching \/withdrawal\//);
  assert.throws(() => w.then({ data: { tags: [] } }), /data.tags: expected \[\], got \[ 'cash' \]/, 'arrays compare whole');
  assert.throws(() => w.then(), /then: expected 0 event\(s\), decide gave 1: \[Deposited\]/);
  assert.throws(() => w.then({ type: 'Deposited' }, { type: 'Deposited' }), /expected 2 event\(s\), decide gave 1/);
  assert.throws(() => w.thenNothing(), /thenNothing: decide gave 1 event\(s\): \[Deposited\]/);
  given(till, deposited(100)).when({ amount: 0 }).then({ type: 'DeadLetter' });
});

test('thenRejected fails on no rejection, another code, a reason that does not match, or more than one event', () => {
  const g = given(till, deposited(50));
  assert.throws(() => g.when({ amount: 1 }).thenRejected('MAX_ORDER_NOTIONAL'), /thenRejected: expected a rejection \(MAX_ORDER_NOTIONAL\), got Deposited/);
  assert.throws(() => g.when({ amount: 60 }).thenRejected('HALTED'), /thenRejected: RiskRejected has code MAX_ORDER_NOTIONAL, expected HALTED/);
  assert.throws(() => g.when({ amount: 60 }).thenRejected('MAX_ORDER_NOTIONAL', /halted/), /reason 'balance 110 exceeds 100', which does not match \/halted\//);
  const twice = { ...till, decide: (c: Deposit, s: Till) => [...decideTill(c, s), ...decideTill(c, s)] };
  assert.throws(() => given(twice).when({ amount: 0 }).thenRejected('NON_POSITIVE'), /expected one rejection \(NON_POSITIVE\), decide gave 2 event\(s\)/);
});

test('an anomaly is a rejection by its kind', () => {
  type Anomaly = { type: 'OrderAnomaly'; data: { kind: 'OVER_FILL'; reason: string } };
  const strict: TestedDecider<number, null, Anomaly, Anomaly> = {
    initialState: () => null,
    decide: (n) => (n > 1 ? [{ type: 'OrderAnomaly', data: { kind: 'OVER_FILL', reason: `over-fill by ${n - 1}` } }] : []),
    evolve: (s) => s,
  };
  assert.equal(given(strict).when(3).thenRejected('OVER_FILL', /by 2/).data.kind, 'OVER_FILL');
  given(strict).when(1).thenNothing();
});

test('a When awaited by mistake fails with a clear message', async () => {
  const w = given(till).when({ amount: 5 });
  await assert.rejects(async () => {
    await (w as unknown);
  }, /a When is not a promise/);
});

test('assertMatch compares only the fields named', () => {
  assertMatch({ status: 'ACKED', venue_order_id: 'v1', fills: 0 }, { status: 'ACKED', venue_order_id: /^v/ });
  assert.throws(() => assertMatch({ status: 'ACKED' }, { status: 'FILLED' }, 'the order'), /the order does not match:\n {2}status: expected 'FILLED', got 'ACKED'/);
  assert.throws(() => assertMatch<{ a?: { b: number } }>({}, { a: { b: 1 } }), /a: expected an object, got undefined/);
  assert.throws(() => assertMatch<{ a?: number }>({ a: 1 }, { a: undefined }), /a: expected undefined, got 1/);
});

test('snapshots: Maps and Sets in order, bigints, decimals by their fields, "__proto__" as data', () => {
  const other: Record<string, number> = {};
  Object.defineProperty(other, '__proto__', { value: 1, enumerable: true, writable: true, configurable: true });
  assert.deepEqual(
    snapshot({
      m: new Map([
        ['b', 1n],
        ['a', 2n],
      ]),
      s: new Set(['x']),
      d: new Dec(150n, 2),
      other,
      u: undefined,
    }),
    {
      m: {
        $map: [
          ['b', '1n'],
          ['a', '2n'],
        ],
      },
      s: { $set: ['x'] },
      d: { $class: 'Dec', coef: '150n', scale: 2 },
      other: Object.fromEntries([['__proto__', 1]]),
      u: undefined,
    },
  );
  assert.notDeepEqual(
    snapshot(
      new Map([
        ['a', 1],
        ['b', 2],
      ]),
    ),
    snapshot(
      new Map([
        ['b', 2],
        ['a', 1],
      ]),
    ),
    'insertion order is state',
  );
  assert.notDeepEqual(snapshot(new Dec(15n, 1)), snapshot(new Dec(150n, 2)), 'a Dec is compared by its fields (1.5 with another scale is another state)');
  assert.notDeepEqual(snapshot({ other }), snapshot({ other: {} }));
  const loop: { self?: unknown } = {};
  loop.self = loop;
  assert.deepEqual(snapshot(loop), { self: '[circular]' });
  assert.deepEqual(snapshot(Buffer.from('hi')), { $bytes: '6869' });
});
