import type { Clock } from './clock.ts';
import { realClock } from './clock.ts';
import { errorMessage } from './errors.ts';
import type { Logger } from './log.ts';
import { silentLogger } from './log.ts';

/** The holder fields of a coordination.k8s.io/v1 Lease, times in epoch ms. */
export interface LeaseRecord {
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTimeMs?: number;
  renewTimeMs?: number;
  leaseTransitions: number;
}

export interface StoredLease {
  record: LeaseRecord;
  resourceVersion: string;
}

/**
 * Where the lease lives. create() must fail if it exists; update() must fail
 * unless `resourceVersion` is current (optimistic concurrency), so two
 * electors racing for an expired lease cannot both win.
 */
export interface LeaseStore {
  get(signal?: AbortSignal): Promise<StoredLease | undefined>;
  create(record: LeaseRecord, signal?: AbortSignal): Promise<StoredLease>;
  update(record: LeaseRecord, resourceVersion: string, signal?: AbortSignal): Promise<StoredLease>;
  describe(): string;
}

export interface LeaseTimings {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

/** client-go's defaults. */
export const DEFAULT_LEASE_TIMINGS: LeaseTimings = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

/** A record as last seen by this process, and when (local clock) it last changed. */
export interface LeaseObservation {
  record: LeaseRecord;
  observedAtMs: number;
}

export type LeaseDecision =
  | { action: 'create'; record: LeaseRecord }
  | { action: 'update'; reason: 'renew' | 'acquire'; record: LeaseRecord }
  | { action: 'wait'; holder: string; expiresAtMs: number };

export interface DecideLeaseInput {
  /** The record read from the server now; undefined if the Lease does not exist. */
  current: LeaseRecord | undefined;
  /** What this process saw before. */
  observed: LeaseObservation | undefined;
  nowMs: number;
  identity: string;
  timings: LeaseTimings;
}

const sameRecord = (a: LeaseRecord, b: LeaseRecord): boolean =>
  a.holderIdentity === b.holderIdentity &&
  a.leaseDurationSeconds === b.leaseDurationSeconds &&
  a.acquireTimeMs === b.acquireTimeMs &&
  a.renewTimeMs === b.renewTimeMs &&
  a.leaseTransitions === b.leaseTransitions;

/**
 * client-go's tryAcquireOrRenew as a pure function. Expiry is judged on the
 * local clock from when this process last saw the record change, never on
 * the renewTime written by another machine, so clock skew between operator
 * replicas cannot make a live lease look expired.
 */
export const decideLease = (input: DecideLeaseInput): { decision: LeaseDecision; observed: LeaseObservation | undefined } => {
  const { current, nowMs, identity, timings } = input;
  const durationSeconds = Math.ceil(timings.leaseDurationMs / 1000);
  if (current === undefined) {
    return {
      decision: {
        action: 'create',
        record: { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTimeMs: nowMs, renewTimeMs: nowMs, leaseTransitions: 0 },
      },
      observed: input.observed,
    };
  }
  const observed =
    input.observed !== undefined && sameRecord(input.observed.record, current)
      ? input.observed
      : { record: current, observedAtMs: nowMs };

  const heldByOther = current.holderIdentity !== '' && current.holderIdentity !== identity;
  const expiresAtMs = observed.observedAtMs + current.leaseDurationSeconds * 1000;
  if (heldByOther && expiresAtMs > nowMs) {
    return { decision: { action: 'wait', holder: current.holderIdentity, expiresAtMs }, observed };
  }
  const renewing = current.holderIdentity === identity;
  return {
    decision: {
      action: 'update',
      reason: renewing ? 'renew' : 'acquire',
      record: {
        holderIdentity: identity,
        leaseDurationSeconds: durationSeconds,
        acquireTimeMs: renewing ? (current.acquireTimeMs ?? nowMs) : nowMs,
        renewTimeMs: nowMs,
        leaseTransitions: renewing ? current.leaseTransitions : current.leaseTransitions + 1,
      },
    },
    observed,
  };
};

export type ElectorState = 'standby' | 'leading' | 'lost' | 'stopped';

export interface LeaderElectorOptions {
  store: LeaseStore;
  identity: string;
  timings?: LeaseTimings;
  clock?: Clock;
  logger?: Logger;
  /** Start controllers here. */
  onStartedLeading: () => void;
  /**
   * Leadership was lost (renewals failed past renewDeadline or another holder
   * appeared). Another replica may already be acting: exit the process.
   * Not called after stop().
   */
  onStoppedLeading: () => void;
  onNewLeader?: (identity: string) => void;
  /** Jitter on the acquire retry period (client-go uses 1.2). */
  jitterFactor?: number;
  random?: () => number;
}

/**
 * Lease-based leader election following client-go: poll to acquire every
 * retryPeriod (jittered); once leading renew every retryPeriod and give up
 * when no renewal succeeded for renewDeadline.
 */
export class LeaderElector {
  readonly identity: string;
  readonly #store: LeaseStore;
  readonly #timings: LeaseTimings;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #opts: LeaderElectorOptions;
  #observed: LeaseObservation | undefined;
  #resourceVersion: string | undefined;
  #state: ElectorState = 'standby';
  #lastLeader = '';
  readonly #abort = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(opts: LeaderElectorOptions) {
    this.identity = opts.identity;
    this.#store = opts.store;
    this.#timings = opts.timings ?? DEFAULT_LEASE_TIMINGS;
    this.#clock = opts.clock ?? realClock;
    this.#log = (opts.logger ?? silentLogger()).child({ lease: opts.store.describe(), identity: opts.identity });
    this.#opts = opts;
    const t = this.#timings;
    if (!(t.leaseDurationMs > t.renewDeadlineMs && t.renewDeadlineMs > t.retryPeriodMs && t.retryPeriodMs > 0)) {
      throw new Error('leader election needs leaseDuration > renewDeadline > retryPeriod > 0');
    }
  }

  state(): ElectorState {
    return this.#state;
  }
  isLeader(): boolean {
    return this.#state === 'leading';
  }
  /** The holder as last observed ('' if none). */
  leader(): string {
    return this.#lastLeader;
  }

  /** Start campaigning in the background. */
  start(): void {
    this.#loop ??= this.#run().catch((err) => {
      this.#log.error('leader election loop crashed', { error: errorMessage(err) });
    });
  }

  /** Stop campaigning and, if leading, hand the lease over at once. */
  async stop(): Promise<void> {
    const wasLeading = this.#state === 'leading';
    this.#state = 'stopped';
    this.#abort.abort(new Error('leader elector stopped'));
    await this.#loop;
    if (wasLeading) await this.release();
  }

  /**
   * Write an empty holder with a 1 s duration so a standby takes over on its
   * next poll instead of waiting out the lease (client-go ReleaseOnCancel).
   */
  async release(): Promise<void> {
    if (this.#resourceVersion === undefined || this.#observed?.record.holderIdentity !== this.identity) return;
    const now = this.#clock.now();
    const record: LeaseRecord = {
      holderIdentity: '',
      leaseDurationSeconds: 1,
      acquireTimeMs: now,
      renewTimeMs: now,
      leaseTransitions: this.#observed.record.leaseTransitions,
    };
    try {
      const stored = await this.#store.update(record, this.#resourceVersion, AbortSignal.timeout(this.#timings.renewDeadlineMs));
      this.#observe(stored, now);
      this.#log.info('released leader lease');
    } catch (err) {
      // Someone else already holds it, or the API is down: the lease expires anyway.
      this.#log.warn('could not release leader lease', { error: errorMessage(err) });
    }
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    this.#log.info('campaigning for leadership');
    // Acquire.
    for (;;) {
      if (signal.aborted) return;
      if (await this.#tryAcquireOrRenew(this.#timings.renewDeadlineMs)) break;
      const jitter = (this.#opts.jitterFactor ?? 1.2) * (this.#opts.random ?? Math.random)();
      if (!(await this.#sleep(this.#timings.retryPeriodMs * (1 + jitter)))) return;
    }
    if (signal.aborted) return;
    this.#state = 'leading';
    this.#log.info('became leader');
    this.#opts.onStartedLeading();
    // Renew.
    let lastRenew = this.#clock.now();
    for (;;) {
      if (!(await this.#sleep(this.#timings.retryPeriodMs))) return;
      const remaining = this.#timings.renewDeadlineMs - (this.#clock.now() - lastRenew);
      if (remaining > 0 && (await this.#tryAcquireOrRenew(remaining))) {
        lastRenew = this.#clock.now();
        continue;
      }
      if (signal.aborted) return;
      if (this.#clock.now() - lastRenew >= this.#timings.renewDeadlineMs || this.#lostToOther()) {
        this.#state = 'lost';
        this.#log.error('lost leadership', { lastRenewMsAgo: this.#clock.now() - lastRenew, holder: this.#lastLeader });
        this.#opts.onStoppedLeading();
        return;
      }
    }
  }

  #lostToOther(): boolean {
    const holder = this.#observed?.record.holderIdentity;
    return holder !== undefined && holder !== '' && holder !== this.identity;
  }

  /** Sleeps; false if stopped meanwhile. */
  async #sleep(ms: number): Promise<boolean> {
    try {
      await this.#clock.sleep(ms, this.#abort.signal);
      return true;
    } catch {
      return false;
    }
  }

  #observe(stored: StoredLease, nowMs: number): void {
    this.#resourceVersion = stored.resourceVersion;
    this.#observed = { record: stored.record, observedAtMs: nowMs };
    this.#noteLeader(stored.record.holderIdentity);
  }

  #noteLeader(holder: string): void {
    if (holder === this.#lastLeader) return;
    this.#lastLeader = holder;
    if (holder !== '') {
      this.#log.info('new leader observed', { leader: holder });
      this.#opts.onNewLeader?.(holder);
    }
  }

  async #tryAcquireOrRenew(timeoutMs: number): Promise<boolean> {
    const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(Math.max(1, timeoutMs))]);
    let current: StoredLease | undefined;
    try {
      current = await this.#store.get(signal);
    } catch (err) {
      this.#log.warn('reading leader lease failed', { error: errorMessage(err) });
      return false;
    }
    const now = this.#clock.now();
    const { decision, observed } = decideLease({
      current: current?.record,
      observed: this.#observed,
      nowMs: now,
      identity: this.identity,
      timings: this.#timings,
    });
    this.#observed = observed;
    if (current !== undefined) {
      this.#resourceVersion = current.resourceVersion;
      this.#noteLeader(current.record.holderIdentity);
    }
    if (decision.action === 'wait') return false;
    try {
      const stored =
        decision.action === 'create'
          ? await this.#store.create(decision.record, signal)
          : await this.#store.update(decision.record, current?.resourceVersion ?? '', signal);
      this.#observe(stored, this.#clock.now());
      if (decision.action === 'create' || decision.reason === 'acquire') {
        this.#log.info('acquired leader lease', { transitions: stored.record.leaseTransitions });
      }
      return true;
    } catch (err) {
      this.#log.warn(`${decision.action === 'create' ? 'creating' : 'updating'} leader lease failed`, { error: errorMessage(err) });
      return false;
    }
  }
}
