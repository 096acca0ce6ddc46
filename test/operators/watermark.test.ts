import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.ts';
import { envelopeOf } from '../../src/core/envelope.ts';
import { eventTimeFromEnvelope, eventTimeFromField, eventTimeFromKafka, WatermarkTracker } from '../../src/operators/watermark.ts';

describe('event time helpers', () => {
  const fromField = eventTimeFromField((v: { ts?: unknown }) => v.ts);

  it('reads epoch ms and ISO-8601 strings (no zone = UTC)', () => {
    expect(fromField(envelopeOf({ ts: 1_700_000_000_123 }))).toBe(1_700_000_000_123);
    expect(fromField(envelopeOf({ ts: '2024-03-07T12:00:00.250Z' }))).toBe(Date.UTC(2024, 2, 7, 12, 0, 0, 250));
    expect(fromField(envelopeOf({ ts: '2024-03-07T12:00:00' }))).toBe(Date.UTC(2024, 2, 7, 12));
    expect(fromField(envelopeOf({ ts: '2024-03-07T13:00:00+01:00' }))).toBe(Date.UTC(2024, 2, 7, 12));
  });

  it.each([undefined, null, 'yesterday', '1700000000000', Number.NaN, Infinity, '2024-02-31T00:00:00Z', {}])('refuses %s with a ValidationError', (ts) => {
    expect(() => fromField(envelopeOf({ ts }))).toThrow(ValidationError);
  });

  it('reads the Kafka timestamp, refusing a missing (negative) one', () => {
    expect(eventTimeFromKafka()(envelopeOf(null, { timestamp: 42 }))).toBe(42);
    expect(() => eventTimeFromKafka()(envelopeOf(null, { timestamp: -1 }))).toThrow(ValidationError);
  });

  it('reads eventTimeMs set by an earlier step', () => {
    expect(eventTimeFromEnvelope()(envelopeOf(null, {}, undefined, 7))).toBe(7);
    expect(() => eventTimeFromEnvelope()(envelopeOf(null))).toThrow(ValidationError);
  });
});

describe('WatermarkTracker', () => {
  it('is -Infinity before any event, then the max event time minus the allowed out-of-orderness', () => {
    const w = new WatermarkTracker({ maxOutOfOrdernessMs: 100, idleTimeoutMs: Infinity });
    expect(w.current(0)).toBe(-Infinity);
    w.observe('t', 0, 1000, 0);
    w.observe('t', 0, 900, 0);
    expect(w.current(0)).toBe(900);
    w.observe('t', 0, 1500, 0);
    expect(w.current(0)).toBe(1400);
  });

  it('takes the minimum over partitions, so a slow partition holds it back', () => {
    const w = new WatermarkTracker({ maxOutOfOrdernessMs: 0, idleTimeoutMs: Infinity });
    w.observe('t', 0, 5000, 0);
    w.observe('t', 1, 1000, 0);
    w.observe('u', 0, 9000, 0);
    expect(w.current(1_000_000)).toBe(1000);
    expect(w.partitions).toBe(3);
    expect(w.nextChangeAt(2000, 0)).toBeUndefined();
  });

  it('leaves an idle partition out, and never goes back when it wakes up', () => {
    const w = new WatermarkTracker({ maxOutOfOrdernessMs: 0, idleTimeoutMs: 100 });
    w.observe('t', 0, 1000, 0);
    w.observe('t', 1, 5000, 50);
    expect(w.current(99)).toBe(1000);
    expect(w.nextChangeAt(10_000, 99)).toBe(100); // partition 0 turns idle at 0 + 100
    expect(w.current(100)).toBe(5000);
    w.observe('t', 0, 1200, 120); // partition 0 is back, far behind
    expect(w.current(120)).toBe(5000);
  });

  it('advances with processing time once every partition is idle', () => {
    const w = new WatermarkTracker({ maxOutOfOrdernessMs: 0, idleTimeoutMs: 100 });
    w.observe('t', 0, 1000, 0);
    w.observe('t', 1, 3000, 40);
    expect(w.current(139)).toBe(3000); // partition 0 idle since 100, partition 1 active
    expect(w.current(140)).toBe(3000 + 100); // all idle: highest + time since the last event (at 40)
    expect(w.current(1040)).toBe(4000);
    expect(w.nextChangeAt(10_000, 1040)).toBe(40 + 7000);
  });

  it('never counts a paused partition idle; its idle timeout starts again when it resumes', () => {
    const w = new WatermarkTracker({ maxOutOfOrdernessMs: 0, idleTimeoutMs: 100 });
    w.observe('t', 0, 1000, 0);
    w.observe('t', 1, 5000, 0);
    w.pause('t', 0, 10);
    expect(w.current(10_000)).toBe(1000); // partition 1 idle, partition 0 paused: holds
    expect(w.nextChangeAt(60_000, 10_000)).toBeUndefined(); // only its resumption can change that
    w.resume('t', 0, 10_000);
    expect(w.current(10_099)).toBe(1000);
    expect(w.nextChangeAt(60_000, 10_050)).toBe(10_100);
    expect(w.current(10_100)).toBe(5000 + (10_100 - 0)); // all idle now: highest + time since the last event
    w.pause('u', 0, 10_100); // paused before any event: registered, and holds from there
    expect(w.partitions).toBe(3);
  });
});
