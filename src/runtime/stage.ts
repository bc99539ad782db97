// What every stage adapter provides to a runner (embedded or Kafka).
import type { EventLog, LogRecord, OutRecord } from '../log/types.js';

export interface Stage {
  /** Consumer group name; also the stage's name in logs and metrics. */
  readonly name: string;
  readonly input: string;
  /** Topics read beside the input for the stage's fold only (risk reads the gateway's order events); consumed and committed with it. */
  readonly also?: readonly string[];
  /** Rebuild in-memory state from the log before consuming. */
  restore(log: EventLog): Promise<void>;
  /** Decide on one batch of input records; the returned records commit with the batch's offsets. */
  handle(batch: LogRecord[]): Promise<OutRecord[]> | OutRecord[];
  /** The gateway: each live venue's standing (`env:VENUE` → halted, quarantined), for health and readiness. */
  standing?(): ReadonlyMap<string, { halted?: string; quarantined?: string }>;
}

export const wallClockIso = (): string => new Date().toISOString();
