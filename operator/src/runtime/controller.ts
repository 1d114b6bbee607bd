import type { Clock } from './clock.ts';
import { realClock } from './clock.ts';
import { errorMessage, isTerminalError } from './errors.ts';
import type { Logger } from './log.ts';
import { silentLogger } from './log.ts';
import type { OperatorMetrics } from './metrics.ts';
import { WorkQueue } from './workqueue.ts';

export interface ReconcileOutcome {
  /** Reconcile again after this long even if nothing changes (polling a slow step). */
  requeueAfterMs?: number;
}

export interface ReconcileContext {
  /** Logger with the key as the `cluster` field. */
  log: Logger;
  /** How many times this key has failed in a row before this run. */
  retries: number;
  /**
   * Aborted once this process must start no irreversible work: shutdown began
   * or leadership was lost. A reconcile still running then finishes what is
   * safe to repeat and leaves the rest to the next leader.
   */
  signal: AbortSignal;
}

/**
 * Level-based reconcile of one key. Throw to retry with backoff; throw a
 * TerminalError to stop retrying until the object changes again.
 */
export type Reconciler = (key: string, ctx: ReconcileContext) => Promise<ReconcileOutcome | void>;

export interface ControllerOptions {
  name: string;
  reconcile: Reconciler;
  workers?: number;
  queue?: WorkQueue;
  logger?: Logger;
  metrics?: OperatorMetrics;
  clock?: Clock;
  /** Field name for the key in log lines. */
  keyField?: string;
}

/**
 * N workers pulling keys from one work queue. The queue guarantees a key is
 * never reconciled by two workers at once, so reconcilers need no locking per
 * object. Nothing runs until start(); leader election decides when to call it.
 */
export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  readonly #reconcile: Reconciler;
  readonly #workers: number;
  readonly #log: Logger;
  readonly #metrics: OperatorMetrics | undefined;
  readonly #clock: Clock;
  readonly #keyField: string;
  #running: Promise<void>[] = [];
  #started = false;
  readonly #stopping = new AbortController();

  constructor(opts: ControllerOptions) {
    this.name = opts.name;
    this.#reconcile = opts.reconcile;
    this.#workers = opts.workers ?? 2;
    this.#log = (opts.logger ?? silentLogger()).child({ controller: opts.name });
    this.#metrics = opts.metrics;
    this.#clock = opts.clock ?? realClock;
    this.#keyField = opts.keyField ?? 'cluster';
    const gauge = opts.metrics?.workqueueDepth;
    // A series from the start: a dashboard shows an idle queue as 0, not as no data.
    gauge?.set({ controller: opts.name }, 0);
    this.queue =
      opts.queue ??
      new WorkQueue({
        clock: this.#clock,
        onDepth: gauge ? (d) => gauge.set({ controller: opts.name }, d) : undefined,
      });
    opts.metrics?.watchWorkqueue(opts.name, () => this.queue.longestWaitMs());
  }

  /** Informer handlers call this; it only enqueues. */
  enqueue(key: string): void {
    this.queue.add(key);
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#log.info('controller starting', { workers: this.#workers });
    for (let i = 0; i < this.#workers; i++) this.#running.push(this.#worker());
  }

  /**
   * Stop taking keys, tell in-flight reconciles to start nothing irreversible,
   * and wait for them. Without `deadlineMs` it waits as long as they run: the
   * caller must keep the lease until this resolves, because a standby may act
   * as soon as it is released. With `deadlineMs` it returns false if some
   * were still running then.
   */
  async stop(deadlineMs?: number): Promise<boolean> {
    this.queue.shutDown();
    this.abort(new Error('shutting down'));
    const drained = Promise.all(this.#running).then(() => true as const);
    let ok: boolean;
    if (deadlineMs === undefined) ok = await drained;
    else {
      let timer: ReturnType<Clock['setTimeout']> | undefined;
      const deadline = new Promise<false>((resolve) => {
        timer = this.#clock.setTimeout(() => resolve(false), deadlineMs);
      });
      ok = await Promise.race([drained, deadline]);
      if (timer !== undefined) this.#clock.clearTimeout(timer);
    }
    if (!ok) this.#log.warn('reconciles still running at shutdown deadline', { inFlight: this.queue.processingCount() });
    else this.#log.info('controller stopped');
    return ok;
  }

  /** Abort the stop signal of every reconcile, running or to come (lost leadership, shutdown). */
  abort(reason: Error): void {
    if (this.#stopping.signal.aborted) return;
    this.#log.info('stop signal raised: no more irreversible steps', { reason: reason.message });
    this.#stopping.abort(reason);
  }

  /** Keys being reconciled now. */
  inFlight(): number {
    return this.queue.processingCount();
  }

  async #worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        await this.#processOne(key);
      } finally {
        this.queue.done(key);
      }
    }
  }

  async #processOne(key: string): Promise<void> {
    const log = this.#log.child({ [this.#keyField]: key });
    const retries = this.queue.numRequeues(key);
    const started = this.#clock.now();
    let result: 'success' | 'error' | 'terminal' | 'requeue';
    try {
      const outcome = await this.#reconcile(key, { log, retries, signal: this.#stopping.signal });
      this.queue.forget(key);
      if (outcome?.requeueAfterMs !== undefined && outcome.requeueAfterMs >= 0) {
        this.queue.addAfter(key, outcome.requeueAfterMs);
        result = 'requeue';
      } else {
        result = 'success';
      }
    } catch (err) {
      if (isTerminalError(err)) {
        this.queue.forget(key);
        log.error('reconcile failed, not retrying', { reason: err.reason, error: err.message });
        result = 'terminal';
      } else {
        this.queue.addRateLimited(key);
        log.warn('reconcile failed, will retry', { error: errorMessage(err), retries: retries + 1 });
        result = 'error';
      }
    }
    const seconds = (this.#clock.now() - started) / 1000;
    this.#metrics?.reconcileTotal.inc({ controller: this.name, result });
    this.#metrics?.reconcileDuration.observe({ controller: this.name }, seconds);
    log.debug('reconciled', { result, seconds });
  }
}
