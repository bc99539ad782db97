// The fused pre-trade decider (src/decide/): what the normalizer, risk and the router decide one
// after another, in one step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pretrade } from '../../src/decide/decide.js';
import { makeEvent } from '../../src/domain/envelope.js';
import type { RiskPolicy } from '../../src/domain/events.js';
import { clientOrderId } from '../../src/domain/ids.js';
import { createSyntheticMarket } from '../../src/market/synthetic.js';
import { normalizer, type NormalizeIntent } from '../../src/normalizer/decide.js';
import { risk } from '../../src/risk/decide.js';
import { router } from '../../src/router/decide.js';
import { given } from '../helpers/decider.js';

const market = createSyntheticMarket({ seed: 1 });
const intent = (id: string, over: Record<string, unknown> = {}): NormalizeIntent => ({
  raw: Buffer.from(
    JSON.stringify({ intent_id: id, ts: '2026-01-02T10:00:00Z', instrument_id: 'BINANCE:BTCUSDT', side: 'BUY', size: { type: 'notional', value: '10000' }, env: 'sim', ...over }),
  ),
  source: { topic: 'exec.intents', partition: 0, offset: 7 },
  arrived_us: 0,
  market,
});
const policy = (p: RiskPolicy) => makeEvent('RiskPolicySet', 'policy/1', { intent_id: '', account: '', strategy: '', ts: '', causation: 'operator' }, { version: 1, policy: p });

test('an intent within the limits becomes accepted, approved and routed in one step', () => {
  given(pretrade)
    .when(intent('f1'))
    .then(
      { type: 'IntentAccepted', event_id: 'f1/accepted' },
      { type: 'RiskApproved', event_id: 'f1/risk', causation: 'f1/accepted' },
      { type: 'OrderRouted', event_id: 'f1/route/0', causation: 'f1/risk', data: { order: { client_order_id: clientOrderId('f1', 0, 0), venue: 'BINANCE' } } },
    );
});

test('the same events as the three deciders one after another', () => {
  const command = intent('f2', { constraints: { max_slippage_bps: 3 } });
  const [accepted] = normalizer.decide(command, normalizer.initialState());
  assert.ok(accepted.type === 'IntentAccepted');
  const [verdict] = risk.decide({ kind: 'assess', intent: accepted, market }, risk.initialState());
  assert.ok(verdict.type === 'RiskApproved');
  const routed = router.decide({ approved: verdict, market }, router.initialState());
  assert.deepEqual(pretrade.decide(command, pretrade.initialState()), [accepted, verdict, ...routed]);
});

test('a rejected intent stops at risk; a bad one at the normalizer; a repeated id is a duplicate', () => {
  const rejected = given(pretrade, policy({ max_order_notional_usd: '5000', halted: false }))
    .when(intent('f3'))
    .then({ type: 'IntentAccepted' }, { type: 'RiskRejected', data: { code: 'MAX_ORDER_NOTIONAL', policy_version: 1 } });
  assert.equal(rejected.length, 2);
  given(pretrade)
    .when(intent('f4', { side: 'HOLD' }))
    .thenRejected('SCHEMA');
  // Known from its record headers, as a restore folds it: the id alone.
  given(pretrade, { type: 'IntentAccepted', intent_id: 'f5' }).when(intent('f5')).then({ type: 'IntentDuplicate', event_id: 'f5/duplicate/exec.intents/0/7' });
});
