/** The baselines Tributary is compared with, each measured in its own process. */
export type { BaselineResult } from './common.ts';
export { countRecords } from './common.ts';
export { bareConsumer, measureBareConsumer, type BareConsumerOptions } from './bare-consumer.ts';
export { jsonParse, measureJsonParse, type JsonParseOptions } from './json-parse.ts';
export { naiveService, measureNaiveService, type NaiveServiceOptions } from './naive-service.ts';
export { kafkaStreamsReference, buildReference, type ReferenceOptions, type ReferenceResult } from '../reference/run.ts';
