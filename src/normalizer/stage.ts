// Normalizer adapter: raw bytes from exec.intents in, accepted / duplicate / dead-letter events out.
import { TOPICS } from '../domain/events.js';
import type { EventLog, LogRecord, OutRecord } from '../log/types.js';
import { fromRecord, HEADER_INTENT_ID, toRecord, traceOf, typeOf } from '../runtime/codec.js';
import { wallClockIso, type Stage } from '../runtime/stage.js';
import { decideIntent, evolveNormalizer, initialNormalizerState, type NormalizerContext } from './decide.js';

export function normalizerStage(ctx: NormalizerContext): Stage {
  const state = initialNormalizerState();
  return {
    name: 'normalizer',
    input: TOPICS.intents,
    async restore(log: EventLog) {
      await log.scan([TOPICS.risk], (r) => {
        const type = typeOf(r);
        if (type === 'IntentAccepted') state.seen.add(r.headers[HEADER_INTENT_ID]);
        else if (type === undefined) evolveNormalizer(state, fromRecord(r));
      });
    },
    handle(batch: LogRecord[]): OutRecord[] {
      const out: OutRecord[] = [];
      const now = wallClockIso();
      for (const r of batch) {
        const source = { topic: r.topic, partition: r.partition, offset: r.offset };
        const trace = traceOf(r);
        for (const e of decideIntent(state, r.value, source, r.timestamp * 1000, ctx)) {
          evolveNormalizer(state, e);
          out.push(toRecord(e, now, trace));
        }
      }
      return out;
    },
  };
}
