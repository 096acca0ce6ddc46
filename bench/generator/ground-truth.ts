/**
 * The ground truth of one generated stream: every injected item with its event ids, the totals, and
 * the per-game, per-minute aggregates a correct pipeline must produce.
 */
import { TOPICS, type GameEvent, type LogicalTopic } from './events.ts';
import type { FraudKind, PlannedCase } from './fraud.ts';
import type { MalformedKind } from './inject.ts';
import type { GeneratorOptions } from './options.ts';

/** What one generated record is. `late` and `out_of_order` records are valid events. */
export type RecordKind = 'normal' | 'out_of_order' | 'late' | 'duplicate' | 'malformed' | 'fraud';

/** One record as it goes to Kafka (the topic before any prefix). */
export interface GeneratedRecord {
  /** Position in the stream, from 0. */
  readonly index: number;
  readonly topic: LogicalTopic;
  /** The Kafka key: the user id (null when the event has none). */
  readonly key: string | null;
  readonly value: string;
  readonly kind: RecordKind;
  /** The event's id, when the record has one that parses. */
  readonly eventId: string | undefined;
  /** Event time as stamped in the value (ms), or the stream's time for unparsable records. */
  readonly eventTimeMs: number;
}

export interface TopicTotals {
  records: number;
  valid: number;
  uniqueValid: number;
  duplicates: number;
  malformed: number;
  late: number;
}

export interface FraudCase {
  id: string;
  kind: FraudKind;
  userId: string;
  eventIds: string[];
  indexes: number[];
  firstTimestamp: string;
  lastTimestamp: string;
  details: Record<string, unknown>;
}

/** Counts for one game and one minute of event time, over valid, deduplicated, on-time events. */
export interface WindowRow {
  gameId: string;
  /** Window start, ISO-8601. */
  minute: string;
  /** Events of the game-events topic, and logins and logouts with a game. */
  events: number;
  /** Distinct users among those events. */
  users: number;
  /** Purchases (transaction-events) with this game_id. */
  purchases: number;
  revenueCents: number;
}

export interface GroundTruth {
  version: 1;
  options: GeneratorOptions;
  /** Logical topic to real topic name, when the stream was produced. */
  topics?: Record<LogicalTopic, string>;
  time: { epoch: string; endExclusive: string; stepMs: number };
  totals: TopicTotals & {
    outOfOrder: number;
    fraudEvents: number;
    perTopic: Record<LogicalTopic, TopicTotals>;
    /** Unique valid events per event_type. */
    perType: Record<string, number>;
  };
  duplicates: { index: number; originalIndex: number; eventId: string; topic: LogicalTopic }[];
  outOfOrder: { index: number; eventId: string; topic: LogicalTopic; behindMs: number }[];
  late: { index: number; eventId: string; topic: LogicalTopic; behindMs: number }[];
  malformed: { index: number; topic: LogicalTopic; kind: MalformedKind; detail: string; eventId: string; userId: string | null; bytes: number }[];
  fraud: FraudCase[];
  windows: { definition: string; sizeMs: number; rows: WindowRow[] };
  /** Sessions over valid, deduplicated events (late ones included): logins, logouts, and per game the logins minus logouts with it (`game_concurrency`). */
  sessions: { logins: number; logouts: number; concurrentUsers: Record<string, number> };
}

const emptyTotals = (): TopicTotals => ({ records: 0, valid: 0, uniqueValid: 0, duplicates: 0, malformed: 0, late: 0 });

interface Cell {
  events: number;
  users: Set<string>;
  purchases: number;
  revenueCents: number;
}

/** Accumulates the ground truth while the stream is generated. */
export class GroundTruthBuilder {
  readonly #options: GeneratorOptions;
  readonly #perTopic = Object.fromEntries(TOPICS.map((t) => [t, emptyTotals()])) as Record<LogicalTopic, TopicTotals>;
  readonly #perType: Record<string, number> = {};
  readonly #cells = new Map<string, Cell>();
  readonly #cases = new Map<string, FraudCase>();
  readonly #truth: Pick<GroundTruth, 'duplicates' | 'outOfOrder' | 'late' | 'malformed'> = { duplicates: [], outOfOrder: [], late: [], malformed: [] };
  #fraudEvents = 0;
  readonly #sessions = { logins: 0, logouts: 0, concurrentUsers: {} as Record<string, number> };

  constructor(options: GeneratorOptions, cases: readonly PlannedCase[]) {
    this.#options = options;
    for (const c of cases) {
      this.#cases.set(c.id, { id: c.id, kind: c.kind, userId: c.userId, eventIds: [], indexes: [], firstTimestamp: '', lastTimestamp: '', details: c.details });
    }
  }

  /** A valid event seen for the first time. */
  valid(index: number, topic: LogicalTopic, event: GameEvent, timeMs: number, how: { behindMs?: number; late?: boolean; caseId?: string } = {}): void {
    const totals = this.#perTopic[topic];
    totals.records++;
    totals.valid++;
    totals.uniqueValid++;
    this.#perType[event.event_type] = (this.#perType[event.event_type] ?? 0) + 1;
    if (event.event_type === 'user_login' || event.event_type === 'user_logout') this.#session(event);
    if (how.late === true) {
      totals.late++;
      this.#truth.late.push({ index, eventId: event.event_id, topic, behindMs: how.behindMs ?? 0 });
    } else {
      if (how.behindMs !== undefined) this.#truth.outOfOrder.push({ index, eventId: event.event_id, topic, behindMs: how.behindMs });
      this.#aggregate(topic, event, timeMs);
    }
    if (how.caseId !== undefined) {
      const c = this.#cases.get(how.caseId) as FraudCase;
      c.eventIds.push(event.event_id);
      c.indexes.push(index);
      if (c.firstTimestamp === '') c.firstTimestamp = event.timestamp;
      c.lastTimestamp = event.timestamp;
      this.#fraudEvents++;
    }
  }

  duplicate(index: number, originalIndex: number, topic: LogicalTopic, eventId: string): void {
    const totals = this.#perTopic[topic];
    totals.records++;
    totals.valid++;
    totals.duplicates++;
    this.#truth.duplicates.push({ index, originalIndex, eventId, topic });
  }

  malformed(index: number, topic: LogicalTopic, entry: { kind: MalformedKind; detail: string; eventId: string; userId: string | null; bytes: number }): void {
    const totals = this.#perTopic[topic];
    totals.records++;
    totals.malformed++;
    this.#truth.malformed.push({ index, topic, ...entry });
  }

  #session(event: GameEvent): void {
    const login = event.event_type === 'user_login';
    if (login) this.#sessions.logins++;
    else this.#sessions.logouts++;
    const gameId = event.event_data.game_id;
    if (typeof gameId === 'string') this.#sessions.concurrentUsers[gameId] = (this.#sessions.concurrentUsers[gameId] ?? 0) + (login ? 1 : -1);
  }

  #aggregate(topic: LogicalTopic, event: GameEvent, timeMs: number): void {
    const gameId = event.event_data.game_id;
    if (typeof gameId !== 'string') return;
    const isPurchase = event.event_type === 'purchase';
    const isSession = event.event_type === 'user_login' || event.event_type === 'user_logout';
    if (topic !== 'game-events' && !isPurchase && !isSession) return;
    const minuteMs = Math.floor(timeMs / 60_000) * 60_000;
    const key = `${minuteMs}|${gameId}`;
    let cell = this.#cells.get(key);
    if (cell === undefined) {
      cell = { events: 0, users: new Set(), purchases: 0, revenueCents: 0 };
      this.#cells.set(key, cell);
    }
    if (isPurchase) {
      cell.purchases++;
      cell.revenueCents += Math.round((event.event_data.amount as number) * 100);
    } else {
      cell.events++;
      cell.users.add(event.user_id);
    }
  }

  build(): GroundTruth {
    const o = this.#options;
    const epochMs = Date.parse(o.epoch);
    const stepMs = 1000 / o.eventsPerSecond;
    const sum = (field: keyof TopicTotals) => TOPICS.reduce((n, t) => n + this.#perTopic[t][field], 0);
    const rows: WindowRow[] = [...this.#cells.entries()]
      .map(([key, cell]) => {
        const [minute, gameId] = key.split('|') as [string, string];
        return { gameId, minute: new Date(Number(minute)).toISOString(), events: cell.events, users: cell.users.size, purchases: cell.purchases, revenueCents: cell.revenueCents };
      })
      .sort((a, b) => (a.minute < b.minute ? -1 : a.minute > b.minute ? 1 : a.gameId < b.gameId ? -1 : a.gameId > b.gameId ? 1 : 0));
    return {
      version: 1,
      options: o,
      time: { epoch: new Date(epochMs).toISOString(), endExclusive: new Date(epochMs + Math.ceil(o.events * stepMs)).toISOString(), stepMs },
      totals: {
        records: sum('records'),
        valid: sum('valid'),
        uniqueValid: sum('uniqueValid'),
        duplicates: sum('duplicates'),
        malformed: sum('malformed'),
        late: sum('late'),
        outOfOrder: this.#truth.outOfOrder.length,
        fraudEvents: this.#fraudEvents,
        perTopic: this.#perTopic,
        perType: Object.fromEntries(Object.entries(this.#perType).sort()),
      },
      ...this.#truth,
      fraud: [...this.#cases.values()],
      windows: {
        definition:
          'Tumbling 1-minute windows of event time per event_data.game_id, over valid, deduplicated events that are not late ' +
          '(out-of-order ones included): events and users from the game-events topic and from logins and logouts with a game; ' +
          'purchases and revenueCents from purchase events.',
        sizeMs: 60_000,
        rows,
      },
      sessions: { ...this.#sessions, concurrentUsers: Object.fromEntries(Object.entries(this.#sessions.concurrentUsers).sort()) },
    };
  }
}
