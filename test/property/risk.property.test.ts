// Properties of the risk decider over generated policies and histories (intents, fills, cancels,
// operator commands): it is a pure function of state and input; a revised order is within every
// limit that revised it; REDUCING never lets a position grow; a replay of the log reproduces
// every decision.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ZERO, dec, fmt, type Dec } from '../../src/domain/decimal.js';
import type { EventOf } from '../../src/domain/events.js';
import { microsToIso, isoToMicros } from '../../src/domain/time.js';
import { risk, type RiskCommand, type RiskEvent } from '../../src/risk/decide.js';
import type { RiskFact, RiskState } from '../../src/risk/state.js';
import { snapshot } from '../helpers/decider.js';
import { BTC, accepted, assess, canceled, filled, market, operate, operator, policySet, routed, type IntentSpec } from '../helpers/risk.js';

const ETH = 'BINANCE:ETHUSDT';
const OKX_BTC = 'OKX:BTC-USDT';

// ---- generated policies -------------------------------------------------------------------

const int = (min: number, max: number) => fc.integer({ min, max });
const usd = (min: number, max: number) => int(min, max).map(String);
/** n / 10^scale as a decimal string. */
const scaled = (min: number, max: number, scale: number) => int(min, max).map((n) => fmt(dec(n).div(dec(10).pow(scale))));
const flags = fc.record({ revise: fc.boolean(), warn_only: int(0, 7).map((n) => n === 0) });
const someScope = fc.oneof(
  { weight: 4, arbitrary: fc.constant({}) },
  { weight: 1, arbitrary: fc.constantFrom({ account: 'A' }, { strategy: 'S' }, { instrument: 'BTC/USDT' }, { venue: 'OKX' }) },
);

/** Size rules, each with its revise / warn_only flags and sometimes a scope. */
const sizeRules = fc.array(
  fc.tuple(
    fc.oneof(
      usd(2000, 80000).map((v) => ({ rule: 'max_order_notional', limit_usd: v })),
      scaled(5, 200, 2).map((v) => ({ rule: 'max_order_qty', limit: v, instrument: BTC })),
      fc.record({ max_share_of_depth: scaled(5, 100, 2), levels: int(1, 10) }).map((r) => ({ rule: 'fat_finger', ...r })),
      fc.record({ min_usd: usd(10, 500), max_usd: usd(20000, 100000) }).map((r) => ({ rule: 'order_size', ...r })),
      scaled(10, 300, 2).map((v) => ({ rule: 'position_limit', limit: v })),
      fc.record({ limit_usd: usd(20000, 300000), book: fc.boolean() }).map((r) => ({ rule: 'gross_exposure', ...r })),
      fc.record({ limit_usd: usd(20000, 300000), book: fc.boolean() }).map((r) => ({ rule: 'net_exposure', ...r })),
      scaled(10, 50, 1).map((v) => ({ rule: 'leverage', max: v })),
      usd(20000, 400000).map((v) => ({ rule: 'daily_notional', limit_usd: v })),
    ),
    flags,
    someScope,
  ),
  { maxLength: 5 },
);

const otherRules = fc.array(
  fc.oneof(
    int(1, 6).map((n) => ({ rule: 'max_open_orders', limit: n })),
    fc.record({ limit_usd: usd(100, 5000), then: fc.constantFrom('REDUCING', 'HALTED') }).map((r) => ({ rule: 'daily_loss', ...r })),
    fc.record({ limit_usd: usd(100, 5000), then: fc.constantFrom('REDUCING', 'HALTED') }).map((r) => ({ rule: 'drawdown', ...r })),
    fc.record({ per: fc.constantFrom('strategy', 'account', 'venue'), max_per_second: int(1, 4), max_per_minute: int(5, 30) }).map((r) => ({ rule: 'velocity', ...r })),
    int(100, 5000).map((ms) => ({ rule: 'duplicate_guard', window_ms: ms })),
    fc.constant({ rule: 'trading_window', venue: 'OKX', time_zone: 'UTC', days: ['FRI'], open: '10:00', close: '10:01' }),
  ),
  { maxLength: 4 },
);

const policyOf = (others: fc.Arbitrary<Record<string, unknown>[]>) =>
  fc.record({ sizes: sizeRules, others, equityA: usd(20000, 100000), equityB: usd(20000, 100000) }).map(({ sizes, others, equityA, equityB }) => ({
    rules: [...sizes.map(([r, f, s]) => ({ ...r, ...f, ...s })), ...others],
    equity_usd: { A: equityA, B: equityB },
  }));
const policyArb = policyOf(otherRules);

// ---- generated histories ------------------------------------------------------------------

type Step =
  | { kind: 'intent'; dt: number; spec: IntentSpec }
  | { kind: 'fill'; pick: number; whole: boolean; bps: number }
  | { kind: 'cancel'; pick: number }
  | { kind: 'op'; command: 'halt' | 'reduce' | 'resume' | 'flatten'; scope: string }
  /** The next policy of the history put in force. */
  | { kind: 'policy' };

const intentStep: fc.Arbitrary<Step> = fc
  .record({
    dt: int(0, 1500),
    account: fc.constantFrom('A', 'B'),
    strategy: fc.constantFrom('S', 'X'),
    instrument: fc.constantFrom(BTC, BTC, ETH, OKX_BTC, 'BTCUSDT'),
    side: fc.constantFrom<'BUY' | 'SELL'>('BUY', 'SELL'),
    // Some sizes repeat, for the duplicate guard.
    size: fc.oneof(
      fc.oneof(usd(100, 60000), fc.constantFrom('1000', '10000')).map((v) => ({ usd: v })),
      fc.oneof(scaled(1, 150, 2), fc.constantFrom('0.1', '0.5')).map((v) => ({ qty: v })),
    ),
  })
  .map(({ dt, size, ...s }) => ({ kind: 'intent', dt, spec: { ...s, ...size } }));

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: intentStep },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('fill' as const), pick: int(0, 9), whole: fc.boolean(), bps: int(-1000, 1000) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick: int(0, 9) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('op' as const),
      command: fc.constantFrom<'halt' | 'reduce' | 'resume' | 'flatten'>('halt', 'reduce', 'resume', 'flatten'),
      scope: fc.constantFrom('global', 'account:A', 'strategy:S'),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'policy' as const }) },
);

/** Starts: mid-morning, and a minute before a UTC midnight (daily limits and marks roll over). */
const start = fc.constantFrom('2026-01-02T10:00:00Z', '2026-01-02T23:59:30Z');

interface Decision {
  /** How many facts of the log came before it. */
  at: number;
  command: RiskCommand;
  events: RiskEvent[];
}

interface Run {
  log: RiskFact[];
  decisions: Decision[];
}

/**
 * Plays a history as the risk stage would: every command decided on the fold so far and its
 * events folded; each approval routed; fills and cancels folded as the gateway reports them; a
 * settle after every order event while a flatten is under way. `check` sees each decision with
 * the state it was made on.
 */
function play(policies: unknown, t0: string, steps: readonly Step[], check?: (state: RiskState, command: RiskCommand, events: RiskEvent[], log: readonly RiskFact[]) => void): Run {
  const inForce = Array.isArray(policies) ? policies : [policies];
  let state = risk.initialState();
  const log: RiskFact[] = [];
  const decisions: Decision[] = [];
  const live: { order: EventOf<'OrderRouted'>; cum: Dec }[] = [];
  const append = (e: RiskFact) => {
    log.push(e);
    state = risk.evolveInPlace(state, e);
  };
  const act = (command: RiskCommand): RiskEvent[] => {
    const events = risk.decide(command, state);
    check?.(state, command, events, log);
    decisions.push({ at: log.length, command, events });
    for (const e of events) {
      append(e);
      if (e.type === 'RiskApproved') {
        const o = routed(e);
        append(o);
        live.push({ order: o, cum: ZERO });
      }
    }
    return events;
  };
  const settle = (ts: string) => {
    if (state.flattens.size > 0) act({ kind: 'settle', ts });
  };
  let version = 1;
  append(policySet(inForce[0]));
  let us = isoToMicros(t0);
  let n = 0;
  for (const s of steps) {
    const ts = microsToIso(us);
    if (s.kind === 'intent') {
      us += s.dt * 1000;
      act(assess(accepted(`i${n++}`, { ...s.spec, ts: microsToIso(us) })));
    } else if (s.kind === 'policy') {
      append(policySet(inForce[version % inForce.length], version + 1));
      version++;
    } else if (s.kind === 'op') {
      const command = operator(s.command, s.scope, `c${n++}`, ts);
      act(operate(command));
      append(command);
    } else if (live.length > 0) {
      const k = s.pick % live.length;
      const { order, cum } = live[k];
      const qty = dec(order.data.order.qty);
      if (s.kind === 'cancel') {
        append(canceled(order, ts));
        live.splice(k, 1);
      } else {
        const part = s.whole || cum.gt(0) ? qty.minus(cum) : qty.div(2).round(5);
        const price = dec(order.data.order.ref_price)
          .times(dec(10_000 + s.bps).div(10_000))
          .round(2);
        const total = cum.plus(part);
        if (part.lte(0)) continue;
        append(filled(order, fmt(part), price, { cum: fmt(total), ts, trade: `t${n++}` }));
        if (total.gte(qty)) live.splice(k, 1);
        else live[k] = { order, cum: total };
      }
      settle(ts);
    }
  }
  return { log, decisions };
}

const steps = fc.array(step, { minLength: 5, maxLength: 40, size: 'max' });
const history = fc.record({ policy: fc.array(policyArb, { minLength: 1, maxLength: 3 }), t0: start, steps });

// ---- properties ---------------------------------------------------------------------------

test('the decider is a pure function of state and input: the same command on the same state gives the same events and leaves it as it was', () => {
  fc.assert(
    fc.property(history, ({ policy, t0, steps }) => {
      // A second fold of the same log with the copying evolve: an equal state, made apart.
      let copy = risk.initialState();
      let folded = 0;
      play(policy, t0, steps, (state, command, events, log) => {
        const before = snapshot(state);
        assert.deepEqual(risk.decide(command, state), events, 'deciding twice gave other events');
        assert.deepEqual(snapshot(state), before, 'deciding changed the state');
        for (; folded < log.length; folded++) copy = risk.evolve(copy, log[folded]);
        assert.deepEqual(snapshot(copy), before, 'the in-place fold and the evolve fold differ');
        assert.deepEqual(risk.decide(command, copy), events, 'an equal state gave other events');
      });
    }),
    { numRuns: 200 },
  );
});

// Without the duplicate guard: it compares the size asked for, and two different asks may be cut to the same order.
const noDuplicateGuard = policyOf(otherRules.map((rs) => rs.filter((r) => r.rule !== 'duplicate_guard')));

test('a revised order is within every limit that revised it: decided again as it went out, it is approved unrevised', () => {
  let revisions = 0;
  fc.assert(
    fc.property(fc.array(noDuplicateGuard, { minLength: 1, maxLength: 3 }), start, steps, (policy, t0, steps) => {
      play(policy, t0, steps, (state, command, events) => {
        if (command.kind !== 'assess') return;
        const a = events.at(-1);
        if (a?.type !== 'RiskApproved' || !a.data.revised) return;
        revisions++;
        const to = dec(a.data.revised.to_qty);
        assert.ok(to.lt(dec(a.data.revised.from_qty)), 'a revise only cuts');
        assert.ok(to.gte(dec(market.instrument(a.data.intent.venues[0])!.min_qty)), 'above the venue minimum');
        const again = risk.decide({ ...command, intent: { ...command.intent, data: { intent: a.data.intent } } }, state).at(-1);
        assert.equal(again?.type, 'RiskApproved', `the revised order was rejected: ${again?.type === 'RiskRejected' ? `${again.data.code}: ${again.data.reason}` : ''}`);
        assert.ok(again.type === 'RiskApproved');
        assert.equal(again.data.revised, undefined, `revised again: ${JSON.stringify(again.data.revised)}`);
        assert.equal(again.data.intent.qty, a.data.intent.qty);
      });
    }),
    { numRuns: 500 },
  );
  assert.ok(revisions > 20, `only ${revisions} revisions were generated`);
});

test('under REDUCING an approved order never grows a position, even with the open orders on its side', () => {
  let approvedReducing = 0;
  fc.assert(
    fc.property(
      policyArb,
      start,
      fc.array(intentStep, { minLength: 3, maxLength: 10, size: 'max' }),
      fc.array(fc.oneof(intentStep, fc.record({ kind: fc.constant('fill' as const), pick: int(0, 9), whole: fc.boolean(), bps: int(-50, 50) })), {
        minLength: 3,
        maxLength: 20,
        size: 'max',
      }),
      (policy, t0, before, after) => {
        // Some history, with fills of everything approved, then the whole book reduce-only.
        const fills = before.map((_, k): Step => ({ kind: 'fill', pick: k, whole: true, bps: 0 }));
        const steps: Step[] = [...before, ...fills, { kind: 'op', command: 'reduce', scope: 'global' }, ...after];
        play(policy, t0, steps, (state, command, events) => {
          if (command.kind !== 'assess' || state.standings.get('global')?.mode !== 'REDUCING') return;
          const a = events.at(-1);
          if (a?.type !== 'RiskApproved') return;
          approvedReducing++;
          const i = a.data.intent;
          const pair = (id: string) => {
            const spec = market.instrument(id);
            return spec?.base === i.base && spec.quote === i.quote;
          };
          let held = ZERO;
          for (const [id, p] of state.positions.positions.get(i.account) ?? []) if (pair(id)) held = held.plus(p.qty);
          // Everything open on the order's side, and the order itself, filled.
          let sameSide = dec(i.qty);
          for (const o of state.open.values()) if (o.account === i.account && o.side === i.side && pair(o.instrument_id)) sameSide = sameSide.plus(o.remaining);
          const after = i.side === 'BUY' ? held.plus(sameSide) : held.minus(sameSide);
          assert.ok(held.coef !== 0n, 'a flat position cannot be reduced');
          assert.ok(after.abs().lt(held.abs()), `|${fmt(held)}| grew to |${fmt(after)}| with ${i.side} ${i.qty}`);
          assert.ok(after.coef === 0n || after.coef > 0n === held.coef > 0n, `${fmt(held)} crossed to ${fmt(after)}`);
        });
      },
    ),
    { numRuns: 400 },
  );
  assert.ok(approvedReducing > 20, `only ${approvedReducing} orders were approved under REDUCING`);
});

test('replay reproduces every decision: re-decided from the fold of the log read back, each gives the events recorded', () => {
  fc.assert(
    fc.property(history, ({ policy, t0, steps }) => {
      const { log, decisions } = play(policy, t0, steps);
      // What a restore reads: the log's records parsed back, folded with the copying evolve.
      const stored = log.map((e) => JSON.stringify(e));
      let state = risk.initialState();
      let folded = 0;
      for (const d of decisions) {
        for (; folded < d.at; folded++) state = risk.evolve(state, JSON.parse(stored[folded]) as RiskFact);
        const input = JSON.parse(JSON.stringify(d.command, (k, v: unknown) => (k === 'market' ? undefined : v))) as RiskCommand;
        const command = 'market' in d.command ? ({ ...input, market } as RiskCommand) : input;
        assert.deepEqual(JSON.parse(JSON.stringify(risk.decide(command, state))), JSON.parse(JSON.stringify(d.events)));
      }
    }),
    { numRuns: 300 },
  );
});

test('a restore reproduces every decision: policies and commands folded first, then risk’s events, then the order events', () => {
  const isInput = (e: RiskFact) => e.type === 'RiskPolicySet' || e.type === 'OperatorCommand';
  const isOrderEvent = (e: RiskFact) => e.type.startsWith('Order');
  fc.assert(
    fc.property(history, ({ policy, t0, steps }) => {
      const { log, decisions } = play(policy, t0, steps);
      for (const d of decisions) {
        // The order the stage's restore reads the log in: exec.risk, exec.router, exec.gateway.
        const before = log.slice(0, d.at);
        const ordered = [...before.filter(isInput), ...before.filter((e) => !isInput(e) && !isOrderEvent(e)), ...before.filter(isOrderEvent)];
        let state = risk.initialState();
        for (const e of ordered) state = risk.evolveInPlace(state, e);
        assert.deepEqual(risk.decide(d.command, state), d.events);
      }
    }),
    { numRuns: 200 },
  );
});
