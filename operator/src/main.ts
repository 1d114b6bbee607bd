import { runAgent } from './agent/agent.ts';
import { AGENT_PERMISSIONS, createKubeClient } from './kube/index.ts';
import { createLogger } from './runtime/log.ts';
import { runOperator } from './operator.ts';

const USAGE = 'usage: node operator/src/main.ts operator|agent';

const main = async (): Promise<void> => {
  const role = process.argv[2];
  if (role === 'operator') {
    await runOperator(createLogger({ defaultMeta: { component: 'operator' } }));
    return;
  }
  if (role === 'agent') {
    const podName = process.env.POD_NAME;
    const namespace = process.env.POD_NAMESPACE;
    if (!podName || !namespace) throw new Error('POD_NAME and POD_NAMESPACE must be set (downward API fieldRefs metadata.name and metadata.namespace)');
    const log = createLogger({ defaultMeta: { component: 'agent', pod: `${namespace}/${podName}` } });
    const kube = createKubeClient({ logger: log, qps: 5, burst: 10, permissions: { table: AGENT_PERMISSIONS, name: 'AGENT_PERMISSIONS' } });
    const abort = new AbortController();
    for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => abort.abort());
    await runAgent({
      api: kube.api,
      namespace,
      podName,
      statusFile: process.env.KDB_STATUS_FILE || '/var/run/kdb/status.json',
      log,
      signal: abort.signal,
    });
    return;
  }
  console.error(USAGE);
  process.exit(2);
};

main().catch((e: unknown) => {
  console.error(JSON.stringify({ level: 'error', message: 'fatal', error: e instanceof Error ? e.message : String(e) }));
  process.exit(1);
});
