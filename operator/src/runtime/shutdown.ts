import type { Clock } from './clock.ts';
import { realClock } from './clock.ts';
import { errorMessage } from './errors.ts';
import type { Logger } from './log.ts';
import { silentLogger } from './log.ts';

export interface ShutdownStep {
  name: string;
  run: () => Promise<unknown> | unknown;
}

export interface ShutdownOptions {
  logger?: Logger;
  /**
   * Whole-sequence deadline; the process exits with 1 if steps overrun it and
   * the steps not yet run never run (a lease not released expires by itself).
   */
  deadlineMs?: number;
  clock?: Clock;
  signals?: NodeJS.Signals[];
  exit?: (code: number) => void;
}

/**
 * Ordered graceful shutdown. Register steps in the order they must run
 * (stop controllers and drain in-flight reconciles, stop informers, release
 * the lease, close the HTTP server); a signal or trigger() runs them once, then
 * exits 0. A second signal exits 1 at once.
 */
export class Shutdown {
  readonly #steps: ShutdownStep[] = [];
  readonly #log: Logger;
  readonly #deadlineMs: number;
  readonly #exit: (code: number) => void;
  readonly #clock: Clock;
  #expired = false;
  #running: Promise<void> | undefined;
  readonly #handlers = new Map<NodeJS.Signals, () => void>();

  constructor(opts: ShutdownOptions = {}) {
    this.#log = opts.logger ?? silentLogger();
    this.#deadlineMs = opts.deadlineMs ?? 25_000;
    this.#exit = opts.exit ?? ((code) => process.exit(code));
    this.#clock = opts.clock ?? realClock;
    for (const sig of opts.signals ?? ['SIGTERM', 'SIGINT']) {
      const handler = (): void => {
        if (this.#running !== undefined) {
          this.#log.warn('second signal, exiting now', { signal: sig });
          this.#exit(1);
          return;
        }
        this.#log.info('shutting down', { signal: sig });
        void this.trigger(0);
      };
      this.#handlers.set(sig, handler);
      process.on(sig, handler);
    }
  }

  /** Steps run in the order added: add(step) or add(name, run). */
  add(step: ShutdownStep): this;
  add(name: string, run: ShutdownStep['run']): this;
  add(stepOrName: ShutdownStep | string, run?: ShutdownStep['run']): this {
    this.#steps.push(typeof stepOrName === 'string' ? { name: stepOrName, run: run ?? (() => undefined) } : stepOrName);
    return this;
  }

  isShuttingDown(): boolean {
    return this.#running !== undefined;
  }

  /** Run the steps once and exit with `code` (1 if the deadline passes). */
  trigger(code = 0): Promise<void> {
    this.#running ??= this.#runSteps(code);
    return this.#running;
  }

  /** Remove signal handlers (tests). */
  dispose(): void {
    for (const [sig, h] of this.#handlers) process.off(sig, h);
    this.#handlers.clear();
  }

  async #runSteps(code: number): Promise<void> {
    const deadline = this.#clock.setTimeout(() => {
      this.#expired = true;
      this.#log.error('shutdown deadline passed, exiting', { deadlineMs: this.#deadlineMs });
      this.#exit(1);
    }, this.#deadlineMs);
    for (const step of this.#steps) {
      try {
        await step.run();
        this.#log.debug('shutdown step done', { step: step.name });
      } catch (err) {
        this.#log.warn('shutdown step failed', { step: step.name, error: errorMessage(err) });
      }
      // Past the deadline the process has exited; where exit is only recorded (tests), later steps still must not run.
      if (this.#expired) {
        this.dispose();
        return;
      }
    }
    this.#clock.clearTimeout(deadline);
    this.dispose();
    this.#exit(code);
  }
}
