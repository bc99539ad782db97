// The topics fillstream keeps on Kafka, and how `fillstream topics create` provisions them.
import type { Admin, ITopicConfig } from 'kafkajs';
import { ALL_TOPICS, CONTROL_TOPIC } from '../../domain/events.js';

/** Every topic on Kafka: the log topics plus exec.control (operator commands, source positions). */
export const KAFKA_TOPICS: readonly string[] = [...ALL_TOPICS, CONTROL_TOPIC];

export interface TopicSettings {
  /** Prepended to every topic name (FILLSTREAM_TOPIC_PREFIX), e.g. `staging.`. */
  prefix: string;
  partitions: number;
  replicationFactor: number;
  /**
   * retention.ms of the log topics. They are the system of record, so the default is -1: never
   * delete by time. exec.control is compacted instead (the latest value per key is what counts).
   */
  retentionMs: number;
}

export const DEFAULT_TOPIC_SETTINGS: TopicSettings = { prefix: '', partitions: 6, replicationFactor: 1, retentionMs: -1 };

export function topicConfigs(s: TopicSettings): ITopicConfig[] {
  return KAFKA_TOPICS.map((t) => ({
    topic: s.prefix + t,
    numPartitions: s.partitions,
    replicationFactor: s.replicationFactor,
    configEntries:
      t === CONTROL_TOPIC
        ? [{ name: 'cleanup.policy', value: 'compact' }]
        : [
            { name: 'cleanup.policy', value: 'delete' },
            { name: 'retention.ms', value: String(s.retentionMs) },
            { name: 'retention.bytes', value: '-1' },
          ],
  }));
}

/** Create the topics that are missing; returns the names created. Existing topics are left as they are. */
export async function createTopics(admin: Admin, s: TopicSettings): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = topicConfigs(s).filter((c) => !existing.has(c.topic));
  if (missing.length === 0) return [];
  await admin.createTopics({ topics: missing, waitForLeaders: false });
  await waitForLeaders(
    admin,
    missing.map((c) => c.topic),
  );
  return missing.map((c) => c.topic);
}

/**
 * Until every partition of the topics has a leader. kafkajs's own wait gives up on a busy broker
 * that does not know a new topic yet (UNKNOWN_TOPIC_OR_PARTITION), which is only a matter of time.
 */
async function waitForLeaders(admin: Admin, topics: string[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const md = await admin.fetchTopicMetadata({ topics });
      if (md.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
    } catch (e) {
      if ((e as { retriable?: boolean }).retriable !== true || Date.now() > deadline) throw e;
    }
    if (Date.now() > deadline) throw new Error(`Kafka topics ${topics.join(', ')} have no leader after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
