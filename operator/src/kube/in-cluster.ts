// HTTPS to the API server from inside a pod, with node:https alone: the
// service account's token and CA, the KUBERNETES_SERVICE_* address. The
// agent beside every RDB talks through this; loading @kubernetes/client-node
// for the same three requests would cost it about 90 MB (bench/agent-memory.ts).
// This file must never import client-node (test/unit/agent-imports.test.ts).
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { Transport, TransportRequest, TransportResponse } from './rest.ts';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Larger answers are refused: the agent reads and patches one pod, a few KB. */
export const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

export interface InClusterAddress {
  host: string;
  port: number;
  /** https://host:port, with an IPv6 host in brackets. */
  server: string;
}

/** The API server's address as the kubelet gives it to every container. */
export const inClusterAddress = (env: Record<string, string | undefined>): InClusterAddress => {
  const host = env.KUBERNETES_SERVICE_HOST?.trim();
  const portText = env.KUBERNETES_SERVICE_PORT?.trim();
  if (!host || !portText) {
    throw new Error('KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set (the kubelet sets them in every pod); run the agent in a pod');
  }
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`KUBERNETES_SERVICE_PORT must be a TCP port (1-65535), got "${portText}"`);
  }
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  return { host: bare, port, server: `https://${bare.includes(':') ? `[${bare}]` : bare}:${port}` };
};

/** Node's request options for one API call; the token goes only into the authorization header. */
export const requestOptions = (
  address: InClusterAddress,
  req: TransportRequest,
  token: string,
  agent: https.Agent,
): https.RequestOptions => {
  const headers: Record<string, string> = { ...req.headers, authorization: `Bearer ${token}` };
  if (req.body !== undefined) headers['content-length'] = String(Buffer.byteLength(req.body));
  return { host: address.host, port: address.port, method: req.method, path: req.path, headers, agent, signal: req.signal };
};

/** Lower-case names, repeated headers joined as fetch joins them. */
export const flatHeaders = (raw: IncomingMessage['headers']): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
};

export type RequestFn = (opts: https.RequestOptions, onResponse: (res: IncomingMessage) => void) => ReturnType<typeof https.request>;

export interface InClusterOptions {
  env?: Record<string, string | undefined>;
  /** The service account folder (token, ca.crt); the standard mount by default. */
  dir?: string;
  /** Re-read before every request: the kubelet rotates the projected token in place. */
  readToken?: (path: string) => Promise<string>;
  /** node:https request by default (tests pass a fake). */
  request?: RequestFn;
}

/**
 * Transport over node:https with keep-alive. A status code is returned as
 * is: RestClient turns non-2xx into KubeApiError and retries what is worth
 * retrying; a failure to connect, to read the token or an oversized answer
 * rejects (RestClient's statusCode 0, retried the same way).
 */
export const inClusterTransport = (opts: InClusterOptions = {}): Transport => {
  const address = inClusterAddress(opts.env ?? process.env);
  const dir = opts.dir ?? SERVICE_ACCOUNT_DIR;
  const tokenPath = `${dir}/token`;
  const readToken = opts.readToken ?? ((p: string) => readFile(p, 'utf8'));
  const request = opts.request ?? ((o, cb) => https.request(o, cb));
  let ca: Buffer;
  try {
    ca = readFileSync(`${dir}/ca.crt`);
  } catch (e) {
    throw new Error(`cannot read the API server's CA ${dir}/ca.crt (${(e as Error).message}); is the service account token mounted?`);
  }
  // Few sockets: the agent sends one request at a time.
  const agent = new https.Agent({ keepAlive: true, maxSockets: 2, ca });

  const send = async (req: TransportRequest): Promise<TransportResponse> => {
    const token = (await readToken(tokenPath)).trim();
    if (!token) throw new Error(`service account token ${tokenPath} is empty`);
    return new Promise<TransportResponse>((resolve, reject) => {
      const r = request(requestOptions(address, req, token, agent), (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_RESPONSE_BYTES) {
            res.destroy(new Error(`answer larger than ${MAX_RESPONSE_BYTES} bytes`));
            return;
          }
          chunks.push(c);
        });
        res.on('error', reject);
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: flatHeaders(res.headers), text: Buffer.concat(chunks).toString('utf8') }),
        );
      });
      r.on('error', reject);
      r.end(req.body);
    });
  };

  return {
    server: address.server,
    send,
    // The agent only reads and patches its own pod; a watch here would be a new contract.
    watch: () => Promise.reject(new Error('watch is not supported by the in-cluster agent transport (kube/in-cluster.ts)')),
  };
};
