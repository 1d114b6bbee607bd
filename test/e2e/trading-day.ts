// A trading day on the local stack, end to end: the Helm chart installs the
// operator as a pod, a KdbCluster is applied, the reference feed plays the
// paper's day profile into the tickerplant, end of day is triggered, the day
// is merged into the HDB, and everything the operator did to AWS is checked
// against what the RDBs reported. Used by `make demo` and the e2e test.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { autoscaling, awsClientConfig } from '../lib/aws.ts';
import { calls, clearFaults, setFaults } from '../lib/faults.ts';
import { forwardTo, type Forward } from '../lib/forward.ts';
import { adminKubeConfig, k8s, watchPods } from '../lib/kube.ts';
import { readStackAws, repoRoot, stackDir } from '../lib/stack.ts';
import type { ChaosPlan } from './chaos.ts';
import { startChaos, type ChaosRun } from './chaos-faults.ts';
import { closedDay, farEndOfDay } from './day-clock.ts';
import { summarize, type DaySummary, type PodRecord, type Sample } from './verdicts.ts';

export type { DaySummary, Sample } from './verdicts.ts';

const run = promisify(execFile);

export interface DayOptions {
  namespace: string;
  cluster: string;
  /** Memory limit of each RDB (a Kubernetes quantity in Mi). */
  rdbMemoryMi: number;
  scaleThreshold: number;
  rollThreshold: number;
  maxRdbs: number;
  /** spec.rdbPools[].idleInstanceGraceSeconds (the operator's default when left out). */
  idleInstanceGraceSeconds?: number;
  rows: number;
  /** Wall time the market hours of the profile (06:00-15:00) are played in. */
  dayMs: number;
  syms: string[];
  seed: number;
  outDir: string;
  progress?: (line: string) => void;
  /**
   * Faults while the day runs: AWS throttling, the operator killed at
   * scale-in steps, and a seeded plan of faults at points of the feed
   * (chaos.ts; carried out by chaos-faults.ts).
   */
  chaos?: { awsThrottleRate?: number; killOperatorAtScaleInSteps?: string[]; plan?: ChaosPlan };
  /** spec.gateway enabled (any user may connect): the day can then be asked through the operator's gateway. */
  gateway?: boolean;
  /** rdbPools[].scaleOut: leave out for the paper's fixed scaleThreshold. */
  scaleOut?: { policy: 'threshold' | 'predictive'; leadTimeMargin?: number };
}

const KDB_GROUP = 'kdb-operator.dev';

export const binDir = async (): Promise<string> =>
  (await run('bash', [join(repoRoot, 'test/stack/build-control-plane.sh'), '--print-dir'])).stdout.trim();

const kubeconfig = (): string => join(stackDir(), 'kubeconfig');

export const kubectl = async (...args: string[]): Promise<string> =>
  (await run(join(await binDir(), 'kubectl'), ['--kubeconfig', kubeconfig(), ...args], { maxBuffer: 16 << 20 })).stdout;

const helm = async (...args: string[]): Promise<string> =>
  (await run(join(await binDir(), 'helm'), ['--kubeconfig', kubeconfig(), ...args], { maxBuffer: 16 << 20 })).stdout;

/** `describe` says, on a timeout, what the world looked like: a timed-out wait without it is a CI log nobody can act on. */
export const waitFor = async <T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 120_000,
  everyMs = 250,
  describe?: () => Promise<string>,
): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      lastError = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  const state = describe ? await describe().catch((e: unknown) => `(could not describe the state: ${(e as Error).message})`) : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${lastError})` : ''}${state ? `\n${state}` : ''}`);
};

/** What a timed-out wait prints: the RDB pods as watched, the group as sampled, the cluster's status and its latest Events. */
const describeWorld = async (o: DayOptions, pods: Map<string, PodRecord>, last: Sample | undefined): Promise<string> => {
  const alive = [...pods.values()].filter((p) => !p.deleted);
  const status = await kubectl('-n', o.namespace, 'get', 'kdb', o.cluster, '-o', 'jsonpath={.status}').catch((e: unknown) => `(${(e as Error).message})`);
  const events = await kubectl('-n', o.namespace, 'get', 'events', '--sort-by=.lastTimestamp', '-o', 'custom-columns=LAST:.lastTimestamp,REASON:.reason,OBJECT:.involvedObject.name,MESSAGE:.message')
    .then((t) => t.trim().split('\n').slice(-25).join('\n'))
    .catch((e: unknown) => `(${(e as Error).message})`);
  return [
    `RDB pods alive: ${alive.map((p) => `${p.name} state=${p.state ?? '?'} day=${p.day ?? '?'} rows=${p.rows} flushed=[${p.flushedDays.join(',')}] node=${p.node ?? '-'}`).join('; ') || 'none'}`,
    `last sample: ${JSON.stringify(last)}`,
    `status: ${status}`,
    `latest events:\n${events}`,
  ].join('\n');
};

/** Install the chart: CRD, RBAC, the operator as a pod on the system node group. */
export const installOperator = async (namespace: string, agentNamespaces: string[]): Promise<void> => {
  await kubectl('create', 'namespace', namespace).catch(() => undefined);
  for (const ns of agentNamespaces) await kubectl('create', 'namespace', ns).catch(() => undefined);
  const secret = await kubectl('-n', namespace, 'create', 'secret', 'generic', 'aws-credentials',
    '--from-literal=AWS_ACCESS_KEY_ID=testing', '--from-literal=AWS_SECRET_ACCESS_KEY=testing', '--dry-run=client', '-o', 'yaml');
  await applyYaml(secret);
  // Helm never upgrades a chart's CRDs: a stack that ran an older chart keeps its older CRD otherwise.
  await kubectl('apply', '--server-side', '--force-conflicts', '-f', join(repoRoot, 'charts/kdb-operator/crds/kdbclusters.yaml'));
  await helm('upgrade', '--install', 'kdb-operator', join(repoRoot, 'charts/kdb-operator'), '-n', namespace,
    '--set', 'aws.endpoint=http://127.0.0.1:14566', '--set', 'aws.credentialsSecret=aws-credentials',
    '--set', 'nodeSelector.eks\\.amazonaws\\.com/nodegroup=system', '--set', 'logLevel=debug',
    '--set', `eksClusterName=${readStackAws().clusterName}`,
    '--set', `agent.namespaces={${agentNamespaces.join(',')}}`, '--wait', '--timeout', '180s');
};

export const applyYaml = async (yaml: string): Promise<void> => {
  const bin = join(await binDir(), 'kubectl');
  await new Promise<void>((resolve, reject) => {
    const p = spawn(bin, ['--kubeconfig', kubeconfig(), 'apply', '-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`kubectl apply failed: ${err}`))));
    p.stdin.end(yaml);
  });
};

export const clusterYaml = (o: DayOptions, fileSystemId: string, now = new Date()): string => {
  const eod = farEndOfDay(now);
  return `apiVersion: ${KDB_GROUP}/v1alpha1
kind: KdbCluster
metadata:
  name: ${o.cluster}
  namespace: ${o.namespace}
spec:
  tickerplant:
    endOfDay: { time: "${eod}", timeZone: UTC }
  rdbPools:
    - name: main
      memory: ${o.rdbMemoryMi}Mi
      scaleThreshold: ${o.scaleThreshold}
      rollThreshold: ${o.rollThreshold}
      minRdbs: 1
      maxRdbs: ${o.maxRdbs}${o.idleInstanceGraceSeconds !== undefined ? `\n      idleInstanceGraceSeconds: ${o.idleInstanceGraceSeconds}` : ''}${o.scaleOut ? `\n      scaleOut: { policy: ${o.scaleOut.policy}${o.scaleOut.leadTimeMargin !== undefined ? `, leadTimeMargin: ${o.scaleOut.leadTimeMargin}` : ''} }` : ''}${o.gateway ? '\n  gateway:\n    enabled: true' : ''}
  storage:
    efs:
      fileSystemId: ${fileSystemId}
`;
};

/** Runs the day and returns what happened; throws only when the stack itself fails. */
export const runTradingDay = async (o: DayOptions): Promise<{ summary: DaySummary; samples: Sample[] }> => {
  const say = o.progress ?? (() => undefined);
  mkdirSync(o.outDir, { recursive: true });
  const aws = readStackAws();
  const rdbGroup = aws.nodeGroups.rdb.asgName;
  const asg = new autoscaling.AutoScalingClient(awsClientConfig('moto'));
  const kc = adminKubeConfig();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const memBytes = o.rdbMemoryMi * 1024 * 1024;

  say('installing the Helm chart (CRD, RBAC, operator pod on the system node group)');
  await installOperator('kdb-system', [o.namespace]);
  const callMark = (await calls(0)).at(-1)?.seq ?? 0;
  await applyYaml(clusterYaml(o, aws.efsFileSystemId));
  say(`applied KdbCluster ${o.namespace}/${o.cluster}`);

  // Every change of every RDB pod, as it happens.
  const pods = new Map<string, PodRecord>();
  const nodeInstance = new Map<string, string>();
  const observePod = (type: string, pod: k8s.V1Pod): void => {
    const name = pod.metadata?.name ?? '';
    const rec = pods.get(name) ?? { name, flushedDays: [], dayFlushedAt: {}, rows: 0, memoryPercent: 0 };
    pods.set(name, rec);
    if (pod.spec?.nodeName) rec.node = pod.spec.nodeName;
    if (pod.status?.podIP) rec.ip = pod.status.podIP;
    const ann = pod.metadata?.annotations ?? {};
    const reportedAt = ann[`${KDB_GROUP}/reported-at`] ? Date.parse(ann[`${KDB_GROUP}/reported-at`]!) : Date.now();
    const mem = Number(ann[`${KDB_GROUP}/memory-percent`] ?? 0);
    rec.memoryPercent = mem;
    const summary = ann[`${KDB_GROUP}/rdb-status`] ? (JSON.parse(ann[`${KDB_GROUP}/rdb-status`]!) as { state: string; day: string; rows: number; flushedDays: string[] }) : undefined;
    if (summary) {
      rec.state = summary.state;
      rec.day = summary.day;
      rec.rows = summary.rows;
      rec.flushedDays = summary.flushedDays;
      for (const d of summary.flushedDays) rec.dayFlushedAt[d] ??= reportedAt;
    }
    const cond = (t: string) => pod.status?.conditions?.find((c) => c.type === `${KDB_GROUP}/${t}`)?.status === 'True';
    if (summary?.state === 'queued' && rec.queuedAt === undefined) rec.queuedAt = reportedAt;
    if (cond('Live') && rec.liveAt === undefined) rec.liveAt = reportedAt;
    if (cond('Live') && mem >= o.scaleThreshold && rec.crossedScaleAt === undefined) rec.crossedScaleAt = reportedAt;
    if (cond('DataFlushed') && rec.flushedAt === undefined) rec.flushedAt = reportedAt;
    if (type === 'DELETED') {
      rec.deleted = true;
      rec.deletedAt ??= Date.now();
    }
  };
  const podWatch = watchPods(o.namespace, `${KDB_GROUP}/role=rdb`, observePod);

  const samples: Sample[] = [];
  const start = Date.now();
  // Kill the operator once at each chosen scale-in step (of different RDBs):
  // a restarted operator must finish the chain without a second terminate.
  const killAt = new Set(o.chaos?.killOperatorAtScaleInSteps ?? []);
  const seenSteps = new Set<string>();
  const operatorKills: string[] = [];
  type ChainStep = { step?: string; rdb?: string; instanceId?: string };
  const onScaleInStep = async (key: string, step: string): Promise<void> => {
    if (seenSteps.has(key)) return;
    seenSteps.add(key);
    if (!killAt.has(step)) return;
    killAt.delete(step);
    operatorKills.push(key);
    say(`chaos: killing the operator during scale-in step ${key}`);
    await kubectl('-n', 'kdb-system', 'delete', 'pod', '-l', 'app.kubernetes.io/name=kdb-operator', '--grace-period=0', '--force', '--wait=false');
  };
  if (o.chaos?.awsThrottleRate) {
    await setFaults({ throttleRate: o.chaos.awsThrottleRate, services: ['autoscaling'] });
    say(`chaos: ${o.chaos.awsThrottleRate * 100}% of Auto Scaling calls throttled`);
  }
  const sample = async (): Promise<Sample> => {
    const g = (await asg.send(new autoscaling.DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [rdbGroup] }))).AutoScalingGroups?.[0];
    const nodes = await core.listNode();
    for (const n of nodes.items) {
      const id = n.spec?.providerID?.split('/').at(-1);
      if (id && n.metadata?.name) nodeInstance.set(n.metadata.name, id);
    }
    const kdb = (await custom.getNamespacedCustomObject({ group: KDB_GROUP, version: 'v1alpha1', namespace: o.namespace, plural: 'kdbclusters', name: o.cluster })) as {
      status?: { phase?: string; liveRdb?: string; rdbCount?: number; pools?: { scaleIn?: ChainStep; scaleIns?: ChainStep[] }[] };
    };
    // Every chain in flight (scaleIns), or the single scaleIn of an operator older than parallel scale-ins.
    const pool0 = kdb.status?.pools?.[0];
    for (const step of [...(pool0?.scaleIns ?? []), ...(pool0?.scaleIn ? [pool0.scaleIn] : [])]) {
      if (step.step) await onScaleInStep(`${step.rdb ?? `idle instance ${step.instanceId}`}/${step.step}`, step.step);
    }
    const alive = [...pods.values()].filter((p) => !p.deleted);
    const s: Sample = {
      t: Date.now() - start,
      at: Date.now(),
      desired: g?.DesiredCapacity ?? 0,
      inService: g?.Instances?.filter((i) => i.LifecycleState === 'InService').length ?? 0,
      rdbs: alive.length,
      usedBytes: alive.reduce((a, p) => a + (p.memoryPercent * memBytes) / 100, 0),
      phase: kdb.status?.phase ?? '',
      live: kdb.status?.liveRdb ?? '',
    };
    samples.push(s);
    return s;
  };
  let sampling = true;
  let lastLine = '';
  const sampler = (async () => {
    while (sampling) {
      const s = await sample().catch(() => undefined);
      if (s) {
        const line = `phase=${s.phase || '-'} live=${s.live || '-'} rdbs=${s.rdbs} desired=${s.desired} inService=${s.inService} memory=${(s.usedBytes / 2 ** 20).toFixed(0)}Mi rows=${[...pods.values()].filter((p) => !p.deleted).reduce((a, p) => a + p.rows, 0)}`;
        if (line !== lastLine) say(`[${(s.t / 1000).toFixed(1)}s] ${line}`);
        lastLine = line;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  })();

  const plan = o.chaos?.plan;
  let chaos: ChaosRun | undefined;
  let forward: Forward | undefined;
  // Under chaos everything waits longer: a pod on a terminated instance is gone only when podgc deletes it (about 60 s).
  const slack = plan ? 3 : 1;
  try {
    const tpPod = `${o.cluster}-tickerplant-0`;
    const tickerplantIp = () => waitFor('the tickerplant pod to be Ready', async () => {
      const p = await core.readNamespacedPod({ name: tpPod, namespace: o.namespace });
      return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') && !p.metadata?.deletionTimestamp ? p.status?.podIP : undefined;
    }, 180_000);
    const tpIp = await tickerplantIp();
    await waitFor('the first RDB to go live', async () => [...pods.values()].some((p) => p.liveAt !== undefined), 180_000);
    say(`tickerplant at ${tpIp}:5010, first RDB live; feeding ${o.rows} rows over ${o.dayMs / 1000}s`);

    // A replaced tickerplant pod has a new IP: under chaos the feed dials a
    // fixed address that follows the pod, as its Service would on EKS.
    let feedHost = tpIp;
    let feedPort = 5010;
    if (plan) {
      forward = await forwardTo(async () => ({ host: await tickerplantIp(), port: 5010 }));
      feedHost = forward.host;
      feedPort = forward.port;
      chaos = startChaos(plan, { namespace: o.namespace, cluster: o.cluster, dayMs: o.dayMs, aws, pods, kubectl, say });
    }
    const reportFile = join(o.outDir, 'feed-report.json');
    await run(process.execPath, [join(repoRoot, 'images/sim/src/main.ts'), 'feed', '--host', feedHost, '--port', String(feedPort),
      '--rows', String(o.rows), '--day-ms', String(o.dayMs), '--seed', String(o.seed), '--syms', o.syms.join(','),
      '--report', reportFile], { maxBuffer: 16 << 20, ...(plan ? { timeout: o.dayMs * 3 + 180_000 } : {}) });
    const feed = JSON.parse(readFileSync(reportFile, 'utf8')) as { tickerplantDay: string; rows: number; reconnects?: number; tables: Record<string, { rows: number; checksum: string }> };
    // Ask the RDBs themselves (their query port): the agent reports rows only with a whole-percent memory move.
    const heldRows = async (): Promise<number> => {
      let n = 0;
      for (const p of [...pods.values()].filter((x) => !x.deleted && x.ip)) {
        for (const table of Object.keys(feed.tables)) {
          const res = await fetch(`http://${p.ip}:5011/count?table=${table}`).catch((e: unknown) => {
            // Under chaos a pod whose instance was terminated holds nothing until podgc deletes it.
            if (plan) return undefined;
            throw e;
          });
          if (res) n += ((await res.json()) as { rows: number }).rows;
        }
      }
      return n;
    };
    const rowsInRdbsBeforeEndOfDay = await waitFor('the RDBs to hold every row published', async () => {
      const n = await heldRows();
      return n >= feed.rows ? n : undefined;
    }, 60_000 * slack);
    say(`feed done: ${feed.rows} rows published, ${rowsInRdbsBeforeEndOfDay} held by RDBs; end of day`);

    // The day that ends is the one the tickerplant says it closed: never the
    // wall clock's date, which is the next trading day once the local time is
    // past the end-of-day time.
    const eod = await run(process.execPath, [join(repoRoot, 'images/sim/src/main.ts'), 'eod', '--host', plan ? await tickerplantIp() : tpIp, '--port', '5010']);
    const day = closedDay(JSON.parse(eod.stdout) as { day: string }, feed);
    say(`the tickerplant closed trading day ${day}`);
    await waitFor('the pool to shrink back to one RDB and one instance', async () => {
      const s = samples.at(-1);
      const alive = [...pods.values()].filter((p) => !p.deleted);
      // The one left flushed the day, or (the live RDB lost after its flush) is a later day's RDB.
      const past = alive[0] !== undefined && (alive[0].flushedDays.includes(day) || (alive[0].day !== undefined && alive[0].day > day));
      return s !== undefined && alive.length === 1 && s.desired === 1 && s.inService === 1 && past;
    }, 240_000 * slack, 250, async () => describeWorld(o, pods, samples.at(-1)));
    say('pool is back to one RDB; merging the day into the HDB');

    // The operator runs the merge once every RDB has flushed the day.
    const jobName = `${o.cluster}-merge-${day}`;
    const merged = await waitFor('the operator to merge the day into the HDB (status.merge Succeeded)', async () => {
      const k = (await custom.getNamespacedCustomObject({ group: KDB_GROUP, version: 'v1alpha1', namespace: o.namespace, plural: 'kdbclusters', name: o.cluster })) as {
        status?: { merge?: { day: string; job: string; phase: string }; mergedDay?: string };
      };
      const m = k.status?.merge;
      if (m?.day === day && m.phase === 'Failed') throw new Error(`merge Job ${m.job} failed`);
      return m?.day === day && m.phase === 'Succeeded' && k.status?.mergedDay === day ? m : undefined;
    }, 180_000 * slack);
    const job = JSON.parse(await kubectl('-n', o.namespace, 'get', 'job', merged.job, '-o', 'json')) as {
      metadata: { creationTimestamp: string; ownerReferences?: { kind: string; name: string }[] };
    };
    const marker = JSON.parse(readFileSync(join(stackDir(), 'efs', aws.efsFileSystemId, 'kdb', o.namespace, o.cluster, 'hdb', day, '.complete'), 'utf8')) as {
      slices: string[];
      tables: Record<string, { rows: number; checksum: string }>;
    };
    const flushedDay = [...pods.values()].filter((p) => p.flushedDays.includes(day));
    const mergeJob = {
      name: merged.job,
      expectedName: jobName,
      ownedBy: (job.metadata.ownerReferences ?? []).map((r) => `${r.kind}/${r.name}`),
      createdAt: job.metadata.creationTimestamp,
      lastFlushAt: new Date(Math.max(...flushedDay.map((p) => p.dayFlushedAt[day] ?? 0))).toISOString(),
      slices: marker.slices.length,
      rdbsThatFlushed: flushedDay.length,
    };
    const chaosRecord = chaos ? await chaos.stop() : { injected: [], missed: [] };
    chaos = undefined;
    for (const f of chaosRecord.injected) if (f.kind === 'operator-kill') operatorKills.push(`${f.target} at ${(f.atMs / 1000).toFixed(1)}s`);
    const kubectlGetKdb = await kubectl('-n', o.namespace, 'get', 'kdb');
    const operatorReaction = await scrapeReaction(core);
    await sample();
    const allCalls = await calls(callMark);
    const summary = summarize(o, {
      feed, marker, day, samples, pods, nodeInstance, rowsInRdbsBeforeEndOfDay,
      awsCalls: allCalls.filter((c) => c.status < 400 && c.injected === null),
      rdbGroup, memBytes, kubectlGetKdb, operatorKills, mergeJob, operatorReaction,
      throttled: allCalls.filter((c) => c.injected === 'throttle').length,
      faults: chaosRecord.injected,
      missedFaults: chaosRecord.missed,
    });
    return { summary, samples };
  } finally {
    if (chaos) await chaos.stop().catch(() => undefined);
    await forward?.close();
    if (o.chaos?.awsThrottleRate) await clearFaults().catch(() => undefined);
    sampling = false;
    await sampler;
    await podWatch.stop();
    asg.destroy();
  }
};

/** Reads the reaction histogram off the operator pod's /metrics (the simulator gives pods loopback addresses). */
const scrapeReaction = async (core: k8s.CoreV1Api): Promise<DaySummary['operatorReaction']> => {
  const empty = { out: { count: 0, meanMs: 0 }, in: { count: 0, meanMs: 0 } };
  const pods = await core.listNamespacedPod({ namespace: 'kdb-system', labelSelector: 'app.kubernetes.io/name=kdb-operator' });
  const out = structuredClone(empty);
  for (const p of pods.items.filter((x) => x.status?.phase === 'Running' && x.status.podIP)) {
    const text = await fetch(`http://${p.status!.podIP}:8080/metrics`).then((r) => r.text()).catch(() => '');
    for (const dir of ['out', 'in'] as const) {
      const num = (what: string) => Number(new RegExp(`kdb_operator_reaction_seconds_${what}\\{direction="${dir}"\\} ([0-9.e+-]+)`).exec(text)?.[1] ?? 0);
      const count = num('count');
      if (count > out[dir].count) out[dir] = { count, meanMs: Math.round((num('sum') / count) * 1000) };
    }
  }
  return out;
};

export const stackIsUp = (): boolean => existsSync(join(stackDir(), 'aws.json')) && existsSync(kubeconfig());
