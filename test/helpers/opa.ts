// The real opa for the Rego tests: $FILLSTREAM_OPA, else the one infra/dev/opa.sh builds (once,
// from the Go module proxy; a first build takes minutes).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');

export function opaBin(): string {
  const fromEnv = process.env.FILLSTREAM_OPA;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  // stderr passes through: the build's progress, or why it failed.
  return execFileSync(join(ROOT, 'infra/dev/opa.sh'), ['bin'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

/** A temp directory holding these files (name → content). */
export function policyDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'fillstream-rego-test-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** The compliance package with a fixed `decision`, for the seam's checks of a policy's answer. */
export function decisionPolicy(decision: string): Record<string, string> {
  return { 'compliance.rego': `package fillstream.compliance\n\n${decision}\n` };
}
