import { FakeClock, flushMicrotasks } from '../../operator/src/runtime/clock.ts';
import type { ListWatcher, ListOptions, WatchOptions } from '../../operator/src/kube/api.ts';
import { Informer } from '../../operator/src/kube/informer.ts';
import { Resources } from '../../operator/src/kube/resources.ts';
import type { WatchEvent } from '../../operator/src/kube/rest.ts';
import type { KubeObject, ObjectList } from '../../operator/src/kube/types.ts';
import { EventRecorder } from '../../operator/src/kube/events.ts';
import { KubeApiError } from '../../operator/src/kube/errors.ts';
import { podConditionsPatch, rfc3339Micro, setCondition, stripServerFields } from '../../operator/src/kube/patch.ts';

const cm = (name: string, rv: string, data: Record<string, string> = {}): KubeObject & { data: Record<string, string> } => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'ns', resourceVersion: rv },
  data,
});

/** A ListWatcher the test drives: lists come from `objects`, each watch is a handle the test can feed or fail. */
class FakeListWatcher implements ListWatcher {
  objects: KubeObject[] = [];
  rv = '1';
  lists = 0;
  failNextList: Error | undefined;
  watches: Array<{ opts: WatchOptions; emit: (ev: WatchEvent) => void; end: (err?: Error) => void; signal: AbortSignal }> = [];

  async list<T extends KubeObject>(_rt: unknown, _opts?: ListOptions): Promise<ObjectList<T>> {
    this.lists++;
    if (this.failNextList) {
      const e = this.failNextList;
      this.failNextList = undefined;
      throw e;
    }
    return { items: structuredClone(this.objects) as T[], resourceVersion: this.rv };
  }
  watch(_rt: unknown, opts: WatchOptions, onEvent: (ev: WatchEvent) => void, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const end = (err?: Error): void => (err ? reject(err) : resolve());
      signal.addEventListener('abort', () => resolve(), { once: true });
      this.watches.push({ opts, emit: onEvent, end, signal });
    });
  }
  current() {
    return this.watches[this.watches.length - 1]!;
  }
}

const setup = () => {
  const clock = new FakeClock();
  const lw = new FakeListWatcher();
  const events: string[] = [];
  const inf = new Informer<KubeObject & { data?: Record<string, string> }>(lw, { resource: Resources.ConfigMap, namespace: 'ns', clock, random: () => 0.5 });
  inf.onAdd((o) => events.push(`add ${o.metadata?.name}`));
  inf.onUpdate((o, old) => events.push(`update ${o.metadata?.name} ${old.metadata?.resourceVersion}->${o.metadata?.resourceVersion}`));
  inf.onDelete((o) => events.push(`delete ${o.metadata?.name}`));
  return { clock, lw, inf, events };
};

describe('Informer', () => {
  test('lists, syncs, then applies watch events from the list resourceVersion', async () => {
    const { lw, inf, events } = setup();
    lw.objects = [cm('a', '5'), cm('b', '6')];
    lw.rv = '10';
    inf.start();
    await inf.waitForSync();
    expect(inf.hasSynced()).toBe(true);
    expect(events).toEqual(['add a', 'add b']);
    await flushMicrotasks();
    expect(lw.current().opts.resourceVersion).toBe('10');
    lw.current().emit({ type: 'MODIFIED', object: cm('a', '11', { x: '1' }) });
    lw.current().emit({ type: 'ADDED', object: cm('c', '12') });
    lw.current().emit({ type: 'DELETED', object: cm('b', '13') });
    lw.current().emit({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '20' } } });
    expect(events).toEqual(['add a', 'add b', 'update a 5->11', 'add c', 'delete b']);
    expect(inf.get('ns/a')?.data).toEqual({ x: '1' });
    expect(inf.list().map((o) => o.metadata?.name).sort()).toEqual(['a', 'c']);
    expect(inf.lastResourceVersion()).toBe('20');
    await inf.stop();
  });

  test('cached objects are frozen', async () => {
    const { lw, inf } = setup();
    lw.objects = [cm('a', '5', { k: 'v' })];
    inf.start();
    await inf.waitForSync();
    const a = inf.get('ns/a')!;
    expect(Object.isFrozen(a)).toBe(true);
    expect(() => {
      (a.data as Record<string, string>).k = 'changed';
    }).toThrow(TypeError);
    await inf.stop();
  });

  test('a server-closed watch resumes from the last resourceVersion without re-listing', async () => {
    const { lw, inf } = setup();
    inf.start();
    await inf.waitForSync();
    await flushMicrotasks();
    lw.current().emit({ type: 'ADDED', object: cm('a', '7') });
    lw.current().end();
    await flushMicrotasks();
    expect(lw.lists).toBe(1);
    expect(lw.watches).toHaveLength(2);
    expect(lw.current().opts.resourceVersion).toBe('7');
    await inf.stop();
  });

  test('410 Gone in the stream re-lists at once and reconciles the cache', async () => {
    const { lw, inf, events } = setup();
    lw.objects = [cm('a', '5'), cm('b', '6')];
    inf.start();
    await inf.waitForSync();
    await flushMicrotasks();
    // Meanwhile b was deleted and a changed, and we missed it.
    lw.objects = [cm('a', '30')];
    lw.rv = '31';
    lw.current().emit({ type: 'ERROR', object: { kind: 'Status', code: 410, message: 'too old resource version' } });
    await flushMicrotasks();
    expect(lw.lists).toBe(2);
    expect(events).toEqual(['add a', 'add b', 'update a 5->30', 'delete b']);
    expect(lw.current().opts.resourceVersion).toBe('31');
    expect(inf.restarts()).toBe(1);
    await inf.stop();
  });

  test('any other error restarts with growing backoff instead of stopping (client-node would stop)', async () => {
    const { clock, lw, inf } = setup();
    inf.start();
    await inf.waitForSync();
    await flushMicrotasks();
    lw.current().end(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    await flushMicrotasks();
    expect(lw.watches).toHaveLength(1);
    // Backoff 1 s with 50 % jitter: 0.75 s at random 0.5.
    await clock.advanceAsync(749);
    expect(lw.lists).toBe(1);
    await clock.advanceAsync(1);
    expect(lw.lists).toBe(2);
    expect(lw.watches).toHaveLength(2);
    // Fail the re-list too: the next delay doubles.
    lw.failNextList = new KubeApiError({ statusCode: 503, message: 'unavailable', verb: 'GET', path: '/' });
    lw.current().end(new Error('again'));
    await clock.advanceAsync(1500);
    expect(lw.lists).toBe(3);
    await clock.advanceAsync(3000);
    expect(lw.lists).toBe(4);
    expect(lw.watches).toHaveLength(3);
    expect(inf.hasSynced()).toBe(true);
    await inf.stop();
    expect(lw.current().signal.aborted).toBe(true);
  });

  test('an idle-watch timeout resumes at once without re-listing', async () => {
    const { lw, inf } = setup();
    inf.start();
    await inf.waitForSync();
    await flushMicrotasks();
    lw.current().emit({ type: 'ADDED', object: cm('a', '9') });
    lw.current().end(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
    await flushMicrotasks();
    expect(lw.lists).toBe(1);
    expect(lw.watches).toHaveLength(2);
    expect(lw.current().opts.resourceVersion).toBe('9');
    await inf.stop();
  });

  test('handler exceptions do not break the informer', async () => {
    const { lw, inf } = setup();
    const seen: string[] = [];
    inf.onAdd(() => {
      throw new Error('bad handler');
    });
    inf.onAdd((o) => seen.push(o.metadata?.name ?? ''));
    lw.objects = [cm('a', '1')];
    inf.start();
    await inf.waitForSync();
    expect(seen).toEqual(['a']);
    await inf.stop();
  });
});

describe('EventRecorder', () => {
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'rdb-0', namespace: 'ns', uid: 'u1' } };

  test('creates an Event, then bumps count on repeats; a different message is a new Event', async () => {
    const clock = new FakeClock(Date.parse('2026-03-01T10:00:00Z'));
    const created: Array<Record<string, unknown>> = [];
    const patched: Array<{ name: string; patch: Record<string, unknown> }> = [];
    const api = {
      create: async <T>(o: T) => {
        created.push(o as Record<string, unknown>);
        return o;
      },
      mergePatch: async <T>(ref: { name: string }, patch: object) => {
        patched.push({ name: ref.name, patch: patch as Record<string, unknown> });
        return {} as T;
      },
    };
    const rec = new EventRecorder({ api, component: 'kdb-operator', clock });
    await rec.warning(pod, 'ScaleOutFailed', 'ASG throttled');
    clock.advance(5000);
    await Promise.all([rec.warning(pod, 'ScaleOutFailed', 'ASG throttled'), rec.warning(pod, 'ScaleOutFailed', 'ASG throttled')]);
    await rec.normal(pod, 'ScaledOut', 'desired 2 -> 3');
    expect(created).toHaveLength(2);
    expect(created[0]).toMatchObject({
      type: 'Warning',
      reason: 'ScaleOutFailed',
      count: 1,
      firstTimestamp: '2026-03-01T10:00:00Z',
      involvedObject: { kind: 'Pod', name: 'rdb-0', namespace: 'ns', uid: 'u1' },
      source: { component: 'kdb-operator' },
      metadata: { namespace: 'ns' },
    });
    const name = (created[0]!.metadata as { name: string }).name;
    expect(patched).toEqual([
      { name, patch: { count: 2, lastTimestamp: '2026-03-01T10:00:05Z' } },
      { name, patch: { count: 3, lastTimestamp: '2026-03-01T10:00:05Z' } },
    ]);
  });

  test('an expired Event is recreated; floods are dropped', async () => {
    const clock = new FakeClock();
    let creates = 0;
    let patchFails = true;
    const api = {
      create: async <T>(o: T) => {
        creates++;
        return o;
      },
      mergePatch: async <T>(): Promise<T> => {
        if (patchFails) throw new KubeApiError({ statusCode: 404, reason: 'NotFound', message: '', verb: 'PATCH', path: '/' });
        return {} as T;
      },
    };
    const rec = new EventRecorder({ api, component: 'c', clock, spamBurst: 3 });
    await rec.normal(pod, 'R', 'm');
    await rec.normal(pod, 'R', 'm');
    expect(creates).toBe(2);
    patchFails = false;
    await rec.normal(pod, 'R', 'm');
    await rec.normal(pod, 'R', 'other');
    expect(creates).toBe(2); // 4th event on this object exceeds burst 3
  });
});

describe('patch helpers', () => {
  test('podConditionsPatch keeps lastTransitionTime unless the status flips', () => {
    const now = Date.parse('2026-01-02T00:00:00Z');
    const cur = [{ type: 'X', status: 'True', reason: 'A', lastTransitionTime: '2026-01-01T00:00:00Z' }];
    expect(podConditionsPatch(cur, [{ type: 'X', status: 'True', reason: 'A' }], now)).toBeUndefined();
    expect(podConditionsPatch(cur, [{ type: 'X', status: 'True', reason: 'B' }], now)).toEqual([
      { type: 'X', status: 'True', reason: 'B', lastTransitionTime: '2026-01-01T00:00:00Z' },
    ]);
    expect(podConditionsPatch(cur, [{ type: 'X', status: 'False', reason: 'A' }], now)).toEqual([
      { type: 'X', status: 'False', reason: 'A', lastTransitionTime: '2026-01-02T00:00:00Z' },
    ]);
  });
  test('setCondition follows metav1.Condition rules', () => {
    const now = Date.parse('2026-01-02T00:00:00Z');
    const a = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'Pending', message: 'x', observedGeneration: 1 }, now);
    expect(a.changed).toBe(true);
    const b = setCondition(a.conditions, { type: 'Ready', status: 'False', reason: 'Pending', message: 'x', observedGeneration: 1 }, now + 1000);
    expect(b.changed).toBe(false);
    const c = setCondition(b.conditions, { type: 'Ready', status: 'False', reason: 'Waiting', message: 'y', observedGeneration: 2 }, now + 5000);
    expect(c.changed).toBe(true);
    expect(c.conditions[0]!.lastTransitionTime).toBe('2026-01-02T00:00:00Z');
  });
  test('rfc3339Micro has six fraction digits; stripServerFields', () => {
    expect(rfc3339Micro(Date.parse('2026-01-02T03:04:05.678Z'))).toBe('2026-01-02T03:04:05.678000Z');
    expect(stripServerFields({ metadata: { name: 'a', uid: 'u', resourceVersion: '1', managedFields: [] } })).toEqual({ metadata: { name: 'a' } });
  });
});
