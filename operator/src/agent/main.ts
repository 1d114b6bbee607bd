// The agent container's entry point (specs/rdb.ts runs it): the agent beside
// every RDB, loading nothing it does not use, because its memory is paid on
// every server. No @kubernetes/client-node and no winston here
// (test/unit/agent-imports.test.ts; figures in bench/agent-memory.ts).
// `node operator/src/main.ts agent` runs the same agent with the operator's
// client, for a kubeconfig outside a cluster.
import { RestKubeApi } from '../kube/api.ts';
import { MAX_RESPONSE_BYTES, inClusterTransport } from '../kube/in-cluster.ts';
import { AGENT_PERMISSIONS, guardTransport } from '../kube/permissions.ts';
import { RestClient } from '../kube/rest.ts';
import { createJsonLog } from '../runtime/json-log.ts';
import { runAgent } from './agent.ts';

const DEFAULT_STATUS_FILE = '/var/run/kdb/status.json';

const main = async (): Promise<void> => {
  const env = process.env;
  const podName = env.POD_NAME;
  const namespace = env.POD_NAMESPACE;
  if (!podName || !namespace) throw new Error('POD_NAME and POD_NAMESPACE must be set (downward API fieldRefs metadata.name and metadata.namespace)');
  const log = createJsonLog({ defaultMeta: { component: 'agent', pod: `${namespace}/${podName}` } });
  // KDB_SERVICE_ACCOUNT_DIR only for running outside a pod (bench/agent-memory.ts).
  // One request at a time, each a pod of a few KB.
  const transport = inClusterTransport({ dir: env.KDB_SERVICE_ACCOUNT_DIR || undefined, maxSockets: 2, maxResponseBytes: MAX_RESPONSE_BYTES });
  log.info('kubernetes client configured', { server: transport.server, source: 'in-cluster' });
  const rest = new RestClient({
    transport: guardTransport(transport, AGENT_PERMISSIONS, 'AGENT_PERMISSIONS'),
    logger: log,
    qps: 5,
    burst: 10,
  });
  const abort = new AbortController();
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => abort.abort());
  await runAgent({
    api: new RestKubeApi(rest, { logger: log }),
    namespace,
    podName,
    statusFile: env.KDB_STATUS_FILE || DEFAULT_STATUS_FILE,
    log,
    signal: abort.signal,
  });
};

main().catch((e: unknown) => {
  console.error(JSON.stringify({ level: 'error', message: 'fatal', error: e instanceof Error ? e.message : String(e) }));
  process.exit(1);
});
