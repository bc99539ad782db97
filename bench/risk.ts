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

export async function riskDecisions(emit: (o: Record<string, unknown>) => void): Promise<void> {
  const market = createSyntheticMarket({ seed: 1 });
  const policy = parsePolicy(JSON.parse(readFileSync(join(ROOT, 'examples/policy-full.json'), 'utf8')), 'examples/policy-full.json');
  const native = inputs(market, undefined, policy);
  // Warm the JIT on a first pass; the second is the figure.
  measure(native.steps, market, undefined, policy);
  const n = measure(native.steps, market, undefined, policy);
  const intents = native.steps.filter((s) => s.kind === 'intent').length;
  emit({ bench: 'risk_decisions', intents, approved: native.approved, rules: (policy.rules?.length ?? 0) + 1, risk_decisions_per_sec: n.perSec, cpu_us_per_decision: n.cpuUs });

  // The shipped Rego policies, with the generator's strategies given every venue in the data.
  const bundle = await compileRegoDir(join(ROOT, 'policies/rego'), findOpa());
  const data = bundle.data as { fillstream: Record<string, unknown> };
  const strategies = Object.fromEntries(['xs_v1', 'mm_v2', 'trend_v3'].map((s) => [s, { venues: ['BINANCE', 'OKX', 'KUCOIN', 'KRAKEN', 'COINBASE', 'BYBIT'] }]));
  const withData = { ...bundle, data: { fillstream: { ...data.fillstream, strategies, default_tier: 'pro' } } };
  const compliance = await loadRegoPolicy({ ...withData, hash: regoBundleHash(withData.wasm, withData.data) });
  const withRego = inputs(market, compliance, policy);
  measure(withRego.steps, market, compliance, policy);
  const r = measure(withRego.steps, market, compliance, policy);
  emit({
    bench: 'risk_rego_decisions',
    intents: withRego.steps.filter((s) => s.kind === 'intent').length,
    approved: withRego.approved,
    rego_hash: compliance.hash.slice(0, 12),
    risk_rego_decisions_per_sec: r.perSec,
    cpu_us_per_decision: r.cpuUs,
  });
}
