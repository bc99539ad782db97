// An operator's acts as events, the same whether they come from the CLI or the HTTP API: risk's
// commands (halt, resume, reduce, flatten, break-glass flatten, a new or patched policy) on
// exec.risk, the venue acts (halt, resume, clear a quarantine) on exec.gateway. Each names who and
// why, and goes to every partition of its topic, so whichever consumer owns a partition acts on it.
import { TOPICS, type Event, type EventOf, type RiskPolicy } from '../domain/events.js';
import { microsToIso, nowMicros } from '../domain/time.js';
import type { EventLog, OutRecord } from '../log/types.js';
import { risk } from '../risk/decide.js';
import { parsePolicy } from '../risk/policy.js';
import { policiesInLog } from '../risk/stage.js';
import { toRecord } from '../runtime/codec.js';
import { SCOPE } from './contract.js';

export const RISK_ACTS = ['halt', 'resume', 'reduce', 'flatten', 'break-glass-flatten'] as const;
export type RiskAct = (typeof RISK_ACTS)[number];
export const VENUE_ACTS = ['resume', 'halt', 'clear-quarantine'] as const;
export type VenueAct = (typeof VENUE_ACTS)[number];

/** The scope as given, or an error naming the forms it may take. */
export function checkScope(scope: string): string {
  if (!SCOPE.test(scope)) throw new Error(`scope ${JSON.stringify(scope)}: use global, account:NAME or strategy:NAME`);
  return scope;
}

/** An OperatorCommand for risk; its id is unique per act and time. */
export function riskCommand(act: RiskAct, scope: string, operator: string, reason: string, ts = microsToIso(nowMicros())): EventOf<'OperatorCommand'> {
  checkScope(scope);
  const command = act === 'break-glass-flatten' ? 'break_glass_flatten' : act;
  const commandId = `${command}/${scope}/${ts}`;
  return {
    event_id: `control/${commandId}`,
    type: 'OperatorCommand',
    intent_id: '',
    account: scope.startsWith('account:') ? scope.slice('account:'.length) : '',
    strategy: scope.startsWith('strategy:') ? scope.slice('strategy:'.length) : '',
    ts,
    causation: `operator:${operator}`,
    recorded_at: '',
    data: { command_id: commandId, command, scope, operator, reason },
  };
}

/** A venue act for the gateway. */
export function venueCommand(
  act: VenueAct,
  o: { venue: string; env: 'staging' | 'prod'; account?: string; operator: string; reason: string },
  ts = microsToIso(nowMicros()),
): Event {
  const venue = o.venue.toUpperCase();
  const base = { intent_id: '', account: o.account ?? 'default', strategy: '', ts, causation: `operator:${o.operator}`, recorded_at: '' };
  const event_id = `venue/${o.env}/${venue}/${act}/${ts}`;
  const data = { venue, env: o.env, reason: o.reason, operator: o.operator };
  if (act === 'resume') return { ...base, event_id, type: 'VenueResumed', data };
  if (act === 'halt') return { ...base, event_id, type: 'VenueHalted', data };
  return { ...base, event_id, type: 'QuarantineCleared', data };
}

/** Copies of the events on every partition of `topic`. */
export async function appendToAll(log: EventLog, topic: string, events: readonly Event[]): Promise<void> {
  const at = new Date().toISOString();
  const copies: OutRecord[] = [];
  for (const e of events) for (let partition = 0; partition < log.partitions(topic); partition++) copies.push({ ...toRecord(e, at), partition });
  if (copies.length > 0) await log.append(copies);
}

export const appendToRisk = (log: EventLog, events: readonly Event[]): Promise<void> => appendToAll(log, TOPICS.risk, events);

/** An operator's word to the chain decider (pause, resume, slots, cancel), recorded with who and why. */
export function chainCommand(
  command: 'pause' | 'resume' | 'slots' | 'cancel',
  o: { slots?: number; chain_id?: string; operator: string; reason: string },
  ts = microsToIso(nowMicros()),
): EventOf<'ChainCommand'> {
  const target = command === 'slots' ? String(o.slots) : command === 'cancel' ? o.chain_id : '';
  return {
    event_id: `chain-control/${command}/${target ?? ''}/${ts}`,
    type: 'ChainCommand',
    intent_id: o.chain_id ?? '',
    account: '',
    strategy: '',
    ts,
    causation: `operator:${o.operator}`,
    recorded_at: '',
    data: {
      command,
      ...(o.slots !== undefined ? { slots: o.slots } : {}),
      ...(o.chain_id !== undefined ? { chain_id: o.chain_id } : {}),
      operator: o.operator,
      reason: o.reason,
    },
  };
}

/** RFC 7386 JSON merge patch: objects merge, null deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

export type PolicyChange = { policy: unknown; what: string } | { patch: unknown; what: string };

/**
 * Put a whole policy, or the one in force patched, in force. A policy that does not parse is
 * refused with the parser's message and nothing is written; the same policy again writes nothing.
 */
export async function setPolicy(
  log: EventLog,
  change: PolicyChange,
  operator: string,
  reason: string,
): Promise<{ written: false; version: number } | { written: true; version: number; rule_set_hash?: string }> {
  const latest = await policiesInLog(log);
  const policy: RiskPolicy =
    'policy' in change ? parsePolicy(change.policy, change.what) : parsePolicy(mergePatch(latest.policy, change.patch), `the policy in force patched with ${change.what}`);
  const events = risk.decide({ kind: 'set_policy', policy, ts: microsToIso(nowMicros()), operator, reason }, latest);
  if (events.length === 0) return { written: false, version: latest.version };
  await appendToRisk(log, events);
  const set = events[0] as EventOf<'RiskPolicySet'>;
  return { written: true, version: set.data.version, rule_set_hash: set.data.rule_set_hash };
}
