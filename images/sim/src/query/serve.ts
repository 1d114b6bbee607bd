// Starting the listeners of the query API: a kdb+ IPC port, optionally
// sharing its port with an HTTP server (sniff.ts), with the credentials
// and row limit from env.

import type http from 'node:http';
import type net from 'node:net';
import { readFileSync } from 'node:fs';
import { createIpcServer, credentialCheck, listen, parseCredentials, type Authenticate, type IpcServeOptions } from '../../../../ipc/src/index.ts';
import { ConfigError } from '../config.ts';
import type { Logger } from '../util/logger.ts';
import { apiHandler, DEFAULT_ROW_LIMIT, type QueryBackend } from './api.ts';
import { createSniffingServer } from './sniff.ts';

type Env = Record<string, string | undefined>;

/**
 * Who may connect over kdb+ IPC: KDB_IPC_CREDENTIALS_FILE (q's -u format,
 * "user:password" a line; what a mounted Secret gives) or
 * KDB_IPC_CREDENTIALS (the same lines, comma-separated). Neither set:
 * anyone, as q without -u.
 */
export function authenticateFromEnv(env: Env): Authenticate | undefined {
  const file = env.KDB_IPC_CREDENTIALS_FILE;
  const inline = env.KDB_IPC_CREDENTIALS;
  if (file && inline) throw new ConfigError('set KDB_IPC_CREDENTIALS_FILE or KDB_IPC_CREDENTIALS, not both');
  try {
    if (file) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (e) {
        throw new ConfigError(`KDB_IPC_CREDENTIALS_FILE ${file} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      return credentialCheck(parseCredentials(text, `KDB_IPC_CREDENTIALS_FILE ${file}`));
    }
    if (inline) return credentialCheck(parseCredentials(inline.split(',').join('\n'), 'KDB_IPC_CREDENTIALS'));
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError((e as Error).message);
  }
  return undefined;
}

/** KDB_QUERY_ROW_LIMIT: the most rows one getData answers (default 1,000,000). */
export function rowLimitFromEnv(env: Env): number {
  const raw = env.KDB_QUERY_ROW_LIMIT;
  if (raw === undefined || raw === '') return DEFAULT_ROW_LIMIT;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new ConfigError(`KDB_QUERY_ROW_LIMIT must be a whole number of rows above 0, got ${JSON.stringify(raw)}`);
  return n;
}

/** The IPC options serving the query API of `backend`, logging refusals (never a password). */
export function queryIpcOptions(backend: QueryBackend, env: Env, log: Logger): IpcServeOptions {
  const handler = apiHandler(backend, { rowLimit: rowLimitFromEnv(env) });
  return handlerIpcOptions((v) => handler(v), env, log);
}

/** IPC options answering sync requests with `onSync`, with the credentials from env and refusals logged. */
export function handlerIpcOptions(onSync: IpcServeOptions['onSync'], env: Env, log: Logger): IpcServeOptions {
  const authenticate = authenticateFromEnv(env);
  return {
    onSync,
    ...(authenticate ? { authenticate } : {}),
    onEvent: (e) => {
      if (e.kind === 'refused') log.warn('kdb+ client refused: bad credentials', { user: e.user, remote: e.remote });
      else if (e.kind === 'bad-frame') log.warn('kdb+ message not decodable', { user: e.user, reason: e.reason, error: e.message });
      else if (e.kind === 'closed-broken-stream') log.warn('kdb+ connection closed: stream lost its framing', { user: e.user, remote: e.remote, error: e.message });
    },
  };
}

/** A port answering kdb+ IPC and, on the same port, HTTP. */
export function listenSniffing(httpServer: http.Server, kdb: (socket: net.Socket, head: Buffer) => void, port: number, host: string): Promise<net.Server> {
  const server = createSniffingServer(httpServer, kdb);
  // Closing the port also ends the HTTP side's keep-alive connections.
  server.on('close', () => httpServer.closeAllConnections());
  return listen(server, port, host);
}

/** A port answering only kdb+ IPC. */
export const listenIpc = (options: IpcServeOptions, port: number, host: string): Promise<net.Server> => listen(createIpcServer(options), port, host);
