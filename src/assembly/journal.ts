// The file journal, built on demand: `run` keeps it off the pipeline's path, and the commands that
// read it (`audit sql`, `audit verify`, `audit catch-up`) first bring it up to the end of the log.
// It is a sink like any other: it stores its position with its rows, so a catch-up that is killed
// part way resumes where its last stored rows end, with nothing doubled.
import { auditDir, openAuditSink, storedEnds, type AuditSinkOptions } from '../audit/index.js';
import type { EventLog, LogRecord } from '../log/types.js';
import { consumeInto, type Sink } from '../runtime/sink.js';

export interface CatchUp {
  /** Event records journaled by this call. */
  events: number;
  seconds: number;
}

/**
 * Journals every event record of `log` that the journal (the data dir's files, or ClickHouse with a
 * URL) does not hold yet, and returns once they are stored. `onProgress` hears the running count
 * about once a second.
 */
export async function catchUpJournal(log: EventLog, o: AuditSinkOptions, onProgress?: (events: number) => void): Promise<CatchUp> {
  const t0 = performance.now();
  if (!o.clickhouseUrl) await refuseJournalPastLog(log, o.dataDir);
  // Nothing waits on a catch-up's rows but the caller: store a cut as soon as the log runs dry.
  const sink = await openAuditSink({ flushMs: 50, ...o });
  let events = 0;
  const counted: Sink = {
    name: sink.name,
    topics: sink.topics,
    maxBatch: sink.maxBatch,
    positions: (partitions) => sink.positions(partitions),
    write: (batch: LogRecord[]) => {
      events += batch.length;
      return sink.write(batch);
    },
    pending: () => sink.pending(),
    flush: () => sink.flush(),
    close: () => sink.close(),
  };
  const consumer = consumeInto(log, counted, CATCH_UP_BATCH);
  const timer = onProgress ? setInterval(() => onProgress(events), 1_000) : undefined;
  try {
    // Settled: the consumer has read to the end it knows and the sink stored what it was given.
    while (consumer.lag() > 0 || consumer.busy()) await Promise.race([consumer.done, new Promise((r) => setTimeout(r, 10))]);
  } finally {
    clearInterval(timer);
    await consumer.stop();
  }
  await consumer.done;
  return { events, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Journal files that run past the log's end were written from another log or altered by hand: a
 * catch-up leaves them as they are (verify then reports what is wrong).
 */
async function refuseJournalPastLog(log: EventLog, dataDir: string): Promise<void> {
  for (const end of storedEnds(dataDir)) {
    const logEnd = await log.endOffset(end.topic, end.partition);
    if (end.next > logEnd) {
      throw new Error(
        `the journal in ${auditDir(dataDir)} holds ${end.topic}/${end.partition} up to offset ${end.next - 1}, past the log's end (${logEnd}): it was written from another log or altered; left as it is`,
      );
    }
  }
}

/** Records per write while catching up: large batches, as the sink stores in cuts anyway. */
const CATCH_UP_BATCH = 10_000;
