// Which API server and which credentials a kubeconfig names, as kubectl reads
// it: files merged in order (the first to name a cluster, user or context
// wins; the first current-context wins), paths relative to the file that
// wrote them. Pure: the caller reads the files. What needs more than a TLS
// connection and a bearer token (exec plugins, auth providers, proxies,
// impersonation) is named in `needs`, and client.ts hands it to client-node.
import { dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';

export interface KubeconfigFile {
  path: string;
  text: string;
}

/** Inline data (base64-decoded) or a file to read. */
export type Material = { data: Buffer } | { file: string };

export interface ClusterAccess {
  server: string;
  context: string;
  namespace: string;
  ca?: Material;
  cert?: Material;
  key?: Material;
  insecure: boolean;
  servername?: string;
  /** A static token, or a file re-read for every request (as client-go does). */
  token?: { value: string } | { file: string };
}

export type Resolution =
  | { kind: 'lean'; access: ClusterAccess }
  /** A credential this reader does not implement: `needs` names it, for the log. */
  | { kind: 'client-node'; server: string; namespace: string; needs: string };

type Entry = Record<string, unknown>;

const isObject = (v: unknown): v is Entry => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Keys whose presence means client-node must do the talking. */
const USER_NEEDS = ['exec', 'auth-provider', 'username', 'password', 'as', 'as-uid', 'as-groups', 'as-user-extra'] as const;
const CLUSTER_NEEDS = ['proxy-url'] as const;

interface Named {
  entry: Entry;
  dir: string;
  path: string;
}

const parseFile = (f: KubeconfigFile): Entry => {
  let doc: unknown;
  try {
    doc = parse(f.text);
  } catch (e) {
    throw new Error(`kubeconfig ${f.path} is not YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return {};
  if (!isObject(doc)) throw new Error(`kubeconfig ${f.path} must be a mapping (apiVersion: v1, kind: Config)`);
  return doc;
};

const collect = (docs: Array<{ doc: Entry; path: string }>, list: 'clusters' | 'users' | 'contexts', field: 'cluster' | 'user' | 'context'): Map<string, Named> => {
  const out = new Map<string, Named>();
  for (const { doc, path } of docs) {
    const items = doc[list];
    if (items === undefined || items === null) continue;
    if (!Array.isArray(items)) throw new Error(`kubeconfig ${path}: ${list} must be a list`);
    for (const [i, item] of items.entries()) {
      if (!isObject(item) || typeof item.name !== 'string' || !item.name) {
        throw new Error(`kubeconfig ${path}: ${list}[${i}] needs a name`);
      }
      if (out.has(item.name)) continue;
      const entry = item[field];
      out.set(item.name, { entry: isObject(entry) ? entry : {}, dir: dirname(path), path });
    }
  }
  return out;
};

const text = (e: Entry, key: string, where: string): string | undefined => {
  const v = e[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new Error(`${where}: ${key} must be a string`);
  return v;
};

const material = (e: Named, dataKey: string, fileKey: string, where: string): Material | undefined => {
  const data = text(e.entry, dataKey, where);
  if (data !== undefined) return { data: Buffer.from(data, 'base64') };
  const file = text(e.entry, fileKey, where);
  if (file !== undefined) return { file: isAbsolute(file) ? file : join(e.dir, file) };
  return undefined;
};

export const resolveKubeconfig = (files: readonly KubeconfigFile[], contextOverride?: string): Resolution => {
  if (files.length === 0) throw new Error('no kubeconfig file');
  const docs = files.map((f) => ({ doc: parseFile(f), path: f.path }));
  const clusters = collect(docs, 'clusters', 'cluster');
  const users = collect(docs, 'users', 'user');
  const contexts = collect(docs, 'contexts', 'context');
  const current = contextOverride ?? docs.map((d) => d.doc['current-context']).find((c): c is string => typeof c === 'string' && c !== '');
  const where = files.map((f) => f.path).join(':');
  if (!current) throw new Error(`kubeconfig ${where} has no current-context; pass a context`);
  const ctx = contexts.get(current);
  if (!ctx) throw new Error(`kubeconfig ${where} has no context "${current}"`);
  const clusterName = text(ctx.entry, 'cluster', `context "${current}"`);
  const cluster = clusterName === undefined ? undefined : clusters.get(clusterName);
  if (!cluster) throw new Error(`context "${current}" names cluster "${clusterName ?? ''}", which kubeconfig ${where} does not have`);
  const cw = `cluster "${clusterName}" in ${cluster.path}`;
  const server = text(cluster.entry, 'server', cw)?.replace(/\/+$/, '');
  if (!server) throw new Error(`${cw} has no server`);
  const namespace = text(ctx.entry, 'namespace', `context "${current}"`) ?? 'default';
  const userName = text(ctx.entry, 'user', `context "${current}"`);
  const user: Named = (userName !== undefined ? users.get(userName) : undefined) ?? { entry: {}, dir: cluster.dir, path: cluster.path };
  const uw = `user "${userName ?? ''}" in ${user.path}`;

  const needs = [
    ...USER_NEEDS.filter((k) => user.entry[k] !== undefined && user.entry[k] !== null).map((k) => `user.${k}`),
    ...CLUSTER_NEEDS.filter((k) => cluster.entry[k] !== undefined && cluster.entry[k] !== null).map((k) => `cluster.${k}`),
  ];
  if (needs.length > 0) return { kind: 'client-node', server, namespace, needs: needs.join(', ') };

  const tokenValue = text(user.entry, 'token', uw);
  const tokenFile = text(user.entry, 'tokenFile', uw);
  const cert = material(user, 'client-certificate-data', 'client-certificate', uw);
  const key = material(user, 'client-key-data', 'client-key', uw);
  if ((cert === undefined) !== (key === undefined)) throw new Error(`${uw}: a client certificate needs its key, and a key its certificate`);
  const insecure = cluster.entry['insecure-skip-tls-verify'] === true;
  // kubectl refuses a CA together with insecure-skip-tls-verify; client-go ignores the CA then.
  const ca = insecure ? undefined : material(cluster, 'certificate-authority-data', 'certificate-authority', cw);
  const servername = text(cluster.entry, 'tls-server-name', cw);
  const access: ClusterAccess = {
    server,
    context: current,
    namespace,
    insecure,
    ...(ca ? { ca } : {}),
    ...(cert && key ? { cert, key } : {}),
    ...(servername ? { servername } : {}),
    ...(tokenValue !== undefined
      ? { token: { value: tokenValue } }
      : tokenFile !== undefined
        ? { token: { file: isAbsolute(tokenFile) ? tokenFile : join(user.dir, tokenFile) } }
        : {}),
  };
  return { kind: 'lean', access };
};
