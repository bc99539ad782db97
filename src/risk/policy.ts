// Risk policy defaults and loading. Policies are data: they reach the risk stage as RiskPolicySet events.
import { readFileSync } from 'node:fs';
import { RiskPolicy } from '../domain/events.js';

export const DEFAULT_POLICY: RiskPolicy = {
  max_order_notional_usd: '1000000',
  halted: false,
};

export function loadPolicyFile(path: string): RiskPolicy {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read risk policy ${path}: ${(e as Error).message}`, { cause: e });
  }
  const r = RiskPolicy.safeParse(json);
  if (!r.success) {
    throw new Error(`risk policy ${path} is invalid: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return r.data;
}
