export { KafkaLog, openKafkaLog, stderrLogger, type KafkaLogOptions } from './kafka-log.js';
export { KAFKA_TOPICS, DEFAULT_TOPIC_SETTINGS, createTopics, topicConfigs, type TopicSettings } from './topics.js';
export { dropKafkajsTimerWarning } from './records.js';
