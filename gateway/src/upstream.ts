// One kdb+ IPC connection per process the gateway asks (RDBs, the HDB),
// opened on first use and again after it broke; each call has a deadline,
// and a failure says which process and why.

import { IpcClient, QRemoteError, type QValue } from '../../ipc/src/index.ts';

export interface UpstreamOptions {
  user?: string;
  password?: string;
  /** Deadline of one call (connecting included). */
  timeoutMs: number;
}

export class UpstreamError extends Error {}

export class Upstreams {
  private readonly conns = new Map<string, Promise<IpcClient>>();
  private readonly o: UpstreamOptions;

  constructor(o: UpstreamOptions) {
    this.o = o;
  }

  private client(endpoint: string): Promise<IpcClient> {
    const have = this.conns.get(endpoint);
    if (have) return have;
    const colon = endpoint.lastIndexOf(':');
    const p = IpcClient.connect({
      host: endpoint.slice(0, colon),
      port: Number(endpoint.slice(colon + 1)),
      connectTimeoutMs: this.o.timeoutMs,
      ...(this.o.user !== undefined ? { user: this.o.user } : {}),
      ...(this.o.password !== undefined ? { password: this.o.password } : {}),
    });
    this.conns.set(endpoint, p);
    p.catch(() => this.conns.delete(endpoint));
    return p;
  }

  /** A sync call; a kdb+ error from the process comes back as QRemoteError, anything else as UpstreamError. */
  async call(endpoint: string, value: QValue): Promise<QValue> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new UpstreamError(`no answer within ${this.o.timeoutMs} ms`)), this.o.timeoutMs);
    });
    try {
      const c = await Promise.race([this.client(endpoint), deadline]);
      if (c.closed) {
        this.conns.delete(endpoint);
        return await this.call(endpoint, value);
      }
      return await Promise.race([c.sync(value), deadline]);
    } catch (e) {
      if (e instanceof QRemoteError) throw e;
      // A broken or stuck connection is not reused: the next call opens a new one.
      const c = this.conns.get(endpoint);
      this.conns.delete(endpoint);
      void c?.then((x) => x.destroy(), () => {});
      throw e instanceof UpstreamError ? e : new UpstreamError((e as Error).message);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Drops connections to endpoints no longer listed. */
  keepOnly(endpoints: ReadonlySet<string>): void {
    for (const [e, c] of this.conns)
      if (!endpoints.has(e)) {
        this.conns.delete(e);
        void c.then((x) => x.close(), () => {});
      }
  }

  closeAll(): void {
    for (const c of this.conns.values()) void c.then((x) => x.destroy(), () => {});
    this.conns.clear();
  }
}
