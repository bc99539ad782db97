// Drive the built CLI as a user would: a real process, real files.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { generateIntents, type GenerateOptions } from '../../src/tools/generate.js';
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

/**
 * Start the CLI and SIGKILL it as soon as `due()` holds (polled every 5 ms): kill points set by
 * progress (records written, orders placed) land mid-stream on a fast machine and a slow one alike.
 * Resolves with whether the kill landed; a process that ended before it must have exited 0, one
 * that reached neither within `waitMs` is killed and fails the test.
 */
export function runUntil(args: string[], due: () => boolean, waitMs = 120_000): Promise<{ killed: boolean; status: number | null }> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const deadline = Date.now() + waitMs;
    let late = false;
    const poll = setInterval(() => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      late = Date.now() > deadline;
      if (late || due()) child.kill('SIGKILL');
    }, 5);
    child.on('exit', (status, signal) => {
      clearInterval(poll);
      if (late) rej(new Error(`fillstream ${args[0]} reached its kill point in no ${waitMs} ms: ${stderr}`));
      else if (status !== null && status !== 0) rej(new Error(`fillstream ${args[0]} failed before the kill: ${stderr}`));
      else res({ killed: signal === 'SIGKILL', status });
    });
  });
}

/** SIGTERM to each stage process still running; each must exit 0 (a clean stop). */
export async function stopAll(procs: Map<string, ChildProcess>): Promise<void> {
  await Promise.all(
    [...procs].map(async ([name, child]) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      assert.equal(child.exitCode, 0, `stage ${name} stops cleanly on SIGTERM`);
    }),
  );
}

/** Bytes in a data dir's embedded log segments (0 before there are any): how far a run has written. */
export function logBytes(dataDir: string): number {
  const dir = join(dataDir, 'log');
  if (!existsSync(dir)) return 0;
  return readdirSync(dir)
    .filter((f) => f.endsWith('.seg'))
    .reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}
