// Requests and watches to the API server over node:http(s) alone. Loading
// @kubernetes/client-node costs a process about 80 MB resident (its generated
// API and undici come with KubeConfig), which the operator and the agent both
// pay for requests this small file can send. This file must never import
// client-node (test/unit/agent-imports.test.ts, test/unit/operator-imports.test.ts).
import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { Query, Transport, TransportRequest, TransportResponse, WatchEvent } from './rest.ts';
import { buildPath } from './rest.ts';

/** How to reach and authenticate to one API server. Secrets stay in here: nothing logs this object. */
export interface HttpsTarget {
  /** https://host:port with an optional path prefix (an API proxy), or http:// for a plain local server. */
  server: string;
  /** PEM CA bundle; Node's default roots when absent. */
  ca?: Buffer | string;
  /** PEM client certificate and key (x509 client auth). */
  cert?: Buffer | string;
  key?: Buffer | string;
  /** insecure-skip-tls-verify in a kubeconfig. */
  insecure?: boolean;
  /** tls-server-name in a kubeconfig: the name the server's certificate is checked against. */
  servername?: string;
  /** The bearer token for each request, re-read each time (rotated tokens), or none. */
  token?: () => Promise<string | undefined>;
  maxSockets?: number;
  /** Larger answers are refused (a list page is a few MB; a runaway answer must not take the process). */
  maxResponseBytes?: number;
  /** A watch with no bytes for this long is ended with a TimeoutError and resumed by the informer. */
  watchIdleMs?: number;
  /** http(s).request by default (tests pass a fake). */
  request?: RequestFn;
}

export type RequestFn = (opts: https.RequestOptions, onResponse: (res: IncomingMessage) => void) => ReturnType<typeof https.request>;

export const DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024 * 1024;
/** client-node's watch inactivity timeout, which the informer already treats as "resume". */
export const DEFAULT_WATCH_IDLE_MS = 30_000;

/** Lower-case names, repeated headers joined as fetch joins them. */
export const flatHeaders = (raw: IncomingMessage['headers']): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
};

/** An error shaped as client-node's watch gave it: the status text, and statusCode for the informer. */
export class WatchStatusError extends Error {
  readonly statusCode: number;
  constructor(statusCode: number, detail: string) {
    super(`watch answered ${statusCode}${detail ? `: ${detail}` : ''}`);
    this.name = 'WatchStatusError';
    this.statusCode = statusCode;
  }
}

const timeoutError = (ms: number): Error => {
  const e = new Error(`watch sent nothing for ${ms} ms`);
  // The informer resumes a watch on a TimeoutError without re-listing.
  e.name = 'TimeoutError';
  return e;
};

/** The server's Status message from an error body, if it is one; never the body itself (it could echo a secret). */
const statusMessage = (text: string): string => {
  try {
    const o = JSON.parse(text) as { kind?: unknown; message?: unknown };
    return o.kind === 'Status' && typeof o.message === 'string' ? o.message : '';
  } catch {
    return '';
  }
};

export const httpsTransport = (t: HttpsTarget): Transport => {
  const url = new URL(t.server);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new Error(`the API server address must be https:// (or http://), got "${t.server}"`);
  }
  const secure = url.protocol === 'https:';
  const prefix = url.pathname.replace(/\/+$/, '');
  const server = t.server.replace(/\/+$/, '');
  const maxBytes = t.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const idleMs = t.watchIdleMs ?? DEFAULT_WATCH_IDLE_MS;
  // Unbounded by default: every watch holds a socket for minutes, and a cap
  // would queue plain requests behind them. The agent, which never watches, passes 2.
  const agent = secure
    ? new https.Agent({
        keepAlive: true,
        maxSockets: t.maxSockets ?? Infinity,
        maxFreeSockets: 16,
        ca: t.ca,
        cert: t.cert,
        key: t.key,
        rejectUnauthorized: !t.insecure,
        servername: t.servername,
      })
    : new http.Agent({ keepAlive: true, maxSockets: t.maxSockets ?? Infinity, maxFreeSockets: 16 });
  const request: RequestFn = t.request ?? ((o, cb) => (secure ? https.request(o, cb) : http.request(o, cb)));

  const options = async (method: string, path: string, headers: Record<string, string>, body?: string): Promise<https.RequestOptions> => {
    const h: Record<string, string> = { 'user-agent': 'kdb-operator', ...headers };
    const token = t.token ? (await t.token())?.trim() : undefined;
    if (t.token && !token) throw new Error('the API server token is empty');
    if (token) h.authorization = `Bearer ${token}`;
    if (body !== undefined) h['content-length'] = String(Buffer.byteLength(body));
    return { hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port) || (secure ? 443 : 80), method, path: prefix + path, headers: h, agent };
  };

  const send = async (req: TransportRequest): Promise<TransportResponse> => {
    const opts = { ...(await options(req.method, req.path, req.headers, req.body)), signal: req.signal };
    return new Promise<TransportResponse>((resolve, reject) => {
      const r = request(opts, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > maxBytes) {
            res.destroy(new Error(`answer larger than ${maxBytes} bytes`));
            return;
          }
          chunks.push(c);
        });
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: flatHeaders(res.headers), text: Buffer.concat(chunks).toString('utf8') }));
      });
      r.on('error', reject);
      r.end(req.body);
    });
  };

  const watch = async (path: string, query: Query, onEvent: (ev: WatchEvent) => void, signal: AbortSignal): Promise<void> => {
    if (signal.aborted) return;
    const opts = await options('GET', buildPath(path, { ...query, watch: true }), { accept: 'application/json' });
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (err?: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        r.destroy();
        if (err && !signal.aborted) reject(err);
        else resolve();
      };
      const idle = (): void => {
        clearTimeout(timer);
        timer = setTimeout(() => finish(timeoutError(idleMs)), idleMs);
        timer.unref();
      };
      const onAbort = (): void => finish();
      const r = request(opts, (res) => {
        if (res.statusCode !== 200) {
          const status = res.statusCode ?? 0;
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => {
            if (chunks.length < 64) chunks.push(c);
          });
          res.on('error', () => finish(new WatchStatusError(status, '')));
          res.on('end', () => finish(new WatchStatusError(status, statusMessage(Buffer.concat(chunks).toString('utf8')))));
          return;
        }
        idle();
        let pending = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          idle();
          pending += chunk;
          if (pending.length > maxBytes) {
            finish(new Error(`watch event larger than ${maxBytes} bytes`));
            return;
          }
          let nl: number;
          while (!settled && (nl = pending.indexOf('\n')) >= 0) {
            const line = pending.slice(0, nl).trim();
            pending = pending.slice(nl + 1);
            if (!line) continue;
            let ev: WatchEvent;
            try {
              ev = JSON.parse(line) as WatchEvent;
            } catch {
              // A line that is not JSON means the stream is not what we think: start over from a fresh list.
              finish(new Error('watch sent a line that is not JSON'));
              return;
            }
            onEvent(ev);
          }
        });
        res.on('error', (e) => finish(e));
        res.on('end', () => finish());
        res.on('close', () => finish());
      });
      r.on('error', (e) => finish(e));
      signal.addEventListener('abort', onAbort, { once: true });
      if (signal.aborted) {
        finish();
        return;
      }
      idle();
      r.end();
    });
  };

  return { server, send, watch };
};
