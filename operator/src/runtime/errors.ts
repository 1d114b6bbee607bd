/**
 * A reconcile failure that retrying cannot fix (invalid spec, missing
 * permission the user must grant). The controller records it and does not
 * requeue; a change to the object will enqueue it again.
 */
export class TerminalError extends Error {
  override readonly name = 'TerminalError';
  readonly reason: string;
  constructor(reason: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}

export const isTerminalError = (err: unknown): err is TerminalError => err instanceof TerminalError;

export const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));
