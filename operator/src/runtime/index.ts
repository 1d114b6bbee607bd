// Controller runtime: queue, workers, leader election, health, metrics, logs.
export * from './clock.ts';
export * from './backoff.ts';
export * from './rate-limiter.ts';
export * from './workqueue.ts';
export * from './errors.ts';
export * from './controller.ts';
export * from './owner.ts';
export * from './leader-election.ts';
export * from './http.ts';
export * from './metrics.ts';
export * from './log.ts';
export * from './shutdown.ts';
export * from './leadership.ts';
