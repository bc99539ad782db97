// Shared helpers for the embedded log tests.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestContext } from 'node:test';
import type { EventLog, LogRecord, OutRecord } from '../../src/log/types.js';

/** A fresh temp dir, removed after the test. */
export function tmpDir(t: TestContext): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'fillstream-log-'));
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

/** Segment files of a data dir, in journal order. */
export function segFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.seg'))
    .sort()
    .map((n) => path.join(dir, n));
}

export function rec(topic: string, value: string | Buffer, key: string | null = null, headers?: Record<string, string>): OutRecord {
  return headers ? { topic, key, value, headers } : { topic, key, value };
}

export async function readAll(log: EventLog, topic: string): Promise<LogRecord[]> {
  return log.read(topic, 0, 0, Number.MAX_SAFE_INTEGER);
}

export const values = (rs: LogRecord[]): string[] => rs.map((r) => r.value.toString('utf8'));

/** Flip one byte of a file in place. */
export function flipByte(file: string, at: number): void {
  const fd = fs.openSync(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, at);
    b[0] ^= 0x5a;
    fs.writeSync(fd, b, 0, 1, at);
  } finally {
    fs.closeSync(fd);
  }
}

export function waitFor(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (cond()) return resolve();
      if (Date.now() - t0 > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 2);
    };
    tick();
  });
}
