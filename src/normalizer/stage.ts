// Normalizer adapter: raw bytes from exec.intents in, accepted / duplicate / dead-letter events out.
import { TOPICS } from '../domain/events.js';
import type { EventLog, LogRecord, OutRecord } from '../log/types.js';
import type { MarketData } from '../market/types.js';
import { fromRecord, HEADER_INTENT_ID, traceOf, typeOf } from '../runtime/codec.js';
import { decideInto } from '../runtime/decide-into.js';
import { forwardedIntent, intentPlacement } from '../runtime/forward.js';
import { wallClockIso, type Stage } from '../runtime/stage.js';
import { normalizeCommand, normalizer, placementOf, type IntentPlacement } from './decide.js';

export interface NormalizerOptions {
  market: MarketData;
  venuePreference?: readonly string[];
}

export function normalizerStage(opts: NormalizerOptions): Stage {
  let state = normalizer.initialState();
  let placement: IntentPlacement | undefined;
  return {
    name: 'normalizer',
    input: TOPICS.intents,
    async restore(log: EventLog) {
      placement = intentPlacement(log);
      // The seen ids are the accepted intents on exec.risk; their type and id are in the headers.
      await log.scan([TOPICS.risk], (r) => {
        const type = typeOf(r);
        state = normalizer.evolveInPlace(state, type === undefined ? fromRecord(r) : { type, intent_id: r.headers[HEADER_INTENT_ID] });
      });
    },
    handle(batch: LogRecord[]): OutRecord[] {
      const out: OutRecord[] = [];
      const now = wallClockIso();
      for (const r of batch) {
        // A record off its account's partition is moved there first, and decided when it arrives.
        const home = placement && placementOf(r, placement);
        if (home) out.push(forwardedIntent(r, home));
        else state = decideInto(normalizer, state, normalizeCommand(r, opts.market, opts.venuePreference), out, now, traceOf(r));
      }
      return out;
    },
  };
}
