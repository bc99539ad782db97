export { KafkaLog, openKafkaLog, stderrLogger } from './kafka-log.js';
export { KAFKA_CLIENTS, kafkaClientOf, type KafkaClientName, type KafkaEventLog, type KafkaLogOptions } from './common.js';
export { KAFKA_TOPICS, DEFAULT_TOPIC_SETTINGS, createTopics, topicConfigs, type TopicSettings } from './topics.js';
export { dropKafkajsTimerWarning } from './records.js';
