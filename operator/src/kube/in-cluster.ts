// HTTPS to the API server from inside a pod, with node:https alone: the
// service account's token and CA, the KUBERNETES_SERVICE_* address. The
// agent beside every RDB and the operator in its pod talk through this;
// loading @kubernetes/client-node instead costs about 80 MB (bench/agent-memory.ts).
// This file must never import client-node (test/unit/agent-imports.test.ts).
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { httpsTransport, type RequestFn } from './https-transport.ts';
import type { Transport } from './rest.ts';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The agent's bound on an answer: it reads and patches one pod, a few KB. */
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

export interface InClusterOptions {
  env?: Record<string, string | undefined>;
  /** The service account folder (token, ca.crt); the standard mount by default. */
  dir?: string;
  /** Re-read before every request: the kubelet rotates the projected token in place. */
  readToken?: (path: string) => Promise<string>;
  /** node:https request by default (tests pass a fake). */
  request?: RequestFn;
  /** The agent sends one request at a time; the operator leaves this unbounded. */
  maxSockets?: number;
  /** The agent passes MAX_RESPONSE_BYTES; the operator's list pages take https-transport's default. */
  maxResponseBytes?: number;
}

/**
 * The service account's transport (kube/https-transport.ts). A status code
 * is returned as is: RestClient turns non-2xx into KubeApiError and retries
 * what is worth retrying; a failure to connect, to read the token or an
 * oversized answer rejects (RestClient's statusCode 0, retried the same way).
 */
export const inClusterTransport = (opts: InClusterOptions = {}): Transport => {
  const address = inClusterAddress(opts.env ?? process.env);
  const dir = opts.dir ?? SERVICE_ACCOUNT_DIR;
  const tokenPath = `${dir}/token`;
  const readToken = opts.readToken ?? ((p: string) => readFile(p, 'utf8'));
  let ca: Buffer;
  try {
    ca = readFileSync(`${dir}/ca.crt`);
  } catch (e) {
    throw new Error(`cannot read the API server's CA ${dir}/ca.crt (${(e as Error).message}); is the service account token mounted?`);
  }
  return httpsTransport({
    server: address.server,
    ca,
    token: async () => {
      const token = (await readToken(tokenPath)).trim();
      if (!token) throw new Error(`service account token ${tokenPath} is empty`);
      return token;
    },
    maxSockets: opts.maxSockets,
    maxResponseBytes: opts.maxResponseBytes,
    request: opts.request,
  });
};
