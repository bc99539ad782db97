// Consumers that outlive their servers' outages. A stage on Kafka whose consumer fails (a commit the
// broker did not take, a lost connection) is rebuilt from the log and consumes again from its
// committed offsets: a failed batch may have changed its in-memory state without committing, so that
// state is thrown away with it. A sink that fails (its store or the log away) is reopened and resumes
// from the position kept in its store. Faults only a person fixes, and stops, are not retried.
import type { ConsumeOptions, Consumer, EventLog } from '../log/types.js';
import type { Stage } from './stage.js';
import { consumeInto, type Sink } from './sink.js';
import { backoffDelay, firstLine, pause, permanentIn, stopIn, type Classify } from '../domain/faults.js';

export interface SuperviseOptions {
  /** Gives up after this many failures within `windowMs` (default 10 in 60 s). */
  maxFailures?: number;
  windowMs?: number;
  maxBatch?: number;
  /** Told of each failure and the restart that follows (default: one line on stderr). */
  onRestart?: (name: string, error: unknown, delayMs: number) => void;
  /** Reads a failure as permanent (the log's classifier): the consumer then stops at once instead of restarting. */
  classify?: Classify;
  /** Passed to the log's consumer: told of each committed batch (metrics). */
  onCommitted?: ConsumeOptions['onCommitted'];
}

/** Runs what `start` returns, and starts it again after a failure, with back-off. */
export class Supervised implements Consumer {
  readonly done: Promise<void>;
  private current: Consumer | undefined;
  private stopping = false;
  private readonly stopped = new AbortController();

  constructor(
    readonly group: string,
    private readonly start: () => Promise<Consumer>,
    private readonly opts: SuperviseOptions & { what: string },
  ) {
    this.done = this.run();
  }

  lag(): number {
    return this.current ? this.current.lag() : 1;
  }

  busy(): boolean {
    return this.current?.busy() ?? true;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.stopped.abort();
    await this.current?.stop();
  }

  private async run(): Promise<void> {
    const maxFailures = this.opts.maxFailures ?? 10;
    const windowMs = this.opts.windowMs ?? 60_000;
    const failures: number[] = [];
    for (;;) {
      try {
        this.current = await this.start();
        if (this.stopping) await this.current.stop();
        await this.current.done;
        return; // stopped
      } catch (e) {
        this.current = undefined;
        if (this.stopping || stopIn(e)) throw e;
        const permanent = permanentIn(e) ?? this.opts.classify?.(e);
        if (permanent) throw permanent;
        const now = Date.now();
        failures.push(now);
        while (failures[0] < now - windowMs) failures.shift();
        if (failures.length >= maxFailures) throw e;
        const delay = backoffDelay(failures.length - 1, 100, 5_000);
        (this.opts.onRestart ?? ((name, err, d) => logRestart(this.opts.what, name, err, d)))(this.group, e, delay);
        await pause(delay, this.stopped.signal);
        if (this.stopping) return;
      }
    }
  }
}

/**
 * A stage that is rebuilt from the log after each failure. With fencing (Kafka) it is restored
 * once its partitions are known: after each (re)assignment, the partitions' older writers are
 * fenced, then the stage is rebuilt, so its state holds all their committed history.
 */
export function superviseStage(log: EventLog, make: () => Stage, opts: SuperviseOptions = {}): Supervised {
  let next: Stage | undefined = make();
  return new Supervised(
    next.name,
    async () => {
      let s = next ?? make();
      next = undefined;
      if (!log.fence) await s.restore(log);
      const onAssign = log.fence
        ? async (partitions: { topic: string; partition: number }[]) => {
            await log.fence!(s.name, partitions);
            const fresh = make();
            await fresh.restore(log);
            s = fresh;
          }
        : undefined;
      return log.consume({ group: s.name, topics: [s.input, ...(s.also ?? [])], maxBatch: opts.maxBatch, handle: (b) => s.handle(b), onAssign, onCommitted: opts.onCommitted });
    },
    { ...opts, what: 'stage' },
  );
}

/** A sink reopened after each failure; it resumes from the position kept in its store. */
export function superviseSink(log: EventLog, name: string, open: () => Promise<Sink>, opts: SuperviseOptions = {}): Supervised {
  return new Supervised(name, async () => consumeInto(log, await open(), opts.maxBatch), { ...opts, what: 'sink' });
}

function logRestart(what: string, name: string, error: unknown, delayMs: number): void {
  process.stderr.write(
    `fillstream: ${what} ${name} failed (${firstLine(error)}); ${what === 'stage' ? 'rebuilding it from the log' : 'reopening it'} and resuming in ${delayMs} ms\n`,
  );
}
