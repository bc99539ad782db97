// Events on the wire: JSON, keyed by account so everything about one account stays in order.
// The event type and intent id also travel as headers, so readers that only count or index
// events (replay, restore) need not parse the JSON.
import { EVENT_TOPIC, type Event, type EventType } from '../domain/events.js';
import type { LogRecord, OutRecord } from '../log/types.js';

export const HEADER_TYPE = 'type';
export const HEADER_INTENT_ID = 'intent_id';

export function toRecord(event: Event, recordedAt: string): OutRecord {
  event.recorded_at = recordedAt;
  return {
    topic: EVENT_TOPIC[event.type],
    key: event.account || null,
    value: JSON.stringify(event),
    headers: { [HEADER_TYPE]: event.type, [HEADER_INTENT_ID]: event.intent_id },
    decoded: event,
  };
}

export function fromRecord(r: LogRecord): Event {
  return (r.decoded as Event | undefined) ?? (JSON.parse(r.value.toString('utf8')) as Event);
}

/** The event type from the header, without parsing; undefined for records written without one. */
export function typeOf(r: LogRecord): EventType | undefined {
  return r.headers[HEADER_TYPE] as EventType | undefined;
}
