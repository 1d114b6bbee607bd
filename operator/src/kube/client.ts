// Finds the API server and its credentials the way kubectl does (an explicit
// file, $KUBECONFIG, the pod's service account, ~/.kube/config) and builds the
// transport: node:https for the service account, a token or a client
// certificate (kube/https-transport.ts); client-node, loaded only then, for
// what needs its plugins (kube/client-node-transport.ts).
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { httpsTransport } from './https-transport.ts';
import { inClusterTransport, SERVICE_ACCOUNT_DIR } from './in-cluster.ts';
import { resolveKubeconfig, type ClusterAccess, type KubeconfigFile, type Material } from './kubeconfig.ts';
import type { Transport } from './rest.ts';

export { SERVICE_ACCOUNT_DIR };

export interface KubeConfigOptions {
  /** Explicit kubeconfig file; otherwise $KUBECONFIG, then in-cluster, then ~/.kube/config. */
  kubeconfigPath?: string;
  context?: string;
  /** Root prefix for the service-account folder when running in-cluster (tests). */
  inClusterPathPrefix?: string;
  /** Same kubeconfig credentials, another address (a proxy in front of the API server; tests). */
  server?: string;
}

export interface LoadedConfig {
  transport: Transport;
  /** How it was found, for the startup log line. */
  source: 'file' | 'KUBECONFIG' | 'in-cluster' | 'default';
  /** Which client talks: node:https, or client-node for the credential named in `needs`. */
  client: 'node:https' | 'client-node';
  needs?: string;
  /** Namespace of the current context or the service account ('default' if none). */
  namespace: string;
}

const inCluster = (prefix: string): boolean =>
  Boolean(process.env.KUBERNETES_SERVICE_HOST && process.env.KUBERNETES_SERVICE_PORT) && existsSync(`${prefix}${SERVICE_ACCOUNT_DIR}/token`);

const readMaterial = (m: Material | undefined, what: string): Buffer | undefined => {
  if (m === undefined) return undefined;
  if ('data' in m) return m.data;
  try {
    return readFileSync(m.file);
  } catch (e) {
    throw new Error(`cannot read the kubeconfig's ${what} ${m.file}: ${(e as Error).message}`);
  }
};

const leanTransport = (a: ClusterAccess, server: string): Transport => {
  const token = a.token;
  return httpsTransport({
    server,
    ca: readMaterial(a.ca, 'certificate-authority'),
    cert: readMaterial(a.cert, 'client-certificate'),
    key: readMaterial(a.key, 'client-key'),
    insecure: a.insecure,
    servername: a.servername,
    // A token file is re-read for every request: rotated tokens just work.
    token: token === undefined ? undefined : 'value' in token ? () => Promise.resolve(token.value) : () => readFile(token.file, 'utf8'),
  });
};

/** A transport that loads client-node on its first request, so building a client stays synchronous. */
const deferredTransport = (server: string, load: () => Promise<Transport>): Transport => {
  let loaded: Promise<Transport> | undefined;
  const get = (): Promise<Transport> => (loaded ??= load());
  return {
    server,
    send: async (req) => (await get()).send(req),
    watch: async (path, query, onEvent, signal) => (await get()).watch(path, query, onEvent, signal),
  };
};

const kubeconfigFiles = (opts: KubeConfigOptions, prefix: string): { paths: string[]; source: LoadedConfig['source'] } | undefined => {
  if (opts.kubeconfigPath) return { paths: [opts.kubeconfigPath], source: 'file' };
  const env = process.env.KUBECONFIG;
  if (env) {
    // kubectl skips list entries that do not exist; an empty list is an error below.
    return { paths: env.split(delimiter).filter((p) => p && existsSync(p)), source: 'KUBECONFIG' };
  }
  if (inCluster(prefix)) return undefined;
  return { paths: [join(homedir(), '.kube', 'config')], source: 'default' };
};

export const loadKubeConfig = (opts: KubeConfigOptions = {}): LoadedConfig => {
  const prefix = opts.inClusterPathPrefix ?? '';
  const found = kubeconfigFiles(opts, prefix);
  if (!found) {
    const dir = `${prefix}${SERVICE_ACCOUNT_DIR}`;
    const namespaceFile = `${dir}/namespace`;
    const namespace = existsSync(namespaceFile) ? readFileSync(namespaceFile, 'utf8').trim() || 'default' : 'default';
    return { transport: inClusterTransport({ dir }), source: 'in-cluster', client: 'node:https', namespace };
  }
  if (found.paths.length === 0) throw new Error(`none of the files in KUBECONFIG exists (${process.env.KUBECONFIG ?? ''})`);
  const files: KubeconfigFile[] = found.paths.map((path) => {
    try {
      return { path, text: readFileSync(path, 'utf8') };
    } catch (e) {
      throw new Error(`cannot read kubeconfig ${path}: ${(e as Error).message}`);
    }
  });
  const r = resolveKubeconfig(files, opts.context);
  if (r.kind === 'lean') {
    return { transport: leanTransport(r.access, opts.server ?? r.access.server), source: found.source, client: 'node:https', namespace: r.access.namespace };
  }
  const server = opts.server ?? r.server;
  const transport = deferredTransport(server, async () => {
    const { clientNodeTransportFromFiles } = await import('./client-node-transport.ts');
    return clientNodeTransportFromFiles(found.paths, opts.context, opts.server);
  });
  return { transport, source: found.source, client: 'client-node', needs: r.needs, namespace: r.namespace };
};
