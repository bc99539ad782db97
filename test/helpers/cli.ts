// Drive the built CLI as a user would: a real process, real files.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import assert from 'node:assert/strict';
import { createSyntheticMarket } from '../../src/market/synthetic.js';
import { generateIntents, type GenerateOptions } from '../../src/tools/generate.js';
import { openSimVenue } from '../../src/venues/sim/index.js';
import './services.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const CLI = join(ROOT, 'dist/cli/main.js');

export function requireBuild(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`make build\` (make test does) before the end-to-end tests`);
}

export function tempDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `fillstream-${name}-`));
}

export function writeIntents(dir: string, o: GenerateOptions): string {
  const path = join(dir, 'intents.ndjson');
  writeFileSync(path, [...generateIntents(o)].join('\n') + '\n');
  return path;
}

/** Runs the CLI; a process still running after `killAfterMs` is killed (status -1), so a hang fails the test. */
export function cli(args: string[], input?: string, killAfterMs = 300_000): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', input, maxBuffer: 1 << 28, timeout: killAfterMs });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function cliJson<T = Record<string, unknown>>(args: string[], input?: string): T {
  const r = cli([...args, '--json'], input);
  if (r.status !== 0) throw new Error(`fillstream ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** Start `fillstream run` and SIGKILL it after `afterMs`; resolves with its exit status. */
export function runAndKill(args: string[], afterMs: number): Promise<{ killed: boolean; status: number | null }> {
  return new Promise((res) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), afterMs);
    child.on('exit', (status, signal) => {
      clearTimeout(timer);
      if (status !== null && status !== 0) throw new Error(`fillstream run failed before the kill: ${stderr}`);
      res({ killed: signal === 'SIGKILL', status });
    });
  });
}

/** The simulated venue's own journal in a data dir: `orders` client order ids, each placed exactly once. */
export async function assertPlacedOnce(dataDir: string, orders: number): Promise<void> {
  const venue = await openSimVenue({ dir: join(dataDir, 'venue-sim'), market: createSyntheticMarket({ seed: 1 }) });
  try {
    const placed = venue.journalCounts();
    assert.equal(placed.size, orders);
    for (const [coid, n] of placed) assert.equal(n, 1, `client order ${coid} placed ${n} times`);
  } finally {
    await venue.close();
  }
}
