/**
 * One operator for many KdbClusters, measured on the real API server.
 *   node bench/scale.ts                        (SCALE_CLUSTERS=1,50,200 SCALE_RDBS=10)
 *
 * For each cluster count N: a fresh local stack whose pods run no process
 * (node simulator KDB_SIM_PROCESSES=none: nodes join from moto's ASGs and
 * heartbeat, pods are bound by the real scheduler and reported running), an
 * ASG per cluster's pool, N KdbClusters of one pool of up to SCALE_RDBS RDBs,
 * and the operator as a process of its own (`node operator/src/main.ts
 * operator`, AWS through the fault injector). A load generator plays every
 * RDB and its agent (bench/scale/agents.ts: the agent's report rules, its two
 * writes): each cluster's day fills the live RDB, crosses the scale
 * threshold, rolls to the queued RDB, until the pool holds SCALE_RDBS RDBs;
 * then end of day: every rolled RDB reports flushed at once.
 *
 * Phases: setup (every cluster has its live RDB), rest (SCALE_REST_S,
 * nothing changes), then, unless SCALE_UNTIL=rest, day, end of day (until every flushed RDB's instance is
 * terminated). Printed per N: the operator's resident memory and CPU; scale-out
 * reaction (a report at the scale threshold to the SetDesiredCapacity call for
 * its group, from the fault injector's log), scale-in reaction (flushed report
 * to the TerminateInstanceInAutoScalingGroup naming its instance), the
 * Kubernetes-only reaction (a new live RDB's report to the KdbCluster status
 * naming it, as seen by a watch); API requests per second by verb; AWS calls
 * per minute by operation at rest and during the day; the work queue's depth
 * and longest wait; and the seed's path (the AWS CLI reading and setting
 * desired capacity after the paper's 500 ms monitor period) against the
 * operator's scale-out median. Also written to out/bench/scale-<N>.json.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createKubeClient, Resources, type KubeApi, type KubeObject, type V1Pod } from '../operator/src/kube/index.ts';
import { farEndOfDay } from '../test/e2e/day-clock.ts';
import { binDir } from '../test/e2e/trading-day.ts';
import { imageEnv, loadImages, resolveArgv } from '../test/nodesim/images.ts';
import { readStackAws, stackDir } from '../test/lib/stack.ts';
import { LoadGenerator, type RdbSim } from './scale/agents.ts';
import { CallLog, rates, scrape, stats, type Sample } from './scale/measure.ts';
import { freshStack, seedGroups, TP_GROUP } from './scale/stack.ts';
import { fmt, freePort, median, REPO } from './lib.ts';

const run = promisify(execFile);
const CLUSTERS = (process.env.SCALE_CLUSTERS ?? '1,50,200').split(',').map(Number);
const RDBS = Number(process.env.SCALE_RDBS ?? 10);
const TICK_MS = Number(process.env.SCALE_TICK_MS ?? 2000);
const STEP = Number(process.env.SCALE_STEP ?? 10);
const REST_S = Number(process.env.SCALE_REST_S ?? 60);
const SEED_RUNS = Number(process.env.SCALE_SEED_RUNS ?? 5);
/** `rest` stops after the rest phase: memory, CPU and AWS reads of N idle clusters, when the machine cannot play their day. */
const UNTIL = process.env.SCALE_UNTIL ?? 'end-of-day';
if (UNTIL !== 'rest' && UNTIL !== 'end-of-day') throw new Error(`SCALE_UNTIL must be rest or end-of-day, got "${UNTIL}"`);
const SCALE = 60;
const ROLL = 80;
const NS = 'scale-bench';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const progress = (s: string) => process.stderr.write(`\r\x1b[K${s}`);
const done = (s: string) => process.stderr.write(`\r\x1b[K${s}\n`);

const waitUntil = async (what: string, ms: number, check: () => boolean | Promise<boolean>, line: () => string): Promise<boolean> => {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) {
      done(`${what}: not reached in ${ms / 1000} s (${line()})`);
      return false;
    }
    progress(`${what}: ${line()}`);
    await sleep(500);
  }
};

interface ClusterStatus {
  metadata?: { name?: string };
  status?: { pools?: Array<{ name: string; live?: string }> };
}

/** The entry without a role loads every static import and exits, writing Node's compile cache on the way out. */
const warmCompileCache = async (argv: string[], env: Record<string, string>): Promise<void> => {
  if (!env.NODE_COMPILE_CACHE) return;
  await new Promise<void>((resolve) => {
    const p = spawn(process.execPath, argv.slice(0, -1), { cwd: REPO, env: { ...process.env, ...env }, stdio: 'ignore' });
    p.once('exit', () => resolve());
    p.once('error', () => resolve());
  });
};

/** The operator's own log goes to out/bench/operator-<N>.log, at SCALE_LOG_LEVEL (default warn: info costs it CPU the bench measures). */
const startOperator = async (metricsPort: number, logFile: string): Promise<ChildProcess> => {
  const aws = readStackAws();
  // Exactly as the image runs it (its ENTRYPOINT, V8 flags included), from the node simulator's image map.
  const images = loadImages();
  const image = 'ghcr.io/kdb-operator/operator:bench';
  const [, ...argv] = resolveArgv(images, image, undefined, ['operator']);
  const env = imageEnv(images, image);
  // The image ships its compile cache warm (images/operator/Dockerfile); warm the checkout's the same way.
  await warmCompileCache(argv, env);
  const op = spawn(process.execPath, argv, {
    cwd: REPO,
    env: {
      ...process.env,
      ...env,
      KUBECONFIG: join(stackDir(), 'kubeconfig'),
      KDB_EKS_CLUSTER_NAME: aws.clusterName,
      KDB_LEADER_ELECTION: 'false',
      KDB_METRICS_PORT: String(metricsPort),
      POD_IP: '127.0.0.1',
      LOG_LEVEL: process.env.SCALE_LOG_LEVEL ?? 'warn',
    },
    stdio: ['ignore', openSync(logFile, 'w'), 'pipe'],
  });
  let err = '';
  op.stderr!.on('data', (d) => (err = (err + String(d)).slice(-4000)));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (op.exitCode !== null) throw new Error(`the operator exited (${op.exitCode}): ${err}`);
    if (await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.ok, () => false)) return op;
    if (Date.now() > deadline) throw new Error(`the operator's /metrics did not answer in 60 s: ${err}`);
    await sleep(200);
  }
};

const clusterBody = (i: number, nodeGroup: string, fileSystemId: string) => ({
  apiVersion: 'kdb-operator.dev/v1alpha1',
  kind: 'KdbCluster',
  metadata: { name: `c${i}`, namespace: NS },
  spec: {
    tickerplant: {
      nodeGroup: TP_GROUP,
      resources: { requests: { memory: '64Mi', cpu: '10m' } },
      // Far from now whatever the hour: only the bench's end of day happens.
      endOfDay: { time: farEndOfDay(new Date()), timeZone: 'UTC' },
    },
    rdbPools: [{ name: 'main', nodeGroup, memory: '256Mi', minRdbs: 1, maxRdbs: RDBS, scaleThreshold: SCALE, rollThreshold: ROLL }],
    storage: { efs: { fileSystemId } },
    merge: { enabled: false },
  },
});

/** The seed's path: a 500 ms monitor notices the threshold, then the AWS CLI reads desired capacity and sets it one higher. */
const seedPath = async (aws: string, group: string): Promise<number[]> => {
  const out: number[] = [];
  const cli = (...args: string[]) => run(aws, args, { env: { ...process.env, AWS_PAGER: '' } });
  for (let r = 0; r < SEED_RUNS; r++) {
    const crossed = Date.now() + Math.random() * 500;
    // The monitor's timer has its own phase: it sees the crossing at its next tick.
    const phase = Date.now();
    let tick = phase;
    while (tick < crossed) tick += 500;
    await sleep(tick - Date.now());
    try {
      const { stdout } = await cli('autoscaling', 'describe-auto-scaling-groups', '--auto-scaling-group-names', group, '--query', 'AutoScalingGroups[0].DesiredCapacity', '--output', 'text');
      await cli('autoscaling', 'set-desired-capacity', '--auto-scaling-group-name', group, '--desired-capacity', String(Number(stdout.trim()) + 1));
      out.push(Math.round(Date.now() - crossed));
      await cli('autoscaling', 'set-desired-capacity', '--auto-scaling-group-name', group, '--desired-capacity', stdout.trim());
    } catch (e) {
      // moto answers 500 under the load of the larger runs: a failed run of the seed's path is counted, not fatal to the figures.
      done(`seed path run ${r + 1} failed: ${String((e as { stderr?: string }).stderr ?? (e as Error).message).trim().split('\n')[0]}`);
    }
  }
  return out;
};

/** The AWS CLI from PyPI in a venv of its own (.bench-venv, the bench's only use of it), made once. */
const awsCli = async (): Promise<string> => {
  const venv = join(REPO, '.bench-venv');
  const bin = join(venv, 'bin', 'aws');
  if (!existsSync(bin)) {
    done('installing the AWS CLI (awscli from PyPI) into .bench-venv');
    await run('python3', ['-m', 'venv', venv]);
    await run(join(venv, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', `awscli==${AWSCLI_VERSION}`]);
  }
  return bin;
};
const AWSCLI_VERSION = '1.46.3';

const measure = async (n: number) => {
  done(`== ${n} KdbClusters x ${RDBS} RDBs`);
  freshStack();
  done('stack up (pods run no process)');
  const aws = readStackAws();
  const groups = await seedGroups(n, RDBS);
  done(`seeded ${n} node groups`);
  // The CRD as the chart installs it (the bench runs the operator as a process, not the chart's pod).
  const kubectl = join(await binDir(), 'kubectl');
  await run(kubectl, ['--kubeconfig', join(stackDir(), 'kubeconfig'), 'apply', '--server-side', '-f', join(REPO, 'charts/kdb-operator/crds/kdbclusters.yaml')]);
  await run(kubectl, ['--kubeconfig', join(stackDir(), 'kubeconfig'), 'wait', '--for=condition=Established', 'crd/kdbclusters.kdb-operator.dev', '--timeout=60s']);
  const kube = createKubeClient({ kubeconfigPath: join(stackDir(), 'kubeconfig'), qps: 2000, burst: 4000 });
  const api: KubeApi = kube.api;
  await api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } } as KubeObject);
  await api.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'kdb-rdb-agent', namespace: NS } } as KubeObject);

  const metricsPort = await freePort();
  mkdirSync(join(REPO, 'out', 'bench'), { recursive: true });
  const op = await startOperator(metricsPort, join(REPO, 'out', 'bench', `operator-${n}.log`));
  // However the bench ends (a failure, Ctrl-C), its operator goes with it: one left running
  // reconciles the next run's clusters beside that run's own operator.
  const stopOperator = () => op.exitCode === null && op.kill('SIGKILL');
  process.once('exit', stopOperator);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));
  done(`operator up (metrics on :${metricsPort})`);
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  const samples: Sample[] = [];
  const sampler = setInterval(() => void scrape(metricsUrl).then((s) => samples.push(s), () => undefined), 5000);
  const sampleNow = async () => {
    const s = await scrape(metricsUrl);
    samples.push(s);
    return s;
  };

  const gen = new LoadGenerator(api, NS, { scale: SCALE, roll: ROLL, step: STEP, maxRdbs: RDBS });
  const pods = kube.informer<V1Pod>({ resource: Resources.Pod, namespace: NS, labelSelector: 'kdb-operator.dev/role=rdb' });
  pods.onAdd((p) => gen.onPod('ADDED', p)).onUpdate((p) => gen.onPod('MODIFIED', p)).onDelete((p) => gen.onPod('DELETED', p));
  // The Kubernetes-only reaction: when the status first names a new live RDB.
  const liveSeen = new Map<string, number>();
  const clusters = kube.informer<KubeObject & ClusterStatus>({ resource: Resources.KdbCluster, namespace: NS });
  const onCluster = (c: ClusterStatus) => {
    const live = c.status?.pools?.find((p) => p.name === 'main')?.live;
    if (live && !liveSeen.has(live)) liveSeen.set(live, Date.now());
  };
  clusters.onAdd(onCluster).onUpdate(onCluster);
  pods.start();
  clusters.start();
  await Promise.all([pods.waitForSync(), clusters.waitForSync()]);

  const callLog = new CallLog();
  const t0 = Date.now();
  for (let i = 0; i < n; i += 20) {
    await Promise.all(Array.from({ length: Math.min(20, n - i) }, (_, k) => api.create(clusterBody(i + k, groups.nodeGroup(i + k), aws.efsFileSystemId) as KubeObject)));
  }
  // Setup: each cluster's first RDB runs and goes live (the generator plays the tickerplant's part).
  const tickAll = async () => {
    for (let i = 0; i < n; i++) void gen.tick(i);
  };
  const liveCount = () => Array.from({ length: n }, (_, i) => gen.poolOf(i).some((r) => r.state === 'live')).filter(Boolean).length;
  let setupOk = await waitUntil('setup', 300_000 + n * 3000, async () => {
    for (let i = 0; i < n; i++) if (!gen.poolOf(i).some((r) => r.state === 'live')) void gen.tick(i);
    return liveCount() === n;
  }, () => `${liveCount()}/${n} clusters live, ${gen.rdbs.size} RDBs, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  const setupS = (Date.now() - t0) / 1000;
  done(`setup: ${liveCount()}/${n} clusters with a live RDB in ${setupS.toFixed(0)} s`);

  // Rest: nothing changes; what does the operator still do?
  const restFrom = await sampleNow();
  const restStart = Date.now();
  await waitUntil('rest', REST_S * 1000 + 1000, () => Date.now() - restStart >= REST_S * 1000, () => `${((Date.now() - restStart) / 1000).toFixed(0)}/${REST_S} s`);
  const restTo = await sampleNow();
  const restCalls = callLog.since(restStart).filter((c) => Date.parse(c.time) < restTo.t);

  // The day: every cluster fills and rolls until it holds RDBS RDBs.
  let dayFrom = restTo;
  let dayTo = restTo;
  let eodTo = restTo;
  let dayOk: boolean | 'skipped' = 'skipped';
  let eodOk: boolean | 'skipped' = 'skipped';
  let dayCalls: typeof restCalls = [];
  let flushed: RdbSim[] = [];
  if (UNTIL === 'end-of-day') {
    const dayStart = Date.now();
    dayFrom = await sampleNow();
    const full = () => Array.from({ length: n }, (_, i) => gen.poolOf(i).length >= RDBS && gen.poolOf(i).some((r) => r.state === 'live')).filter(Boolean).length;
    const ticker = setInterval(() => void tickAll(), TICK_MS);
    // Each RDB fills in ceil(roll/step) ticks, then waits for its successor's node: twice that per RDB bounds a cluster's day.
    const dayBoundMs = 120_000 + RDBS * (Math.ceil(ROLL / STEP) + 1) * TICK_MS * 2 + n * 1500;
    dayOk = await waitUntil('day', dayBoundMs, () => full() === n, () => `${full()}/${n} clusters at ${RDBS} RDBs, ${gen.rdbs.size} RDBs, ${fmt(gen.writes.length)} agent writes, ${((Date.now() - dayStart) / 1000).toFixed(0)} s`);
    clearInterval(ticker);
    await waitUntil('agent writes to settle', 30_000, () => gen.inFlight === 0, () => `${gen.inFlight} in flight`);
    dayTo = await sampleNow();
    dayCalls = callLog.since(dayStart).filter((c) => Date.parse(c.time) < dayTo.t);
    done(`day: ${full()}/${n} clusters at ${RDBS} RDBs in ${((dayTo.t - dayStart) / 1000).toFixed(0)} s`);

    // End of day: every rolled RDB of every cluster reports flushed at once.
    const nodes = await api.list<KubeObject & { spec?: { providerID?: string } }>({ ...Resources.Node });
    const instanceOfNode = new Map(nodes.items.map((x) => [x.metadata?.name ?? '', (x.spec?.providerID ?? '').split('/').pop() ?? '']));
    const eodStart = Date.now();
    const flushedCounts = await Promise.all(Array.from({ length: n }, (_, i) => gen.flushAll(i)));
    flushed = [...gen.rdbs.values()].filter((r) => r.state === 'flushed');
    for (const r of flushed) r.instanceId = instanceOfNode.get(r.node ?? '') ?? '';
    const terminated = () => {
      const ids = new Set(callLog.since(eodStart).filter((c) => c.operation === 'TerminateInstanceInAutoScalingGroup' && c.status < 400).map((c) => String(c.params.InstanceId)));
      return flushed.filter((r) => ids.has(r.instanceId ?? '')).length;
    };
    eodOk = await waitUntil('end of day', 120_000 + flushed.length * 2000, () => terminated() === flushed.length, () => `${terminated()}/${flushed.length} flushed RDBs' instances terminated, ${((Date.now() - eodStart) / 1000).toFixed(0)} s`);
    eodTo = await sampleNow();
    done(`end of day: ${terminated()}/${flushed.length} instances terminated in ${((eodTo.t - eodStart) / 1000).toFixed(0)} s (${flushedCounts.reduce((a, b) => a + b, 0)} flushed reports)`);
  }

  // Reactions, from the fault injector's log and the generator's report times.
  const calls = callLog.since(t0).filter((c) => c.status < 400 && c.injected === null);
  const setDesired = calls.filter((c) => c.operation === 'SetDesiredCapacity').map((c) => ({ t: Date.parse(c.time), group: String(c.params.AutoScalingGroupName) }));
  const scaleOut: number[] = [];
  for (const r of gen.rdbs.values()) {
    const crossing = r.reports.find((x) => x.state === 'live' && x.percent >= SCALE);
    if (!crossing) continue;
    const call = setDesired.find((c) => c.group === groups.rdbGroup(r.cluster) && c.t >= crossing.at);
    if (call) scaleOut.push(call.t - crossing.at);
  }
  const terminate = new Map(calls.filter((c) => c.operation === 'TerminateInstanceInAutoScalingGroup').map((c) => [String(c.params.InstanceId), Date.parse(c.time)]));
  const scaleIn: number[] = [];
  for (const r of flushed) {
    const at = r.reports.find((x) => x.state === 'flushed')?.at;
    const t = terminate.get(r.instanceId ?? '');
    if (at !== undefined && t !== undefined) scaleIn.push(t - at);
  }
  const kubeOnly: number[] = [];
  for (const r of gen.rdbs.values()) {
    const at = r.reports.find((x) => x.state === 'live')?.at;
    const seen = liveSeen.get(r.pod);
    if (at !== undefined && seen !== undefined && seen >= at) kubeOnly.push(seen - at);
  }

  // The seed's path against the same moto, while this stack holds N groups.
  const seed = await seedPath(await awsCli(), groups.rdbGroup(0));

  clearInterval(sampler);
  await pods.stop();
  await clusters.stop();
  const exited = new Promise((r) => op.once('exit', r));
  op.kill('SIGTERM');
  await exited;

  const all = samples.sort((a, b) => a.t - b.t);
  const cpuPct = (a: Sample, b: Sample) => (b.t > a.t ? +((100 * (b.cpuSeconds - a.cpuSeconds)) / ((b.t - a.t) / 1000)).toFixed(1) : null);
  const perMinute = (cs: typeof calls, seconds: number) => {
    const out: Record<string, number> = {};
    for (const c of cs) out[c.operation] = (out[c.operation] ?? 0) + 1;
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, +((v * 60) / seconds).toFixed(1)]));
  };
  const restS = (restTo.t - restFrom.t) / 1000;
  const dayS = (dayTo.t - dayFrom.t) / 1000;
  const result = {
    clusters: n,
    rdbsPerCluster: RDBS,
    reached: { setup: setupOk, day: dayOk, endOfDay: eodOk },
    rdbPods: gen.rdbs.size,
    agentWrites: gen.writes.length,
    agentWriteErrors: gen.errors,
    agentWriteMs: stats(gen.writes.map((w) => w.ms)),
    setupSeconds: +setupS.toFixed(1),
    operator: {
      rssMb: { median: +(median(all.map((s) => s.rssBytes)) / 2 ** 20).toFixed(1), max: +(Math.max(...all.map((s) => s.rssBytes)) / 2 ** 20).toFixed(1), end: +(all.at(-1)!.rssBytes / 2 ** 20).toFixed(1) },
      cpuPercent: { rest: cpuPct(restFrom, restTo), day: cpuPct(dayFrom, dayTo), endOfDay: cpuPct(dayTo, eodTo) },
      kubeRequestsPerSecond: { rest: rates(restFrom.kubeRequests, restTo.kubeRequests, restS), day: dayS > 0 ? rates(dayFrom.kubeRequests, dayTo.kubeRequests, dayS) : {} },
      queue: { maxDepth: Math.max(...all.map((s) => s.queueDepth)), longestWaitSeconds: all.some((s) => s.longestWaitSeconds !== undefined) ? Math.max(...all.map((s) => s.longestWaitSeconds ?? 0)) : 'not exported' },
    },
    awsCallsPerMinute: { rest: perMinute(restCalls, restS), day: perMinute(dayCalls, dayS) },
    describePerGroupPerMinuteAtRest: +((restCalls.filter((c) => c.operation === 'DescribeAutoScalingGroups').length * 60) / restS / n).toFixed(2),
    reactionMs: { scaleOut: stats(scaleOut), scaleIn: stats(scaleIn), kubernetesWrite: stats(kubeOnly) },
    seedPathMs: stats(seed),
    seedOverOperatorScaleOut: +(median(seed) / median(scaleOut)).toFixed(1),
  };
  mkdirSync(join(REPO, 'out', 'bench'), { recursive: true });
  writeFileSync(join(REPO, 'out', 'bench', `scale-${n}.json`), `${JSON.stringify(result, null, 2)}\n`);
  return result;
};

const results: Array<Awaited<ReturnType<typeof measure>>> = [];
for (const n of CLUSTERS) {
  const r = await measure(n);
  results.push(r);
  console.log(JSON.stringify(r, null, 2));
}

const row = (label: string, f: (r: (typeof results)[number]) => string) => console.log(`${label.padEnd(44)}${results.map((r) => f(r).padStart(22)).join('')}`);
console.log(`\n${''.padEnd(44)}${results.map((r) => `${r.clusters} x ${r.rdbsPerCluster}`.padStart(22)).join('')}`);
row('operator resident MB (median / max)', (r) => `${r.operator.rssMb.median} / ${r.operator.rssMb.max}`);
row('operator CPU % (rest / day / end of day)', (r) => `${r.operator.cpuPercent.rest} / ${r.operator.cpuPercent.day} / ${r.operator.cpuPercent.endOfDay}`);
row('scale-out ms p50 / p99 / max', (r) => `${r.reactionMs.scaleOut.p50} / ${r.reactionMs.scaleOut.p99} / ${r.reactionMs.scaleOut.max}`);
row('scale-in ms p50 / p99 / max', (r) => `${r.reactionMs.scaleIn.p50} / ${r.reactionMs.scaleIn.p99} / ${r.reactionMs.scaleIn.max}`);
row('Kubernetes-write ms p50 / p99 / max', (r) => `${r.reactionMs.kubernetesWrite.p50} / ${r.reactionMs.kubernetesWrite.p99} / ${r.reactionMs.kubernetesWrite.max}`);
row('Describe per group per minute at rest', (r) => String(r.describePerGroupPerMinuteAtRest));
row('API requests/s at rest', (r) => Object.entries(r.operator.kubeRequestsPerSecond.rest).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(' ') || '0');
row('API requests/s during the day', (r) => Object.entries(r.operator.kubeRequestsPerSecond.day).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(' ') || '0');
row('work queue max depth / longest wait s', (r) => `${r.operator.queue.maxDepth} / ${r.operator.queue.longestWaitSeconds}`);
row('seed path ms (median)', (r) => String(r.seedPathMs.p50));
row('seed / operator scale-out (medians)', (r) => String(r.seedOverOperatorScaleOut));
console.log('\n(the stack stays up for a look: make down stops it)');
