// The transport for kubeconfigs whose credentials need more than TLS and a
// bearer token: exec plugins (`aws eks get-token`), auth providers, proxies,
// impersonation. Only client.ts loads this file, and only for such a
// kubeconfig, with a dynamic import: client-node costs about 80 MB resident,
// which the common cases (in a pod, a token or a client certificate) do not pay.
import { HttpMethod, IsomorphicFetchHttpLibrary, KubeConfig, RequestContext, Watch } from '@kubernetes/client-node';
import type { Query, Transport, TransportRequest, TransportResponse, WatchEvent } from './rest.ts';

/** client-node's reading of the same files kube/kubeconfig.ts resolved (it merges a list as kubectl does). */
export const clientNodeTransportFromFiles = (paths: readonly string[], context: string | undefined, server: string | undefined): Transport => {
  const kc = new KubeConfig();
  // As loadFromDefault merges a KUBECONFIG list: the first file, then the others under it.
  kc.loadFromFile(paths[0]!);
  for (const p of paths.slice(1)) {
    const more = new KubeConfig();
    more.loadFromFile(p);
    kc.mergeConfig(more);
  }
  if (context) kc.setCurrentContext(context);
  if (server !== undefined) {
    const name = kc.getCurrentCluster()?.name;
    kc.clusters = kc.clusters.map((c) => (c.name === name ? { ...c, server } : c));
  }
  return kubeConfigTransport(kc);
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
