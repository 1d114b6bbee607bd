import { FakeClock } from '../../operator/src/runtime/clock.ts';
import { Shutdown } from '../../operator/src/runtime/shutdown.ts';

describe('Shutdown', () => {
  test('runs steps once, in order, on SIGTERM, then exits 0; a failing step does not stop the rest', async () => {
    const order: string[] = [];
    let exited: number | undefined;
    let resolveExit!: () => void;
    const exitedP = new Promise<void>((r) => (resolveExit = r));
    const s = new Shutdown({
      signals: ['SIGTERM'],
      exit: (code) => {
        exited = code;
        resolveExit();
      },
    });
    s.add('controllers', async () => {
      order.push('controllers');
    })
      .add({ name: 'lease', run: () => void order.push('lease') })
      .add('broken', () => {
        throw new Error('x');
      })
      .add('http', () => void order.push('http'));
    process.emit('SIGTERM', 'SIGTERM');
    await exitedP;
    expect(order).toEqual(['controllers', 'lease', 'http']);
    expect(exited).toBe(0);
    expect(s.isShuttingDown()).toBe(true);
    expect(process.listenerCount('SIGTERM')).toBe(0);
  });

  test('a second signal exits 1 at once', async () => {
    const codes: number[] = [];
    let release!: () => void;
    const s = new Shutdown({ signals: ['SIGINT'], exit: (c) => void codes.push(c) });
    s.add('slow', () => new Promise<void>((r) => (release = r)));
    process.emit('SIGINT', 'SIGINT');
    process.emit('SIGINT', 'SIGINT');
    expect(codes).toEqual([1]);
    release();
    await s.trigger();
    expect(codes).toEqual([1, 0]);
    s.dispose();
  });

  test('past the deadline it exits 1 and the steps not yet run never run (the lease is not released)', async () => {
    const clock = new FakeClock();
    const codes: number[] = [];
    const ran: string[] = [];
    const s = new Shutdown({ signals: [], clock, deadlineMs: 25_000, exit: (c) => void codes.push(c) });
    s.add('controllers', () => clock.sleep(30_000).then(() => void ran.push('controllers'))).add('lease', () => void ran.push('lease'));
    const done = s.trigger(0);
    await clock.advanceAsync(25_000);
    expect(codes).toEqual([1]);
    await clock.advanceAsync(10_000);
    await done;
    expect(ran).toEqual(['controllers']);
    expect(codes).toEqual([1]);
  });
});
