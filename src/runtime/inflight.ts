/**
 * The in-flight bound: records read and not yet done, counted in records and in value bytes.
 *
 * When either count reaches its bound, or a component asks to hold the source (a sink runner whose
 * queue is full, a sink that is overloaded), the gate closes and the runtime pauses the source. It
 * opens again only when both counts are back under the low-water mark (`resumeRatio` of the bound)
 * and no hold is left: the hysteresis keeps the source from flapping between pause and resume.
 * Under memory pressure the runtime scales both bounds down (`setScale`, see memory-pressure.ts).
 */
import { ConfigError } from '../core/errors.ts';

export interface InflightLimits {
  /** Records read and not yet done before the source pauses. Default 100000 (50000: ~65 MB less RSS at 0.75x the throughput, README "Memory model"). */
  readonly maxInflightRecords?: number;
  /** Value bytes of those records before the source pauses. Default 64 MiB. */
  readonly maxInflightBytes?: number;
  /** Resume once both counts are below this fraction of their bound. Default 0.5. */
  readonly resumeRatio?: number;
}

export const DEFAULT_LIMITS = {
  maxInflightRecords: 100_000,
  maxInflightBytes: 64 * 1024 * 1024,
  resumeRatio: 0.5,
} as const;

export interface GateListener {
  /** The gate closed; `reason` is `records`, `bytes` or a hold's name. */
  onClose(reason: string): void;
  onOpen(): void;
}

export class InflightGate {
  records = 0;
  bytes = 0;
  /** The configured bounds. */
  readonly maxRecords: number;
  readonly maxBytes: number;
  /** The bounds in force: the configured ones times `scale`. */
  limitRecords = 0;
  limitBytes = 0;
  readonly #ratio: number;
  #lowRecords = 0;
  #lowBytes = 0;
  #scale = 1;
  readonly #holds = new Set<string>();
  readonly #listener: GateListener;
  #closed = false;

  constructor(limits: InflightLimits, listener: GateListener) {
    const maxRecords = limits.maxInflightRecords ?? DEFAULT_LIMITS.maxInflightRecords;
    const maxBytes = limits.maxInflightBytes ?? DEFAULT_LIMITS.maxInflightBytes;
    const ratio = limits.resumeRatio ?? DEFAULT_LIMITS.resumeRatio;
    const problems: string[] = [];
    if (!(Number.isInteger(maxRecords) && maxRecords > 0)) problems.push('limits/maxInflightRecords must be a positive integer');
    if (!(maxBytes > 0)) problems.push('limits/maxInflightBytes must be > 0');
    if (!(ratio > 0 && ratio < 1)) problems.push('limits/resumeRatio must be between 0 and 1 (exclusive)');
    if (problems.length > 0) throw new ConfigError(problems);
    this.maxRecords = maxRecords;
    this.maxBytes = maxBytes;
    this.#ratio = ratio;
    this.#setLimits(1);
    this.#listener = listener;
  }

  /** The fraction of the configured bounds in force (1 unless memory pressure lowered it). */
  get scale(): number {
    return this.#scale;
  }

  /**
   * Scales both bounds (0 < `scale` <= 1; at least one record). Lowered below the counts, the gate
   * closes (reason `memory`); raised, it opens once the counts are under the new low-water marks.
   */
  setScale(scale: number): void {
    if (!(scale > 0 && scale <= 1)) throw new RangeError(`in-flight scale must be in (0, 1], got ${scale}`);
    this.#setLimits(scale);
    if (!this.#closed && (this.records >= this.limitRecords || this.bytes >= this.limitBytes)) this.#close('memory');
    else if (this.#closed) this.#maybeOpen();
  }

  #setLimits(scale: number): void {
    this.#scale = scale;
    this.limitRecords = Math.max(1, Math.floor(this.maxRecords * scale));
    this.limitBytes = this.maxBytes * scale;
    this.#lowRecords = Math.floor(this.limitRecords * this.#ratio);
    this.#lowBytes = this.limitBytes * this.#ratio;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Names of the holds in force. */
  get holds(): readonly string[] {
    return [...this.#holds];
  }

  /** A record was read. */
  add(bytes: number): void {
    const records = ++this.records;
    this.bytes += bytes;
    if (!this.#closed && (records >= this.limitRecords || this.bytes >= this.limitBytes)) {
      this.#close(records >= this.limitRecords ? 'records' : 'bytes');
    }
  }

  /** Records are done (a run of them, sharing a lease). */
  remove(records: number, bytes: number): void {
    this.records -= records;
    this.bytes -= bytes;
    if (this.#closed) this.#maybeOpen();
  }

  /** Keeps the gate closed until `unhold(name)`. */
  hold(name: string): void {
    if (this.#holds.has(name)) return;
    this.#holds.add(name);
    if (!this.#closed) this.#close(name);
  }

  unhold(name: string): void {
    if (this.#holds.delete(name) && this.#closed) this.#maybeOpen();
  }

  #close(reason: string): void {
    this.#closed = true;
    this.#listener.onClose(reason);
  }

  #maybeOpen(): void {
    if (this.#holds.size === 0 && this.records <= this.#lowRecords && this.bytes <= this.#lowBytes) {
      this.#closed = false;
      this.#listener.onOpen();
    }
  }
}
