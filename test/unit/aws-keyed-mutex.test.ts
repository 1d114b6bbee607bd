import { describe, expect, it } from '@jest/globals';
import { KeyedMutex } from '../../operator/src/aws/keyed-mutex.ts';

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('KeyedMutex', () => {
  it('runs sections of one key one at a time, in order', async () => {
    const m = new KeyedMutex();
    const log: string[] = [];
    const section = (name: string) => async () => {
      log.push(`${name}:start`);
      await tick();
      log.push(`${name}:end`);
      return name;
    };
    const out = await Promise.all([m.run('g', section('a')), m.run('g', section('b')), m.run('g', section('c'))]);
    expect(out).toEqual(['a', 'b', 'c']);
    expect(log).toEqual(['a:start', 'a:end', 'b:start', 'b:end', 'c:start', 'c:end']);
    expect(m.size).toBe(0);
  });

  it('lets different keys run concurrently and survives a failing section', async () => {
    const m = new KeyedMutex();
    const log: string[] = [];
    const p1 = m.run('x', async () => {
      log.push('x');
      await tick();
      throw new Error('boom');
    });
    const p2 = m.run('y', async () => {
      log.push('y');
    });
    await expect(p1).rejects.toThrow('boom');
    await p2;
    expect(log).toEqual(['x', 'y']);
    await expect(m.run('x', async () => 'after')).resolves.toBe('after');
    expect(m.size).toBe(0);
  });
});
