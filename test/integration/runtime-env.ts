// Helpers for the runtime/kube integration tests on the local stack.
import { existsSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import type { Server, Socket } from 'node:net';
import { join } from 'node:path';
import { createKubeClient, loadKubeConfig } from '../../operator/src/kube/index.ts';
import type { KubeClient, V1Namespace } from '../../operator/src/kube/index.ts';
import { createLogger } from '../../operator/src/runtime/log.ts';
import type { Logger } from '../../operator/src/runtime/log.ts';
import type { OperatorMetrics } from '../../operator/src/runtime/metrics.ts';
import { stackDir } from '../lib/stack.ts';

export const kubeconfigPath = (): string => process.env.KUBECONFIG ?? join(stackDir(), 'kubeconfig');
export const stackAvailable = (): boolean => existsSync(kubeconfigPath());

export const testLogger = (): Logger => createLogger({ level: process.env.LOG_LEVEL ?? 'error' });

export const stackClient = (opts: { server?: string; logger?: Logger; metrics?: OperatorMetrics } = {}): KubeClient => {
  const logger = opts.logger ?? testLogger();
  if (opts.server === undefined) return createKubeClient({ kubeconfigPath: kubeconfigPath(), logger, metrics: opts.metrics });
  // Same credentials, another address (a proxy in front of the API server).
  const { transport } = loadKubeConfig({ kubeconfigPath: kubeconfigPath(), server: opts.server });
  return createKubeClient({ transport, logger, metrics: opts.metrics });
};

export const uniqueName = (prefix: string): string => `${prefix}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e4)}`;

export const createNamespace = async (client: KubeClient, prefix: string): Promise<string> => {
  const name = uniqueName(prefix);
  await client.api.create<V1Namespace>({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'kdb-operator.dev/test': 'runtime' } } });
  return name;
};

export const deleteNamespace = async (client: KubeClient, name: string): Promise<void> => {
  await client.api.delete({ apiVersion: 'v1', kind: 'Namespace', name }).catch(() => undefined);
};

/** Poll a condition; for state held elsewhere (the API server, an informer) that has no event to await. */
export const waitFor = async <T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000, everyMs = 50): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
};

/**
 * A TCP proxy to the API server whose connections the test can cut, to
 * break a watch the way a network fault or an API server restart does.
 */
export class CuttableProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #refusing = false;
  port = 0;

  constructor(target: { host: string; port: number }) {
    this.#server = createServer((client) => {
      if (this.#refusing) {
        client.destroy();
        return;
      }
      const upstream = connect(target.port, target.host);
      this.#sockets.add(client);
      this.#sockets.add(upstream);
      const drop = (): void => {
        client.destroy();
        upstream.destroy();
        this.#sockets.delete(client);
        this.#sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream);
      upstream.pipe(client);
    });
  }
  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as { port: number }).port;
    return this;
  }
  /** Reset every open connection. */
  cut(): number {
    const n = this.#sockets.size / 2;
    for (const s of this.#sockets) s.resetAndDestroy();
    this.#sockets.clear();
    return n;
  }
  /** While refusing, new connections are closed at once. */
  refuse(on: boolean): void {
    this.#refusing = on;
  }
  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

export const apiServerAddress = (client: KubeClient): { host: string; port: number } => {
  const u = new URL(client.server);
  return { host: u.hostname, port: Number(u.port || 443) };
};
