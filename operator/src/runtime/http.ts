import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** A named readiness check; returns true when ready, or a reason string when not. */
export type ReadyCheck = () => true | string;

export interface HealthServerOptions {
  port: number;
  /** Defaults to all interfaces so kubelet probes reach it; tests pass 127.0.0.1. */
  host?: string;
  registry: Registry;
  readyChecks?: Record<string, ReadyCheck>;
}

export interface HealthServer {
  readonly server: Server;
  /** Actual port (useful with port 0). */
  port(): number;
  addReadyCheck(name: string, check: ReadyCheck): void;
  close(): Promise<void>;
}

/**
 * /healthz answers while the event loop runs (liveness must not depend on the
 * API server, or an outage would restart every replica); /readyz reports the
 * checks; /metrics serves the registry.
 */
export const startHealthServer = async (opts: HealthServerOptions): Promise<HealthServer> => {
  const checks = new Map(Object.entries(opts.readyChecks ?? {}));
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    if (path === '/healthz' || path === '/livez') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (path === '/readyz') {
      const failures: string[] = [];
      for (const [name, check] of checks) {
        let r: true | string;
        try {
          r = check();
        } catch (err) {
          r = err instanceof Error ? err.message : String(err);
        }
        if (r !== true) failures.push(`${name}: ${r}`);
      }
      const ok = failures.length === 0;
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : `${failures.join('\n')}\n`);
      return;
    }
    if (path === '/metrics') {
      opts.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': opts.registry.contentType }).end(body),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    port: () => (server.address() as AddressInfo).port,
    addReadyCheck: (name, check) => void checks.set(name, check),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
};
