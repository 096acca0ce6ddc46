import { describe, expect, it } from 'vitest';
import { CountingLease, envelopeOf } from '../../src/core/envelope.ts';
import { alertEnvelope, alertId, makeAlert, type AlertDraft } from '../../src/operators/fraud-alert.ts';

const draft: AlertDraft = { event_ids: ['e1', 'e2'], first_event_time: 10, last_event_time: 20, details: { count: 2 } };

describe('alertId', () => {
  it('is 32 hex digits and the same for the same pattern, key and events', () => {
    const id = alertId('rapid_purchases', 'u1', ['e1', 'e2']);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(alertId('rapid_purchases', 'u1', ['e1', 'e2'])).toBe(id);
  });

  it('differs when the pattern, the key, the events or their order differ', () => {
    const ids = [
      alertId('p', 'u1', ['e1', 'e2']),
      alertId('q', 'u1', ['e1', 'e2']),
      alertId('p', 'u2', ['e1', 'e2']),
      alertId('p', 'u1', ['e1', 'e3']),
      alertId('p', 'u1', ['e2', 'e1']),
      alertId('p', 'u1', ['e1']),
    ];
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('keeps the parts apart (no separator collisions)', () => {
    expect(alertId('a|b', 'c', ['d'])).not.toBe(alertId('a', 'b|c', ['d']));
    expect(alertId('a', 'b', ['c,d'])).not.toBe(alertId('a', 'b', ['c', 'd']));
  });
});

describe('makeAlert / alertEnvelope', () => {
  it('builds the record from a draft', () => {
    expect(makeAlert('rapid_purchases', 'velocity', 'u1', 'high', draft)).toEqual({
      alert_id: alertId('rapid_purchases', 'u1', ['e1', 'e2']),
      pattern_id: 'rapid_purchases',
      pattern: 'velocity',
      key: 'u1',
      severity: 'high',
      event_ids: ['e1', 'e2'],
      first_event_time: 10,
      last_event_time: 20,
      details: { count: 2 },
    });
  });

  it('carries the trigger meta and lease, with eventTimeMs = last_event_time', () => {
    const lease = new CountingLease();
    const trigger = envelopeOf({ event_id: 'e2' }, { topic: 'game-events', partition: 3, offset: 99 }, lease, 15);
    const envelope = alertEnvelope(trigger, makeAlert('p', 'sequence', 'u1', 'low', draft));
    expect(envelope.meta).toBe(trigger.meta);
    expect(envelope.lease).toBe(lease);
    expect(envelope.eventTimeMs).toBe(20);
    expect(lease.refs).toBe(1);
  });
});
