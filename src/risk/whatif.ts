// What-if: the recorded intents decided again under another policy, beside what was decided.
// Operator commands are decided again too; fills and order events are folded as recorded (what
// happened on the venues does not change with the policy). Pure: the caller feeds the log.
import type { Event, EventOf, RiskPolicy } from '../domain/events.js';
import type { MarketData } from '../market/types.js';
import { risk, type CompliancePolicy, type RiskEvent, type RiskState } from './decide.js';
import { ruleSetHash } from './policy.js';
import { isGatewayFact } from './state.js';

export interface VerdictSummary {
  outcome: 'approved' | 'revised' | 'simulated' | 'rejected';
  code?: string;
  reason?: string;
  qty?: string;
}

export interface WhatIfDifference {
  intent_id: string;
  ts: string;
  account: string;
  strategy: string;
  instrument_id: string;
  old: VerdictSummary | null;
  new: VerdictSummary;
}

export interface WhatIfReport {
  policy_hash: string;
  rego_hash?: string;
  intents: number;
  changed: number;
  /** "old → new" outcome pairs of the changed intents. */
  by_outcome: Record<string, number>;
  /** Reject codes (and revise codes): how often each fired then and would fire now. */
  by_rule: Record<string, { recorded: number; whatif: number }>;
  differences: WhatIfDifference[];
}

/** What a recorded or a new decision comes to. */
export function summarize(e: EventOf<'RiskApproved' | 'RiskRejected'>): VerdictSummary {
  if (e.type === 'RiskRejected') return { outcome: 'rejected', code: e.data.code, reason: e.data.reason };
  if (e.data.revised) return { outcome: 'revised', code: e.data.revised.codes.join(','), qty: e.data.revised.to_qty };
  if (e.data.simulated) return { outcome: 'simulated', reason: e.data.simulated, qty: e.data.intent.qty };
  return { outcome: 'approved', qty: e.data.intent.qty };
}

const same = (a: VerdictSummary | null, b: VerdictSummary) => a !== null && a.outcome === b.outcome && a.code === b.code && a.qty === b.qty;

export class WhatIf {
  private state: RiskState;
  private readonly recorded = new Map<string, VerdictSummary>();
  private readonly report: WhatIfReport;

  constructor(
    policy: RiskPolicy,
    private readonly market: MarketData,
    private readonly compliance?: CompliancePolicy,
  ) {
    this.state = risk.evolveInPlace(risk.initialState(), {
      event_id: 'whatif/policy',
      type: 'RiskPolicySet',
      intent_id: '',
      account: '',
      strategy: '',
      ts: '',
      causation: 'whatif',
      recorded_at: '',
      data: { version: 1, policy, rule_set_hash: ruleSetHash(policy) },
    });
    this.report = { policy_hash: ruleSetHash(policy), ...(compliance ? { rego_hash: compliance.hash } : {}), intents: 0, changed: 0, by_outcome: {}, by_rule: {}, differences: [] };
  }

  /** First pass: what was decided, by intent. */
  learn(e: Event): void {
    if ((e.type === 'RiskApproved' || e.type === 'RiskRejected') && !this.recorded.has(e.intent_id)) {
      const v = summarize(e);
      this.recorded.set(e.intent_id, v);
      if (v.code) for (const c of v.code.split(',')) this.count(c, 'recorded');
    }
  }

  /** Second pass, in log order: intents and commands decided again, order events folded. */
  replay(e: Event): void {
    if (e.type === 'IntentAccepted') {
      const out = risk.decide({ kind: 'assess', intent: e, market: this.market, compliance: this.compliance }, this.state);
      this.fold(out);
      const verdict = out.findLast((x): x is EventOf<'RiskApproved' | 'RiskRejected'> => x.type === 'RiskApproved' || x.type === 'RiskRejected');
      if (!verdict) return;
      const now = summarize(verdict);
      if (now.code) for (const c of now.code.split(',')) this.count(c, 'whatif');
      this.report.intents++;
      const old = this.recorded.get(e.intent_id) ?? null;
      if (same(old, now)) return;
      this.report.changed++;
      const pair = `${old?.outcome ?? 'none'} → ${now.outcome}`;
      this.report.by_outcome[pair] = (this.report.by_outcome[pair] ?? 0) + 1;
      const i = e.data.intent;
      this.report.differences.push({ intent_id: e.intent_id, ts: e.ts, account: i.account, strategy: i.strategy, instrument_id: i.instrument_id, old, new: now });
    } else if (e.type === 'OperatorCommand') {
      this.fold(risk.decide({ kind: 'operator', command: e, market: this.market, compliance: this.compliance }, this.state));
      this.state = risk.evolveInPlace(this.state, e);
    } else if (isGatewayFact(e.type)) {
      this.state = risk.evolveInPlace(this.state, e);
    }
  }

  result(): WhatIfReport {
    return this.report;
  }

  private fold(events: readonly RiskEvent[]): void {
    for (const x of events) this.state = risk.evolveInPlace(this.state, x);
  }

  private count(code: string, which: 'recorded' | 'whatif'): void {
    const c = (this.report.by_rule[code] ??= { recorded: 0, whatif: 0 });
    c[which]++;
  }
}
