// Builds the HTTP transport from a kubeconfig. This and the other files in
// kube/ are the only ones that import @kubernetes/client-node; from it we take
// only kubeconfig loading, authentication/TLS and the watch stream, and send
// plain JSON ourselves so every object looks the same whichever call fetched it.
import { existsSync } from 'node:fs';
import { HttpMethod, IsomorphicFetchHttpLibrary, KubeConfig, RequestContext, Watch } from '@kubernetes/client-node';
import { SERVICE_ACCOUNT_DIR } from './in-cluster.ts';
import type { Query, Transport, TransportRequest, TransportResponse, WatchEvent } from './rest.ts';

export { SERVICE_ACCOUNT_DIR };

export interface KubeConfigOptions {
  /** Explicit kubeconfig file; otherwise $KUBECONFIG, then in-cluster, then ~/.kube/config. */
  kubeconfigPath?: string;
  context?: string;
  /** Root prefix for the service-account folder when running in-cluster (tests). */
  inClusterPathPrefix?: string;
}

export interface LoadedConfig {
  kubeConfig: KubeConfig;
  /** How it was found, for the startup log line. */
  source: 'file' | 'KUBECONFIG' | 'in-cluster' | 'default';
  /** Namespace of the current context or the service account ('default' if none). */
  namespace: string;
}

const inCluster = (prefix: string): boolean =>
  Boolean(process.env.KUBERNETES_SERVICE_HOST && process.env.KUBERNETES_SERVICE_PORT) &&
  existsSync(`${prefix}${SERVICE_ACCOUNT_DIR}/token`);

export const loadKubeConfig = (opts: KubeConfigOptions = {}): LoadedConfig => {
  const kc = new KubeConfig();
  let source: LoadedConfig['source'];
  const prefix = opts.inClusterPathPrefix ?? '';
  if (opts.kubeconfigPath) {
    kc.loadFromFile(opts.kubeconfigPath);
    source = 'file';
  } else if (process.env.KUBECONFIG) {
    // loadFromDefault merges a colon-separated KUBECONFIG list like kubectl.
    kc.loadFromDefault();
    source = 'KUBECONFIG';
  } else if (inCluster(prefix)) {
    // The token file is re-read on every request, so projected token rotation just works.
    kc.loadFromCluster(prefix);
    source = 'in-cluster';
  } else {
    kc.loadFromDefault();
    source = 'default';
  }
  if (opts.context) kc.setCurrentContext(opts.context);
  if (!kc.getCurrentCluster()) throw new Error(`no cluster in kubeconfig (${source})`);
  const ctx = kc.getContextObject(kc.getCurrentContext());
  return { kubeConfig: kc, source, namespace: ctx?.namespace ?? 'default' };
};

/** HTTP transport that authenticates with the kubeconfig's credentials and TLS settings. */
export const kubeConfigTransport = (kc: KubeConfig): Transport => {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('no current cluster in kubeconfig');
  const server = cluster.server.replace(/\/+$/, '');
  const http = new IsomorphicFetchHttpLibrary();
  const watcher = new Watch(kc);

  const send = async (req: TransportRequest): Promise<TransportResponse> => {
    const ctx = new RequestContext(server + req.path, HttpMethod[req.method]);
    await kc.applySecurityAuthentication(ctx);
    for (const [k, v] of Object.entries(req.headers)) ctx.setHeaderParam(k, v);
    if (req.body !== undefined) ctx.setBody(req.body);
    ctx.setSignal(req.signal);
    const res = await http.send(ctx).toPromise();
    return { status: res.httpStatusCode, headers: res.headers, text: await res.body.text() };
  };

  const watch = (path: string, query: Query, onEvent: (ev: WatchEvent) => void, signal: AbortSignal): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      let controller: AbortController | undefined;
      const onAbort = (): void => controller?.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      watcher
        .watch(
          path,
          query,
          (type, object) => onEvent({ type: type as WatchEvent['type'], object }),
          (err: unknown) => {
            signal.removeEventListener('abort', onAbort);
            if (err && !signal.aborted) reject(err instanceof Error ? err : new Error(String(err)));
            else resolve();
          },
        )
        .then(
          (c) => {
            controller = c;
            if (signal.aborted) c.abort();
          },
          (err: unknown) => {
            signal.removeEventListener('abort', onAbort);
            reject(err instanceof Error ? err : new Error(String(err)));
          },
        );
    });

  return { server, send, watch };
};
