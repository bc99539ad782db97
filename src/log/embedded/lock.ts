// One process owns a data dir: an exclusive LOCK file holding the owner's pid.
import * as fs from 'node:fs';
import * as path from 'node:path';

export class DataDirLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(`data dir ${dir} is in use by pid ${pid}`);
    this.name = 'DataDirLockedError';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the pid exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readPid(file: string): number | null {
  try {
    const n = Number.parseInt(fs.readFileSync(file, 'utf8').trim(), 10);
    return Number.isSafeInteger(n) && n > 0 ? n : null;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

export interface DirLock {
  readonly file: string;
  /** True when a lock left by a dead process was taken over. */
  readonly tookOverStale: boolean;
  release(): void;
}

/** Lock files this process holds: a LOCK naming our pid that is not here was left by an earlier
 *  process that had the same pid (containers restart as pid 1), so it is stale. */
const held = new Set<string>();

/** Take `<dir>/LOCK`; throws DataDirLockedError if a live process holds it. */
export function lockDataDir(dir: string): DirLock {
  const file = path.join(dir, 'LOCK');
  let tookOverStale = false;
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx');
      try {
        fs.writeSync(fd, `${process.pid}\n`);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      held.add(file);
      return {
        file,
        tookOverStale,
        release() {
          held.delete(file);
          // Only remove a lock that is still ours.
          if (readPid(file) === process.pid) fs.rmSync(file, { force: true });
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const pid = readPid(file);
    if (pid === null) {
      // Empty or unreadable: a writer died between create and write, or is writing right now.
      const st = statOrNull(file);
      if (st && Date.now() - st.mtimeMs < 1000) {
        sleepSync(20);
        continue;
      }
    } else if ((pid === process.pid && held.has(file)) || (pid !== process.pid && alive(pid))) {
      throw new DataDirLockedError(dir, pid);
    }
    // Stale: remove it, but only if it is still the one we judged (narrows the race between two takers).
    if (readPid(file) === pid) {
      fs.rmSync(file, { force: true });
      tookOverStale = true;
    }
  }
  throw new Error(`could not take the lock ${file}`);
}

function statOrNull(file: string): fs.Stats | null {
  try {
    return fs.statSync(file);
  } catch {
    return null;
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
