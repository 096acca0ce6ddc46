/** The benchmark traffic generator: seeded game-platform events with injected faults and ground truth. */
export { generate, generateAll } from './generate.ts';
export { produce, ensureTopics, topicNames, PRODUCED_AT_HEADER, type ProduceOptions, type ProduceReport } from './produce.ts';
export { resolveOptions, DEFAULT_RATES, DEFAULT_RULES, type GeneratorInput, type GeneratorOptions, type FraudRules, type InjectionRates } from './options.ts';
export type { GeneratedRecord, GroundTruth, FraudCase, WindowRow, RecordKind } from './ground-truth.ts';
export { TOPICS, EVENT_TOPIC, EVENT_TYPES, type GameEvent, type LogicalTopic, type EventType } from './events.ts';
export { FRAUD_KINDS, type FraudKind } from './fraud.ts';
export { MALFORMED_KINDS, type MalformedKind } from './inject.ts';
export { detectFraud, validUniqueEvents } from './detect.ts';
