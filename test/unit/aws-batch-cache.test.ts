import { describe, expect, it } from '@jest/globals';
import { allPages, chunk, inChunks, unique } from '../../operator/src/aws/batch.ts';
import { TtlCache } from '../../operator/src/aws/cache.ts';
import { describeAwsClientConfig, resolveAwsClientConfig } from '../../operator/src/aws/clients.ts';
import { accessPointClientToken } from '../../operator/src/aws/efs.ts';

describe('chunk / unique / inChunks', () => {
  it('splits into consecutive chunks of at most size', () => {
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunk([1, 2], 2)).toEqual([[1, 2]]);
    expect(chunk([], 100)).toEqual([]);
    expect(() => chunk([1], 0)).toThrow(RangeError);
  });

  it('dedupes in order', () => {
    expect(unique(['b', 'a', 'b', 'c', 'a'])).toEqual(['b', 'a', 'c']);
  });

  it('makes one call per chunk of unique ids and none for an empty list', async () => {
    const calls: string[][] = [];
    const fn = async (batch: string[]) => {
      calls.push(batch);
      return batch.map((x) => x.toUpperCase());
    };
    expect(await inChunks([], 100, fn)).toEqual([]);
    expect(calls).toEqual([]);
    const ids = Array.from({ length: 230 }, (_, i) => `g${i}`);
    const out = await inChunks([...ids, ...ids.slice(0, 10)], 100, fn);
    expect(calls.map((c) => c.length)).toEqual([100, 100, 30]);
    expect(out).toHaveLength(230);
  });
});

describe('allPages', () => {
  it('follows tokens to the end', async () => {
    const pages: Record<string, { items: number[]; next?: string }> = {
      start: { items: [1], next: 'a' },
      a: { items: [2], next: 'b' },
      b: { items: [3] },
    };
    const seen: (string | undefined)[] = [];
    const got = await allPages(
      async (t) => {
        seen.push(t);
        return pages[t ?? 'start']!;
      },
      (p) => p.next,
    );
    expect(got.flatMap((p) => p.items)).toEqual([1, 2, 3]);
    expect(seen).toEqual([undefined, 'a', 'b']);
  });

  it('stops on a token that does not move', async () => {
    let calls = 0;
    await allPages(
      async () => {
        calls++;
        return { next: 'same' };
      },
      (p) => p.next,
    );
    expect(calls).toBe(2);
  });
});

describe('TtlCache', () => {
  const clock = () => {
    let t = 1_000;
    return { now: () => t, advance: (ms: number) => (t += ms) };
  };

  it('serves entries until the TTL passes', () => {
    const c = clock();
    const cache = new TtlCache<string, number>({ ttlMs: 60_000, now: c.now });
    cache.set('rdb', 3);
    c.advance(59_999);
    expect(cache.get('rdb')).toBe(3);
    c.advance(1);
    expect(cache.get('rdb')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('invalidates one key, by predicate, or all', () => {
    const c = clock();
    const cache = new TtlCache<string, string[]>({ ttlMs: 60_000, now: c.now });
    cache.set('q1', ['rdb']);
    cache.set('q2', ['tp']);
    cache.set('q3', ['rdb', 'tp']);
    cache.deleteWhere((_k, v) => v.includes('rdb'));
    expect([cache.get('q1'), cache.get('q2'), cache.get('q3')]).toEqual([undefined, ['tp'], undefined]);
    cache.delete('q2');
    expect(cache.get('q2')).toBeUndefined();
    cache.set('q4', []);
    cache.clear();
    expect(cache.size).toBe(0);
  });

  it('with ttl 0 caches nothing', () => {
    const cache = new TtlCache<string, number>({ ttlMs: 0, now: () => 0 });
    cache.set('a', 1);
    expect(cache.get('a')).toBeUndefined();
  });
});

describe('resolveAwsClientConfig', () => {
  it('takes region and endpoint from the environment', () => {
    const r = resolveAwsClientConfig({}, { AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL: 'http://127.0.0.1:14566' });
    expect(r).toMatchObject({ region: 'eu-west-1', endpoint: 'http://127.0.0.1:14566', credentials: undefined });
    expect(r.connectionTimeoutMs).toBeGreaterThan(0);
    expect(r.requestTimeoutMs).toBeGreaterThan(0);
  });

  it('prefers explicit config, falls back to AWS_DEFAULT_REGION', () => {
    const r = resolveAwsClientConfig(
      { region: 'us-east-1', endpoint: 'http://127.0.0.1:15100', requestTimeoutMs: 2_000 },
      { AWS_DEFAULT_REGION: 'eu-west-1', AWS_ENDPOINT_URL: 'http://127.0.0.1:14566' },
    );
    expect(r).toMatchObject({ region: 'us-east-1', endpoint: 'http://127.0.0.1:15100', requestTimeoutMs: 2_000 });
    expect(resolveAwsClientConfig({}, { AWS_DEFAULT_REGION: 'eu-west-1' })).toMatchObject({ region: 'eu-west-1', endpoint: undefined });
  });

  it('rejects a missing region or a bad endpoint at start-up', () => {
    expect(() => resolveAwsClientConfig({}, {})).toThrow(/region/);
    expect(() => resolveAwsClientConfig({ region: 'us-east-1', endpoint: 'ftp://x' }, {})).toThrow(/http/);
    expect(() => resolveAwsClientConfig({ region: 'us-east-1', endpoint: 'not a url' }, {})).toThrow();
  });

  it('describes itself without secrets', () => {
    const r = resolveAwsClientConfig({ region: 'us-east-1', credentials: { accessKeyId: 'AKIASECRETID', secretAccessKey: 'sekrit' } }, {});
    const text = JSON.stringify(describeAwsClientConfig(r));
    expect(text).toContain('explicit');
    expect(text).not.toContain('AKIASECRETID');
    expect(text).not.toContain('sekrit');
  });
});

describe('accessPointClientToken', () => {
  const input = { fileSystemId: 'fs-1', clusterKey: 'ns/c1', rootPath: '/kdb/ns/c1' };
  it('is deterministic, ASCII and at most 64 characters', () => {
    const t = accessPointClientToken(input);
    expect(t).toBe(accessPointClientToken({ ...input }));
    expect(t.length).toBeLessThanOrEqual(64);
    expect(t).toMatch(/^[\x21-\x7e]+$/);
  });
  it('differs per cluster, path and incarnation', () => {
    const t = accessPointClientToken(input);
    expect(accessPointClientToken({ ...input, clusterKey: 'ns/c2' })).not.toBe(t);
    expect(accessPointClientToken({ ...input, rootPath: '/other' })).not.toBe(t);
    expect(accessPointClientToken({ ...input, incarnation: 'uid-2' })).not.toBe(t);
  });
});
