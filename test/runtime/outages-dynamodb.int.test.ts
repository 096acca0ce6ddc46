/**
 * A DynamoDB outage, against a private DynamoDB Local keeping its tables on disk (the shared stack's
 * is never stopped, and an in-memory one would lose them): stopped for 30 s mid-run while traffic
 * keeps coming. Tributary (a child process, as `tributary run`) must stay up, hold the source within
 * its in-flight bound while the sink retries, report not-ready, log the outage a few times, and once
 * DynamoDB answers write every event exactly once.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { privateService, type PrivateService } from '../support/private-service.ts';
import { sinkOutage } from './outages.ts';

describe('DynamoDB outage', () => {
  let dynamodb: PrivateService;

  beforeAll(async () => {
    dynamodb = await privateService('dynamodb');
    await dynamodb.start();
  });

  afterAll(async () => {
    await dynamodb?.dispose();
  });

  it('DynamoDB stopped for 30 s mid-run: the source is held within its bound, not ready meanwhile, and every event is written exactly once', async () => {
    // DynamoDB Local on disk takes a few hundred items a second: the traffic stays below that.
    await sinkOutage({ service: dynamodb, sinks: ['items', 'copies'], ratePerSecond: 250, maxInflight: 1_500, writtenBefore: 1_500, backlogBounds: 3 });
  });
});
