import { describe, expect, it } from '@jest/globals';
import { AwsRequestError, AwsUnavailableError, classifyError } from '../../operator/src/aws/errors.ts';
import { backoffDelay, RetryPolicy, type CallEvent, type RetryOptions } from '../../operator/src/aws/retry.ts';

const sdkError = (name: string, status?: number, extra: Record<string, unknown> = {}): Error =>
  Object.assign(new Error(`${name} happened`), { name, $metadata: status === undefined ? {} : { httpStatusCode: status }, ...extra });

/** A fake clock that only moves when the policy sleeps (or the test says so). */
const fakeTime = (random = 0.5) => {
  let t = 0;
  const sleeps: number[] = [];
  const opts: Partial<RetryOptions> = {
    now: () => t,
    sleep: async (ms) => {
      sleeps.push(ms);
      t += ms;
    },
    random: () => random,
  };
  return { opts, sleeps, advance: (ms: number) => (t += ms), elapsed: () => t };
};

const recorder = () => {
  const events: CallEvent[] = [];
  return { events, observer: { onCall: (e: CallEvent) => events.push(e) } };
};

/** fn that fails with the given errors in order, then returns 'done'. */
const failing = (...errors: unknown[]) => {
  let calls = 0;
  const fn = async () => {
    const e = errors[calls++];
    if (e !== undefined) throw e;
    return 'done';
  };
  return { fn, calls: () => calls };
};

describe('classifyError', () => {
  it.each([
    ['Throttling', 400],
    ['ThrottlingException', 400],
    ['RequestLimitExceeded', 503],
    ['TooManyRequestsException', 400],
    ['SomethingNew', 429],
  ])('%s (%d) is throttling', (name, status) => {
    expect(classifyError(sdkError(name, status))).toBe('throttled');
  });

  it('honours the SDK $retryable trait', () => {
    expect(classifyError(sdkError('X', 400, { $retryable: { throttling: true } }))).toBe('throttled');
    expect(classifyError(sdkError('X', 400, { $retryable: {} }))).toBe('transient');
  });

  it.each([500, 502, 503, 504, 501])('HTTP %d is transient', (status) => {
    expect(classifyError(sdkError('InternalFailure', status))).toBe('transient');
    expect(classifyError(sdkError('Unknown', status))).toBe('transient');
  });

  it('socket errors and timeouts are transient, also when wrapped', () => {
    expect(classifyError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBe('transient');
    expect(classifyError(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))).toBe('transient');
    expect(classifyError(sdkError('TimeoutError'))).toBe('transient');
    expect(classifyError(new Error('outer', { cause: Object.assign(new Error('x'), { code: 'ETIMEDOUT' }) }))).toBe('transient');
  });

  it.each(['ValidationError', 'ResourceInUse', 'AccessPointNotFound', 'AccessDenied', 'ScalingActivityInProgress'])(
    '%s (400) is a client error',
    (name) => {
      expect(classifyError(sdkError(name, 400))).toBe('client');
    },
  );
});

describe('backoffDelay (full jitter)', () => {
  const base = { baseDelayMs: 100, maxDelayMs: 5_000 };

  it('is uniform below min(cap, base * 2^(retry-1))', () => {
    const top = (retry: number) => backoffDelay(retry, { ...base, random: () => 0.999999 });
    expect([1, 2, 3, 4, 5, 6, 7].map(top)).toEqual([99, 199, 399, 799, 1599, 3199, 4999]);
    expect(top(30)).toBe(4999);
    expect(backoffDelay(4, { ...base, random: () => 0 })).toBe(0);
    expect(backoffDelay(3, { ...base, random: () => 0.5 })).toBe(200);
  });

  it('never exceeds the cap for any random draw', () => {
    for (let retry = 1; retry < 40; retry++) {
      for (const r of [0, 0.1, 0.5, 0.9, 0.999999]) {
        const d = backoffDelay(retry, { ...base, random: () => r });
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThan(5_000);
      }
    }
  });
});

describe('RetryPolicy', () => {
  it('returns the first success and reports one ok call', async () => {
    const time = fakeTime();
    const rec = recorder();
    const policy = new RetryPolicy(time.opts, rec.observer);
    await expect(policy.execute('DescribeAutoScalingGroups', async () => 42)).resolves.toBe(42);
    expect(rec.events).toEqual([{ operation: 'DescribeAutoScalingGroups', outcome: 'ok', attempts: 1, durationMs: 0, throttles: 0 }]);
    expect(time.sleeps).toEqual([]);
  });

  it('retries throttling and 5xx with jittered exponential delays, then succeeds', async () => {
    const time = fakeTime(0.5);
    const rec = recorder();
    const policy = new RetryPolicy(time.opts, rec.observer);
    const f = failing(sdkError('Throttling', 400), sdkError('ServiceUnavailable', 503), sdkError('ThrottlingException', 400));
    await expect(policy.execute('SetDesiredCapacity', f.fn)).resolves.toBe('done');
    expect(f.calls()).toBe(4);
    expect(time.sleeps).toEqual([50, 100, 200]);
    expect(rec.events).toEqual([
      { operation: 'SetDesiredCapacity', outcome: 'ok', attempts: 4, durationMs: 350, throttles: 2 },
    ]);
  });

  it('does not retry client errors and surfaces them typed', async () => {
    const time = fakeTime();
    const rec = recorder();
    const policy = new RetryPolicy(time.opts, rec.observer);
    const f = failing(sdkError('ValidationError', 400));
    const err = await policy.execute('SetInstanceProtection', f.fn).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AwsRequestError);
    expect(err).toMatchObject({ code: 'ValidationError', httpStatus: 400, operation: 'SetInstanceProtection' });
    expect(f.calls()).toBe(1);
    expect(time.sleeps).toEqual([]);
    expect(rec.events[0]).toMatchObject({ outcome: 'error', attempts: 1, errorCode: 'ValidationError' });
  });

  it('throws AwsUnavailableError after maxAttempts on persistent 5xx', async () => {
    const time = fakeTime(0.999999);
    const rec = recorder();
    const policy = new RetryPolicy({ ...time.opts, maxAttempts: 5 }, rec.observer);
    const f = failing(...Array.from({ length: 10 }, () => sdkError('InternalFailure', 500)));
    const err = await policy.execute('DescribeAutoScalingGroups', f.fn).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AwsUnavailableError);
    expect(err).toMatchObject({ attempts: 5, reason: 'attempts', throttled: false, lastErrorCode: 'InternalFailure' });
    expect(f.calls()).toBe(5);
    expect(time.sleeps).toEqual([99, 199, 399, 799]);
    expect(rec.events).toEqual([
      expect.objectContaining({ outcome: 'unavailable', attempts: 5, throttles: 0, errorCode: 'InternalFailure' }),
    ]);
  });

  it('reports throttled when the budget runs out under throttling', async () => {
    const time = fakeTime();
    const rec = recorder();
    const policy = new RetryPolicy({ ...time.opts, maxAttempts: 3 }, rec.observer);
    const f = failing(...Array.from({ length: 3 }, () => sdkError('Throttling', 400)));
    const err = await policy.execute('DescribeAutoScalingGroups', f.fn).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'AwsUnavailableError', throttled: true });
    expect(rec.events[0]).toMatchObject({ outcome: 'throttled', attempts: 3, throttles: 3 });
  });

  it('stops at the total deadline instead of sleeping past it', async () => {
    const time = fakeTime(0.999999);
    const policy = new RetryPolicy({ ...time.opts, maxAttempts: 100, deadlineMs: 3_000 });
    const f = failing(...Array.from({ length: 100 }, () => sdkError('InternalFailure', 500)));
    const err = await policy.execute('DescribeAutoScalingGroups', f.fn).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'AwsUnavailableError', reason: 'deadline' });
    // 99 + 199 + 399 + 799 = 1496 slept; the next delay (1599) would cross 3000.
    expect(time.sleeps).toEqual([99, 199, 399, 799]);
    expect(time.elapsed()).toBeLessThan(3_000);
    expect(f.calls()).toBe(5);
  });

  it('counts time spent inside attempts against the deadline', async () => {
    const time = fakeTime(0);
    const policy = new RetryPolicy({ ...time.opts, maxAttempts: 100, deadlineMs: 1_000 });
    let calls = 0;
    const err = await policy
      .execute('X', async () => {
        calls++;
        time.advance(400); // a slow, failing attempt
        throw sdkError('InternalFailure', 500);
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'AwsUnavailableError', reason: 'deadline' });
    expect(calls).toBe(3);
  });

  it('treats an attempt aborted by its own timeout as transient', async () => {
    const time = fakeTime();
    const policy = new RetryPolicy({ ...time.opts, attemptTimeoutMs: 5 });
    let calls = 0;
    const result = await policy.execute('X', async ({ signal }) => {
      calls++;
      if (calls === 1) {
        await new Promise((r) => setTimeout(r, 30));
        expect(signal.aborted).toBe(true);
        throw Object.assign(new Error('aborted'), { name: 'AbortError' });
      }
      return 'second';
    });
    expect(result).toBe('second');
    expect(calls).toBe(2);
  });

  it('is not broken by a throwing observer', async () => {
    const time = fakeTime();
    const policy = new RetryPolicy(time.opts, {
      onCall: () => {
        throw new Error('metrics down');
      },
      onRetry: () => {
        throw new Error('logger down');
      },
    });
    const f = failing(sdkError('Throttling', 400));
    await expect(policy.execute('X', f.fn)).resolves.toBe('done');
  });

  it('passes attempt numbers and a live signal to each attempt', async () => {
    const time = fakeTime();
    const policy = new RetryPolicy(time.opts);
    const seen: number[] = [];
    await policy.execute('X', async ({ attempt, signal }) => {
      seen.push(attempt);
      expect(signal.aborted).toBe(false);
      if (attempt < 3) throw sdkError('Throttling', 400);
      return attempt;
    });
    expect(seen).toEqual([1, 2, 3]);
  });

  it('defaults: 10 attempts, 100 ms base, 5 s cap, 30 s deadline', () => {
    expect(new RetryPolicy().options).toMatchObject({ maxAttempts: 10, baseDelayMs: 100, maxDelayMs: 5_000, deadlineMs: 30_000 });
  });
});
