// kubectl kdb: the thin effecting side. Parsing, status formatting and the
// release plan are pure modules next to this one; here they meet the API
// server (operator/src/kube) and AWS (operator/src/aws).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLUSTER_ANNOTATION } from '../../operator/src/api/kdbcluster.ts';
import { createAws, OWNER_TAG } from '../../operator/src/aws/index.ts';
import {
  createKubeClient,
  KubeApiError,
  loadKubeConfig,
  Resources,
  type KubeClient,
  type Transport,
  type V1Node,
  type V1Pod,
  type CoreV1Event,
  type KubeObject,
} from '../../operator/src/kube/index.ts';
import { HELP, parseArgs, UsageError, type Command, type Common } from './args.ts';
import { formatPlan, planRelease, type RdbPodView } from './release-plan.ts';
import { formatStatus, statusJson, type WireStatus } from './status-format.ts';

/** A failure to print as one line, without a stack. */
class CliError extends Error {
  override name = 'CliError';
}

type KdbObject = KubeObject & { status?: WireStatus };

interface Session {
  kube: KubeClient;
  transport: Transport;
  namespace: string;
}

const connect = (c: Common): Session => {
  let loaded;
  try {
    loaded = loadKubeConfig({ ...(c.kubeconfig ? { kubeconfigPath: c.kubeconfig } : {}), ...(c.context ? { context: c.context } : {}) });
  } catch (e) {
    throw new CliError(
      `no usable kubeconfig (${(e as Error).message}): set KUBECONFIG, pass --kubeconfig, or create ~/.kube/config`,
    );
  }
  const transport = loaded.transport;
  return { kube: createKubeClient({ transport }), transport, namespace: c.namespace ?? loaded.namespace };
};

const clusterRef = (name: string, namespace: string) => ({ ...Resources.KdbCluster, name, namespace });

const getCluster = async (s: Session, name: string): Promise<KdbObject> => {
  const obj = await s.kube.api.get<KdbObject>(clusterRef(name, s.namespace));
  if (obj === undefined) throw new CliError(`KdbCluster "${name}" not found in namespace "${s.namespace}" (try -n <namespace>, or kubectl get kdb -A)`);
  return obj;
};

const annotate = async (s: Session, name: string, key: string, value: string): Promise<KdbObject> => {
  await getCluster(s, name);
  return s.kube.api.mergePatch<KdbObject>(clusterRef(name, s.namespace), { metadata: { annotations: { [key]: value } } });
};

const rdbPods = async (s: Session, cluster: string): Promise<V1Pod[]> =>
  (await s.kube.api.list<V1Pod>(Resources.Pod, { namespace: s.namespace, labelSelector: `kdb-operator.dev/cluster=${cluster},kdb-operator.dev/role=rdb` })).items;

const podView = (p: V1Pod): RdbPodView => ({
  name: p.metadata?.name ?? '?',
  ...(p.spec?.nodeName ? { nodeName: p.spec.nodeName } : {}),
  annotations: p.metadata?.annotations ?? {},
  conditions: (p.status?.conditions ?? []).map((c) => ({ type: c.type, status: c.status })),
});

type Out = (line: string) => void;

const run = async (cmd: Exclude<Command, { kind: 'help' }>, out: Out, now: () => Date): Promise<void> => {
  const s = connect(cmd);
  switch (cmd.kind) {
    case 'status': {
      const obj = await getCluster(s, cmd.cluster);
      const view = { name: cmd.cluster, namespace: s.namespace, status: obj.status };
      if (cmd.output === 'json') out(JSON.stringify(statusJson(view), null, 2));
      else for (const l of formatStatus(view)) out(l);
      return;
    }
    case 'eod': {
      const value = now().toISOString().replace(/\.\d{3}Z$/, 'Z');
      await annotate(s, cmd.cluster, CLUSTER_ANNOTATION.endOfDay, value);
      out(`asked KdbCluster ${s.namespace}/${cmd.cluster} to end the trading day: ${CLUSTER_ANNOTATION.endOfDay}=${value}`);
      out('the operator records the request, then ends the day once; watch it with:');
      out(`  kubectl get kdb ${cmd.cluster} -n ${s.namespace} -o jsonpath='{.status.endOfDayRequest}'`);
      return;
    }
    case 'hibernate': {
      const obj = await annotate(s, cmd.cluster, CLUSTER_ANNOTATION.hibernation, cmd.value);
      out(`${CLUSTER_ANNOTATION.hibernation}=${cmd.value} set on KdbCluster ${s.namespace}/${cmd.cluster}`);
      const c = obj.status?.conditions?.find((x) => x.type === 'Hibernated');
      if (c) out(`Hibernated=${c.status} ${c.reason}: ${c.message} (before this request)`);
      out(`watch: kubectl kdb status ${cmd.cluster} -n ${s.namespace}`);
      return;
    }
    case 'release': {
      const owner = `${s.namespace}/${cmd.cluster}`;
      const obj = await s.kube.api.get<KdbObject>(clusterRef(cmd.cluster, s.namespace));
      out(obj === undefined ? `KdbCluster ${owner} is gone; releasing what is left of it` : `KdbCluster ${owner} exists (phase ${obj.status?.phase ?? 'Unknown'})`);
      const aws = createAws();
      try {
        const groups = await aws.autoScaling.findGroupsByTags({ [OWNER_TAG]: owner }, { fresh: true });
        if (groups.length === 0) {
          out(`no Auto Scaling group tagged ${OWNER_TAG}=${owner}: nothing to release`);
          return;
        }
        const [pods, nodes] = await Promise.all([rdbPods(s, cmd.cluster), s.kube.api.list<V1Node>(Resources.Node)]);
        const plan = planRelease({
          pods: pods.map(podView),
          nodes: nodes.items.map((n) => ({ name: n.metadata?.name ?? '', ...(n.spec?.providerID ? { providerID: n.spec.providerID } : {}) })),
          groups,
        });
        for (const l of formatPlan(plan, !cmd.yes)) out(l);
        if (!cmd.yes) return;
        // One at a time, each unprotect right before its terminate: a failure leaves at most one instance unprotected.
        for (const r of plan.release) {
          await aws.autoScaling.setInstanceProtection(r.group, [r.instanceId], false, { owner });
          const t = await aws.autoScaling.terminateInstanceInGroup(r.instanceId, { expectedGroup: r.group, owner });
          out(`${r.instanceId}: ${t.outcome}`);
        }
        for (const g of plan.untag) {
          const rel = await aws.autoScaling.releaseGroup(g, owner);
          out(`${g}: owner tag ${rel.released ? 'removed' : `left (${rel.previousOwner ?? 'absent'})`}`);
        }
        if (plan.refused.length > 0 || plan.heldElsewhere.length > 0) {
          throw new CliError(`${plan.refused.length + plan.heldElsewhere.length} refused: their RDBs still hold data (see above)`);
        }
      } finally {
        aws.destroy();
      }
      return;
    }
    case 'report': {
      const obj = await getCluster(s, cmd.cluster);
      const dir = cmd.dir ?? `kdb-report-${cmd.cluster}-${now().toISOString().replace(/[:.]/g, '-')}`;
      mkdirSync(join(dir, 'operator-logs'), { recursive: true });
      const write = (f: string, v: unknown): void => writeFileSync(join(dir, f), `${JSON.stringify(v, null, 2)}\n`);
      write('cluster.json', obj);
      const events = await s.kube.api.list<CoreV1Event>(Resources.Event, {
        namespace: s.namespace,
        fieldSelector: `involvedObject.kind=KdbCluster,involvedObject.name=${cmd.cluster}`,
      });
      write('events.json', events.items);
      const pods = await s.kube.api.list<V1Pod>(Resources.Pod, { namespace: s.namespace, labelSelector: `kdb-operator.dev/cluster=${cmd.cluster}` });
      write('pods.json', pods.items);
      const operators = await s.kube.api.list<V1Pod>(Resources.Pod, { labelSelector: 'app.kubernetes.io/name=kdb-operator' });
      let logs = 0;
      for (const p of operators.items) {
        const ns = p.metadata?.namespace ?? 'default';
        const name = p.metadata?.name ?? '';
        // pods/log answers text, not JSON: straight through the transport.
        const res = await s.transport.send({
          method: 'GET',
          path: `/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(name)}/log?tailLines=5000`,
          // The API server answers 406 to text/plain alone: pods/log is negotiated like kubectl's own request.
          headers: { accept: 'application/json, */*' },
          signal: AbortSignal.timeout(30_000),
        });
        if (res.status === 200) {
          writeFileSync(join(dir, 'operator-logs', `${name}.log`), res.text);
          logs++;
        } else out(`operator log of ${ns}/${name}: HTTP ${res.status}; get it with: kubectl logs -n ${ns} ${name}`);
      }
      out(`wrote ${dir}: cluster.json, events.json (${events.items.length}), pods.json (${pods.items.length}), operator-logs (${logs} of ${operators.items.length} pods)`);
      return;
    }
  }
};

export const main = async (argv: readonly string[], io: { out: Out; err: Out; now?: () => Date }): Promise<number> => {
  try {
    const cmd = parseArgs(argv);
    if (cmd.kind === 'help') {
      io.out(HELP[cmd.topic ?? 'main'].trimEnd());
      return 0;
    }
    await run(cmd, io.out, io.now ?? (() => new Date()));
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`error: ${e.message}`);
      return 2;
    }
    if (e instanceof CliError) io.err(`error: ${e.message}`);
    else if (e instanceof KubeApiError) io.err(`error: API server: ${e.message}`);
    else io.err(`error: ${(e as Error).message ?? String(e)}`);
    return 1;
  }
};

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2), {
    out: (l) => process.stdout.write(`${l}\n`),
    err: (l) => process.stderr.write(`${l}\n`),
  });
}
