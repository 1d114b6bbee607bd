// DescribeFileSystems shared by every cluster on one file system, on an injected clock.
import { Efs } from '../../operator/src/aws/efs.ts';
import { RetryPolicy } from '../../operator/src/aws/retry.ts';

const noSleep = new RetryPolicy({ sleep: async () => {}, random: () => 0, maxAttempts: 1 });

const fakeEfs = () => {
  const calls: string[] = [];
  let fail = false;
  let release: (() => void) | undefined;
  let gate: Promise<void> | undefined;
  return {
    calls,
    failNext: () => (fail = true),
    hold: () => (gate = new Promise<void>((r) => (release = r))),
    release: () => release?.(),
    send: async (cmd: { input: { FileSystemId?: string } }) => {
      calls.push(cmd.input.FileSystemId ?? '');
      if (gate) await gate;
      if (fail) {
        fail = false;
        throw Object.assign(new Error('Service Unavailable'), { name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } });
      }
      return { FileSystems: [{ FileSystemId: cmd.input.FileSystemId, LifeCycleState: 'available' }] };
    },
  };
};

describe('EFS file system reads, shared by id', () => {
  let clock = 0;
  beforeEach(() => (clock = Date.parse('2026-12-03T15:59:00Z')));

  it('200 clusters on one file system, each reading it once a minute: one call a minute, not 200', async () => {
    const fake = fakeEfs();
    const efs = new Efs(fake as never, noSleep, { fileSystemCacheMs: 60_000, now: () => clock });
    const perMinute: number[] = [];
    for (let m = 0; m < 5; m++) {
      const before = fake.calls.length;
      for (let i = 0; i < 200; i++) {
        expect(await efs.describeFileSystem('fs-1')).toEqual({ found: true, id: 'fs-1', lifeCycleState: 'available' });
        clock += 300;
      }
      perMinute.push(fake.calls.length - before);
    }
    expect(perMinute).toEqual([1, 1, 1, 1, 1]);
  });

  it('each file system is its own entry', async () => {
    const fake = fakeEfs();
    const efs = new Efs(fake as never, noSleep, { now: () => clock });
    await efs.describeFileSystem('fs-1');
    await efs.describeFileSystem('fs-2');
    await efs.describeFileSystem('fs-1');
    expect(fake.calls).toEqual(['fs-1', 'fs-2']);
  });

  it('concurrent readers share the read in flight', async () => {
    const fake = fakeEfs();
    const efs = new Efs(fake as never, noSleep, { now: () => clock });
    fake.hold();
    const reads = Array.from({ length: 4 }, () => efs.describeFileSystem('fs-1'));
    fake.release();
    expect(new Set((await Promise.all(reads)).map((r) => JSON.stringify(r))).size).toBe(1);
    expect(fake.calls).toHaveLength(1);
  });

  it('a failed read is not kept: the next reader asks AWS again', async () => {
    const fake = fakeEfs();
    const efs = new Efs(fake as never, noSleep, { now: () => clock });
    fake.failNext();
    await expect(efs.describeFileSystem('fs-1')).rejects.toThrow();
    await expect(efs.describeFileSystem('fs-1')).resolves.toMatchObject({ found: true });
    expect(fake.calls).toHaveLength(2);
  });

  it('forgetFileSystems and a 0 TTL send the next read to AWS', async () => {
    const fake = fakeEfs();
    const efs = new Efs(fake as never, noSleep, { now: () => clock });
    await efs.describeFileSystem('fs-1');
    efs.forgetFileSystems();
    await efs.describeFileSystem('fs-1');
    const uncached = new Efs(fake as never, noSleep, { fileSystemCacheMs: 0, now: () => clock });
    await uncached.describeFileSystem('fs-1');
    await uncached.describeFileSystem('fs-1');
    expect(fake.calls).toHaveLength(4);
  });
});
