// Events on the wire: JSON, keyed by account so everything about one account stays in order.
import { EVENT_TOPIC, type Event } from '../domain/events.js';
import type { LogRecord, OutRecord } from '../log/types.js';

export function toRecord(event: Event, recordedAt: string): OutRecord {
  event.recorded_at = recordedAt;
  return { topic: EVENT_TOPIC[event.type], key: event.account || null, value: JSON.stringify(event), decoded: event };
}

export function fromRecord(r: LogRecord): Event {
  return (r.decoded as Event | undefined) ?? (JSON.parse(r.value.toString('utf8')) as Event);
}
