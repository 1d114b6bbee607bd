/**
 * A reconcile failure that retrying cannot fix (invalid spec, missing
 * permission the user must grant). The controller records it and does not
 * requeue; a change to the object will enqueue it again.
 */
export class TerminalError extends Error {
  override readonly name = 'TerminalError';
  /** CamelCase reason for conditions/Events, e.g. 'InvalidSpec'. */
  readonly reason: string;
  constructor(message: string, options: { reason?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.reason = options.reason ?? 'TerminalError';
  }
}

export const isTerminalError = (err: unknown): err is TerminalError => err instanceof TerminalError;

export const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));
