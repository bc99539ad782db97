// Building events: one envelope for every event type.
import type { EventOf, EventType } from './events.js';

/** Envelope fields a decider knows; recorded_at is stamped by the adapter when it writes. */
export interface EventSeed {
  intent_id: string;
  account: string;
  strategy: string;
  ts: string;
  causation: string;
}

export function makeEvent<T extends EventType>(type: T, eventId: string, seed: EventSeed, data: EventOf<T>['data']): EventOf<T> {
  return {
    event_id: eventId,
    type,
    intent_id: seed.intent_id,
    account: seed.account,
    strategy: seed.strategy,
    ts: seed.ts,
    causation: seed.causation,
    recorded_at: '',
    data,
  } as unknown as EventOf<T>;
}

export function positionId(p: { topic: string; partition: number; offset: number }): string {
  return `${p.topic}/${p.partition}/${p.offset}`;
}
