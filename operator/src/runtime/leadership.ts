import type { Controller } from './controller.ts';
import type { LeaderElector } from './leader-election.ts';
import type { Logger } from './log.ts';
import type { Shutdown } from './shutdown.ts';

/**
 * Shutdown in the order that keeps one actor at a time: stop taking keys and
 * raise the stop signal, then wait for every in-flight reconcile with no
 * deadline of its own while the elector keeps renewing the lease, and only
 * then release it. A reconcile that outlasts the whole shutdown deadline makes
 * the process exit without releasing: the lease then runs out as a crashed
 * leader's does, after this process can no longer act.
 */
export const drainThenRelease = (shutdown: Shutdown, controller: Controller, elector: LeaderElector | undefined): void => {
  shutdown.add('controllers', () => controller.stop());
  if (elector) shutdown.add('lease', () => elector.stop());
};

/**
 * The elector's onStoppedLeading: another replica may be acting already, so
 * raise the stop signal (no irreversible step starts after this line) and exit.
 */
export const exitOnLostLeadership =
  (controller: Controller, log: Logger, exit: (code: number) => void = (code) => process.exit(code)) =>
  (): void => {
    controller.abort(new Error('lost leadership'));
    log.error('lost leadership; exiting');
    exit(1);
  };
