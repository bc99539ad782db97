// Risk decisions per second: the risk decider over the generator's intents with every native rule
// of examples/policy-full.json on, then with the shipped Rego policies beside them. The stream is
// what the risk stage sees: each intent decided and folded, and its order's fill folded (the
// gateway's events it reads), so positions, open intents and PnL are live while it is measured.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EventOf } from '../src/domain/events.js';
import { makeEvent } from '../src/domain/envelope.js';
import { createSyntheticMarket } from '../src/market/synthetic.js';
import type { MarketData } from '../src/market/types.js';
import { normalizer } from '../src/normalizer/decide.js';
import { risk, type CompliancePolicy } from '../src/risk/decide.js';
import { parsePolicy } from '../src/risk/policy.js';
import { loadRegoPolicy, regoBundleHash } from '../src/risk/rego.js';
import { compileRegoDir, findOpa } from '../src/risk/rego-build.js';
import type { RiskFact } from '../src/risk/state.js';
import { Measure } from '../src/risk/measure.js';
import { isoToMicros } from '../src/domain/time.js';
import { router } from '../src/router/decide.js';
import { generateIntents } from '../src/tools/generate.js';

const INTENTS = Number(process.env.BENCH_RISK_INTENTS ?? 200_000);
const ROOT = join(import.meta.dirname, '..', '..');

type Step = { kind: 'intent'; e: EventOf<'IntentAccepted'> } | { kind: 'fact'; e: RiskFact };

/** The stage's input: accepted intents, and for each approved one its order routed and filled. */
function inputs(market: MarketData, compliance: CompliancePolicy | undefined, policy: ReturnType<typeof parsePolicy>): { steps: Step[]; approved: number } {
  let ns = normalizer.initialState();
  let rs = risk.evolveInPlace(
    risk.initialState(),
    makeEvent('RiskPolicySet', 'policy/1', { intent_id: '', account: '', strategy: '', ts: '', causation: 'bench' }, { version: 1, policy }),
  );
  const steps: Step[] = [];
  let approved = 0;
  let n = 0;
  for (const line of generateIntents({ count: INTENTS, seed: 5, stepMs: 10 })) {
    const cmd = { raw: Buffer.from(line), source: { topic: 'exec.intents', partition: 0, offset: n++ }, arrived_us: 0, market };
    for (const a of normalizer.decide(cmd, ns)) {
      ns = normalizer.evolveInPlace(ns, a);
      if (a.type !== 'IntentAccepted') continue;
      steps.push({ kind: 'intent', e: a });
      for (const v of risk.decide({ kind: 'assess', intent: a, market, compliance }, rs)) {
        rs = risk.evolveInPlace(rs, v);
        if (v.type !== 'RiskApproved') continue;
        approved++;
        for (const routed of router.decide({ approved: v, market }, router.initialState())) {
          if (routed.type !== 'OrderRouted') continue;
          const o = routed.data.order;
          const filled = makeEvent(
            'OrderFilled',
            `${o.client_order_id}/fill`,
            { intent_id: o.intent_id, account: o.account, strategy: o.strategy, ts: v.ts, causation: routed.event_id },
            {
              client_order_id: o.client_order_id,
              fill: {
                fingerprint: o.client_order_id,
                venue: o.venue,
                venue_order_id: o.client_order_id,
                trade_id: '1',
                qty: o.qty,
                price: o.ref_price,
                fee: '0',
                fee_ccy: 'USDT',
                liquidity: 'TAKER',
                ts: v.ts,
              },
              cum_qty: o.qty,
              avg_price: o.ref_price,
              status: 'FILLED',
            },
          );
          for (const f of [routed, filled]) {
            rs = risk.evolveInPlace(rs, f);
            steps.push({ kind: 'fact', e: f });
          }
        }
      }
    }
  }
  return { steps, approved };
}

/** Decisions per second over the steps, from a fresh state with the policy in force. */
function measure(steps: Step[], market: MarketData, compliance: CompliancePolicy | undefined, policy: ReturnType<typeof parsePolicy>): { perSec: number; cpuUs: number } {
  let rs = risk.evolveInPlace(
    risk.initialState(),
    makeEvent('RiskPolicySet', 'policy/1', { intent_id: '', account: '', strategy: '', ts: '', causation: 'bench' }, { version: 1, policy }),
  );
  let decisions = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (const s of steps) {
    if (s.kind === 'fact') {
      rs = risk.evolveInPlace(rs, s.e);
      continue;
    }
    for (const v of risk.decide({ kind: 'assess', intent: s.e, market, compliance }, rs)) rs = risk.evolveInPlace(rs, v);
    decisions++;
  }
  const seconds = (performance.now() - t0) / 1000;
  const u = process.cpuUsage(cpu0);
  return { perSec: Math.round(decisions / seconds), cpuUs: +((u.user + u.system) / decisions).toFixed(2) };
}

/** Rules that read only the order and its book: no positions, exposure, PnL or history. */
const PER_ORDER: ReadonlySet<string> = new Set([
  'max_order_notional',
  'max_order_qty',
  'price_band',
  'fat_finger',
  'order_size',
  'strategy_allow',
  'restricted_instruments',
  'trading_window',
  'stop_loss_required',
]);

/**
 * The floor of the rules that read the book: per decision, marking every position the policy's
 * scopes hold in exact decimals (the account's and the book's exposure, and the PnL the loss
 * limits and leverage read), as those rules must, and nothing else.
 */
function bookMarking(steps: Step[], market: MarketData, policy: ReturnType<typeof parsePolicy>): number {
  let rs = risk.evolveInPlace(
    risk.initialState(),
    makeEvent('RiskPolicySet', 'policy/1', { intent_id: '', account: '', strategy: '', ts: '', causation: 'bench' }, { version: 1, policy }),
  );
  let spent = 0;
  let n = 0;
  for (const s of steps) {
    if (s.kind === 'fact') {
      rs = risk.evolveInPlace(rs, s.e);
      continue;
    }
    const i = s.e.data.intent;
    const t0 = performance.now();
    const m = new Measure(rs, market, isoToMicros(i.ts));
    m.exposure(i.account, i.account, i.venues[0]);
    m.exposure(undefined, i.account, i.venues[0]);
    m.pnlUsd(`account:${i.account}`);
    m.pnlUsd('global');
    m.pnlUsd(`strategy:${i.strategy}`);
    spent += performance.now() - t0;
    n++;
    // The decision itself is not timed here: it only moves the state on.
    for (const v of risk.decide({ kind: 'assess', intent: s.e, market }, rs)) rs = risk.evolveInPlace(rs, v);
  }
  return +((spent * 1000) / n).toFixed(2);
}

export async function riskDecisions(emit: (o: Record<string, unknown>) => void): Promise<void> {
  const market = createSyntheticMarket({ seed: 1 });
  const policy = parsePolicy(JSON.parse(readFileSync(join(ROOT, 'examples/policy-full.json'), 'utf8')), 'examples/policy-full.json');
  const native = inputs(market, undefined, policy);
  // Warm the JIT on a first pass; the second is the figure.
  measure(native.steps, market, undefined, policy);
  const n = measure(native.steps, market, undefined, policy);
  const intents = native.steps.filter((s) => s.kind === 'intent').length;
  const perOrderPolicy = { ...policy, rules: (policy.rules ?? []).filter((r) => PER_ORDER.has(r.rule)) };
  measure(native.steps, market, undefined, perOrderPolicy);
  const perOrder = measure(native.steps, market, undefined, perOrderPolicy);
  // The decider with no rule at all: making and folding the events of a decision.
  const noRules = { halted: false };
  measure(native.steps, market, undefined, noRules);
  const bare = measure(native.steps, market, undefined, noRules);
  bookMarking(native.steps, market, policy);
  const marking = bookMarking(native.steps, market, policy);
  const held = new Set(native.steps.flatMap((s) => (s.kind === 'fact' && s.e.type === 'OrderRouted' ? [`${s.e.data.order.account}|${s.e.data.order.instrument_id}`] : [])));
  emit({
    bench: 'risk_decisions',
    intents,
    approved: native.approved,
    rules: (policy.rules?.length ?? 0) + 1,
    risk_decisions_per_sec: n.perSec,
    cpu_us_per_decision: n.cpuUs,
    // Beside it: only the rules that read the order and its book, and the floor of the others.
    risk_decisions_per_sec_per_order_rules: perOrder.perSec,
    positions_in_book: held.size,
    floor_decisions_per_sec_no_rules: bare.perSec,
    floor_book_marking_us_per_decision: marking,
    floor_decisions_per_sec_book_marking: Math.round(1_000_000 / marking),
  });

  // The shipped Rego policies, with the generator's strategies given every venue in the data.
  const bundle = await compileRegoDir(join(ROOT, 'policies/rego'), findOpa());
  const data = bundle.data as { fillstream: Record<string, unknown> };
  const strategies = Object.fromEntries(['xs_v1', 'mm_v2', 'trend_v3'].map((s) => [s, { venues: ['BINANCE', 'OKX', 'KUCOIN', 'KRAKEN', 'COINBASE', 'BYBIT'] }]));
  const withData = { ...bundle, data: { fillstream: { ...data.fillstream, strategies, default_tier: 'pro' } } };
  const compliance = await loadRegoPolicy({ ...withData, hash: regoBundleHash(withData.wasm, withData.data) });
  const withRego = inputs(market, compliance, policy);
  measure(withRego.steps, market, compliance, policy);
  const r = measure(withRego.steps, market, compliance, policy);
  // The floor of the Rego part: evaluating the bundle alone, per intent, in the same process.
  const regoInputs = withRego.steps.flatMap((s) => (s.kind === 'intent' ? [s.e.data.intent] : []));
  for (const i of regoInputs) compliance.evaluate(i);
  const t0 = performance.now();
  for (const i of regoInputs) compliance.evaluate(i);
  const regoUs = +(((performance.now() - t0) * 1000) / regoInputs.length).toFixed(2);
  emit({
    bench: 'risk_rego_decisions',
    rego_eval_us_per_intent: regoUs,
    floor_decisions_per_sec_native_plus_rego: Math.round(1_000_000 / (1_000_000 / n.perSec + regoUs)),
    intents: withRego.steps.filter((s) => s.kind === 'intent').length,
    approved: withRego.approved,
    rego_hash: compliance.hash.slice(0, 12),
    risk_rego_decisions_per_sec: r.perSec,
    cpu_us_per_decision: r.cpuUs,
  });
}
