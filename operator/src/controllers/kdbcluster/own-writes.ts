import type { KubeObject } from '../../kube/index.ts';

/**
 * Read-your-own-writes for KdbCluster status. A pass writes status (a scale-in
 * record, say) and the next pass, started by that very write, often reads the
 * informer's copy from before it: its status write then meets a 409 and the
 * pass is planned again ~200 ms later, once per step of every chain. The
 * object the API server answered our write with is newer than that copy, so
 * it is used instead while the informer still shows a version it
 * supersedes (the one the pass read, or one of the pass's earlier writes). Anything else in the informer (our write delivered, or anyone's
 * later change) is newer still and wins. Safe either way: every status write
 * is conditional on the resourceVersion it was planned from.
 */
export class OwnWrites {
  readonly #last = new Map<string, { older: ReadonlySet<string>; answer: KubeObject }>();

  /**
   * After a pass: `older` are the versions the answer supersedes (the one the
   * pass read and every one its earlier writes made); `answer` is what its
   * last write returned.
   */
  note(key: string, older: readonly (string | undefined)[], answer: KubeObject | undefined): void {
    const rv = answer?.metadata?.resourceVersion;
    const versions = new Set(older.filter((v): v is string => v !== undefined && v !== rv));
    if (answer === undefined || rv === undefined || versions.size === 0 || !isWhole(answer)) return;
    this.#last.set(key, { older: versions, answer });
  }

  /** The newer of the informer's copy and our last write's answer. */
  freshest(key: string, cached: KubeObject | undefined): KubeObject | undefined {
    const last = this.#last.get(key);
    if (!last) return cached;
    const rv = cached?.metadata?.resourceVersion;
    if (cached === undefined || cached.metadata?.uid !== last.answer.metadata?.uid || rv === undefined || !last.older.has(rv)) {
      this.#last.delete(key);
      return cached;
    }
    return last.answer;
  }

  forget(key: string): void {
    this.#last.delete(key);
  }

  get size(): number {
    return this.#last.size;
  }
}

/** A full object (what the API server answers a write with), not a partial one. */
const isWhole = (o: KubeObject): boolean =>
  typeof o.metadata?.name === 'string' && typeof o.metadata?.uid === 'string' && (o as { spec?: unknown }).spec !== undefined;
