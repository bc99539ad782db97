// A stage on Kafka that outlives broker outages: when its consumer fails (a commit the broker did
// not take, a lost connection), the stage is rebuilt from the log and consumes again from its
// committed offsets. Rebuilding matters: a failed batch may have changed the stage's in-memory
// state without committing, so that state is thrown away with it.
import type { Consumer, EventLog } from '../log/types.js';
import type { Stage } from './stage.js';
import { permanentIn, type Classify } from '../domain/faults.js';

export interface SuperviseOptions {
  /** Gives up after this many failures within `windowMs` (default 10 in 60 s). */
  maxFailures?: number;
  windowMs?: number;
  maxBatch?: number;
  /** Told of each failure and the restart that follows (default: one line on stderr). */
  onRestart?: (stage: string, error: unknown, delayMs: number) => void;
  /** Reads a failure as permanent (the log's classifier): the stage then stops at once instead of restarting. */
  classify?: Classify;
}

export class SupervisedStage implements Consumer {
  readonly group: string;
  readonly done: Promise<void>;
  private current: Consumer | undefined;
  private stopping = false;
  private wake: () => void = () => undefined;

  constructor(
    private readonly log: EventLog,
    private readonly make: () => Stage,
    private readonly opts: SuperviseOptions = {},
  ) {
    const first = make();
    this.group = first.name;
    this.done = this.run(first);
  }

  lag(): number {
    return this.current ? this.current.lag() : 1;
  }

  busy(): boolean {
    return this.current?.busy() ?? true;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    await this.current?.stop();
  }

  private async run(first: Stage): Promise<void> {
    const maxFailures = this.opts.maxFailures ?? 10;
    const windowMs = this.opts.windowMs ?? 60_000;
    const failures: number[] = [];
    let next: Stage | undefined = first;
    for (;;) {
      try {
        let s = next ?? this.make();
        next = undefined;
        // With fencing (Kafka) the stage is restored in onAssign, once its partitions are known.
        if (!this.log.fence) await s.restore(this.log);
        // After each (re)assignment: fence the partitions' older writers, then rebuild the stage
        // from the log, so its state holds all their committed history (e.g. seen intent ids).
        const onAssign = this.log.fence
          ? async (partitions: { topic: string; partition: number }[]) => {
              await this.log.fence!(s.name, partitions);
              const fresh = this.make();
              await fresh.restore(this.log);
              s = fresh;
            }
          : undefined;
        this.current = this.log.consume({ group: s.name, topics: [s.input], maxBatch: this.opts.maxBatch, handle: (b) => s.handle(b), onAssign });
        await this.current.done;
        return; // stopped
      } catch (e) {
        this.current = undefined;
        if (this.stopping) throw e;
        const permanent = permanentIn(e) ?? this.opts.classify?.(e);
        if (permanent) throw permanent;
        const now = Date.now();
        failures.push(now);
        while (failures[0] < now - windowMs) failures.shift();
        if (failures.length >= maxFailures) throw e;
        const delay = Math.min(5_000, 100 * 2 ** (failures.length - 1));
        (this.opts.onRestart ?? logRestart)(this.group, e, delay);
        await new Promise<void>((r) => {
          this.wake = r;
          setTimeout(r, delay);
        });
        if (this.stopping) return;
      }
    }
  }
}

function logRestart(stage: string, error: unknown, delayMs: number): void {
  const msg = error instanceof Error ? error.message : String(error);
  process.stderr.write(`fillstream: stage ${stage} failed (${msg}); rebuilding it from the log and resuming in ${delayMs} ms\n`);
}
