import { randomBytes } from 'node:crypto';
import type { Clock } from '../runtime/clock.ts';
import { realClock } from '../runtime/clock.ts';
import { errorMessage } from '../runtime/errors.ts';
import type { Logger } from '../runtime/log.ts';
import { silentLogger } from '../runtime/log.ts';
import { TokenBucket } from '../runtime/rate-limiter.ts';
import type { KubeApi } from './api.ts';
import { isNotFound } from './errors.ts';
import { rfc3339 } from './patch.ts';
import type { CoreV1Event, KubeObject } from './types.ts';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  api: Pick<KubeApi, 'create' | 'mergePatch'>;
  /** source.component and reportingController, e.g. 'kdb-operator'. */
  component: string;
  /** reportingInstance, e.g. the pod name. */
  instance?: string;
  clock?: Clock;
  logger?: Logger;
  /** Distinct events remembered for de-duplication. */
  cacheSize?: number;
  /** Per involved object: burst, then one per refill period (client-go: 25, 5 min). */
  spamBurst?: number;
  spamRefillMs?: number;
}

interface Seen {
  name: string;
  namespace: string;
  count: number;
  firstTimestamp: string;
}

/**
 * core/v1 Events, de-duplicated the simple way client-go's recorder does: the
 * same (object, type, reason, message) again bumps count and lastTimestamp on
 * the existing Event instead of creating another, and a per-object token
 * bucket drops floods. Recording never throws: an Event is never worth
 * failing a reconcile for.
 */
export class EventRecorder {
  readonly #opts: EventRecorderOptions;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #seen = new Map<string, Seen>();
  readonly #spam = new Map<string, TokenBucket>();
  /** Serialises writes per event key so a burst of repeats cannot create two Events. */
  readonly #chains = new Map<string, Promise<void>>();

  constructor(opts: EventRecorderOptions) {
    this.#opts = opts;
    this.#clock = opts.clock ?? realClock;
    this.#log = opts.logger ?? silentLogger();
  }

  /** Fire and forget; the promise is for tests and shutdown. */
  record(obj: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const meta = obj.metadata ?? {};
    const objectKey = `${obj.kind}/${meta.namespace ?? ''}/${meta.name ?? ''}/${meta.uid ?? ''}`;
    if (!this.#allow(objectKey)) {
      this.#log.debug('event dropped by spam filter', { reason, object: objectKey });
      return Promise.resolve();
    }
    const key = `${objectKey}|${type}|${reason}|${message}`;
    const prev = this.#chains.get(key) ?? Promise.resolve();
    const next = prev.then(() => this.#write(key, obj, type, reason, message));
    this.#chains.set(key, next);
    void next.finally(() => {
      if (this.#chains.get(key) === next) this.#chains.delete(key);
    });
    return next;
  }

  normal(obj: KubeObject, reason: string, message: string): Promise<void> {
    return this.record(obj, 'Normal', reason, message);
  }
  warning(obj: KubeObject, reason: string, message: string): Promise<void> {
    return this.record(obj, 'Warning', reason, message);
  }

  #allow(objectKey: string): boolean {
    let bucket = this.#spam.get(objectKey);
    if (!bucket) {
      const burst = this.#opts.spamBurst ?? 25;
      bucket = new TokenBucket(1000 / (this.#opts.spamRefillMs ?? 300_000), burst, this.#clock);
      this.#spam.set(objectKey, bucket);
      if (this.#spam.size > (this.#opts.cacheSize ?? 4096)) this.#spam.delete(this.#spam.keys().next().value as string);
    }
    return bucket.tryTake();
  }

  async #write(key: string, obj: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const now = rfc3339(this.#clock.now());
    const seen = this.#seen.get(key);
    try {
      if (seen) {
        try {
          await this.#opts.api.mergePatch(
            { apiVersion: 'v1', kind: 'Event', name: seen.name, namespace: seen.namespace },
            { count: seen.count + 1, lastTimestamp: now },
          );
          seen.count += 1;
          // Refresh LRU position.
          this.#seen.delete(key);
          this.#seen.set(key, seen);
          return;
        } catch (err) {
          // The Event expired (events have a TTL): start a new one.
          if (!isNotFound(err)) throw err;
          this.#seen.delete(key);
        }
      }
      const meta = obj.metadata ?? {};
      const namespace = meta.namespace || 'default';
      const name = `${meta.name ?? 'object'}.${this.#clock.now().toString(16)}${randomBytes(3).toString('hex')}`;
      const event: CoreV1Event = {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace },
        involvedObject: {
          apiVersion: obj.apiVersion,
          kind: obj.kind,
          name: meta.name,
          namespace: meta.namespace,
          uid: meta.uid,
          resourceVersion: meta.resourceVersion,
        },
        type,
        reason,
        message: message.length > 1024 ? `${message.slice(0, 1021)}...` : message,
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
        source: { component: this.#opts.component },
        reportingComponent: this.#opts.component,
        reportingInstance: this.#opts.instance ?? this.#opts.component,
      };
      await this.#opts.api.create(event);
      this.#seen.set(key, { name, namespace, count: 1, firstTimestamp: now });
      if (this.#seen.size > (this.#opts.cacheSize ?? 4096)) this.#seen.delete(this.#seen.keys().next().value as string);
    } catch (err) {
      this.#log.warn('could not record event', { reason, error: errorMessage(err) });
    }
  }
}
