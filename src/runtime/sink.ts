// Sinks: the stages that project the log somewhere else (Redis, ClickHouse, journal files) rather
// than into the log. Each keeps its position with its data, written atomically with it, and
// resumes from there after a crash: no duplicates and no gaps, whatever the log's group offsets say.
import type { Consumer, EventLog, LogPosition, LogRecord } from '../log/types.js';

export interface Sink {
  /** Consumer group name; also the stage's name. */
  readonly name: string;
  readonly topics: readonly string[];
  /** Most records per write, when the sink prefers its own (catching up, fewer larger writes pay). */
  readonly maxBatch?: number;
  /**
   * Where the stored data ends: the next offset per partition. Called at start and after each new
   * assignment; a sink rebuilds whatever in-memory state it keeps to match its store here.
   */
  positions(partitions: { topic: string; partition: number }[]): Promise<LogPosition[]>;
  /**
   * Records in order within each partition. The sink may buffer them (batches by size and time),
   * but it stores a record only together with the position after it.
   */
  write(batch: LogRecord[]): Promise<void>;
  /** Records handed to write and not yet stored. */
  pending(): number;
  /** Store everything buffered. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Consumes a sink's topics into it; stopping flushes what it buffered, then closes it. Batches
 * hold at most the sink's own maxBatch, else `maxBatch`.
 */
export function consumeInto(log: EventLog, sink: Sink, maxBatch?: number): Consumer {
  let flushing = 0;
  const inner = log.consume({
    group: sink.name,
    topics: [...sink.topics],
    maxBatch: sink.maxBatch ?? maxBatch,
    positions: (partitions) => sink.positions(partitions),
    handle: async (batch) => {
      await sink.write(batch);
      return [];
    },
  });
  const done = inner.done.then(
    async () => {
      flushing++;
      try {
        await sink.flush();
      } finally {
        flushing--;
        await sink.close();
      }
    },
    async (e: unknown) => {
      await sink.close().catch(() => undefined);
      throw e;
    },
  );
  done.catch(() => undefined);
  return {
    group: sink.name,
    done,
    lag: () => inner.lag() + sink.pending(),
    busy: () => inner.busy() || flushing > 0,
    async stop() {
      await inner.stop();
      await done.catch(() => undefined);
    },
  };
}
