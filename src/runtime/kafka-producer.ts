/** Moved to `sinks/kafka-producer.ts`; kept while `runtime/dead-letters.ts` and `topology/commands/redrive.ts` import it from here. */
export * from '../sinks/kafka-producer.ts';
