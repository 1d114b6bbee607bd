// Carries out a chaos plan (chaos.ts) on the local stack while a trading day
// runs, and records what it actually injected, when, and on what. Each fault
// waits for its time, then for a target (an RDB that has rolled, say), and
// strikes once; a fault whose target never appears is recorded as missed.
import { autoscaling, awsClientConfig, ec2 } from '../lib/aws.ts';
import { clearFaults, setFaults } from '../lib/faults.ts';
import { nodeReady, stopHeartbeat, type Silence } from '../lib/heartbeat.ts';
import { adminKubeConfig, k8s } from '../lib/kube.ts';
import type { StackAws } from '../lib/stack.ts';
import { operatorDwellMs, pickTarget, type ChaosPlan, type FaultKind, type InjectedFault, type MissedFault, type ScheduledFault } from './chaos.ts';
import type { PodRecord } from './verdicts.ts';

export interface ChaosContext {
  namespace: string;
  cluster: string;
  dayMs: number;
  aws: StackAws;
  /** The RDB pods as the day's watch sees them. */
  pods: Map<string, PodRecord>;
  kubectl: (...args: string[]) => Promise<string>;
  say: (line: string) => void;
}

export interface ChaosRun {
  /** Waits for faults in progress (a silenced node is resumed), gives up on the rest, clears the AWS faults. */
  stop: () => Promise<{ injected: InjectedFault[]; missed: MissedFault[] }>;
}

/** How long a silenced node stays silent once the control plane has marked it NotReady. */
const SILENT_AFTER_NOT_READY_MS = 15_000;
/** AWS's EC2 health check notices a terminated instance after a while; the stand-in waits this long. */
const HEALTH_CHECK_DELAY_MS = 5_000;
const OPERATOR_LEASE = { namespace: 'kdb-system', name: 'kdb-operator-leader' };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

export const startChaos = (plan: ChaosPlan, ctx: ChaosContext): ChaosRun => {
  const t0 = Date.now();
  const kc = adminKubeConfig();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const coord = kc.makeApiClient(k8s.CoordinationV1Api);
  /** When the harness first saw each pod hold the operator's lease. */
  const leaderSince = new Map<string, number>();
  const leader = async (): Promise<string | undefined> => {
    const holder = (await coord.readNamespacedLease(OPERATOR_LEASE)).spec?.holderIdentity;
    if (!holder) return undefined;
    const pod = await core.readNamespacedPod({ name: holder, namespace: OPERATOR_LEASE.namespace }).catch(() => undefined);
    if (!pod || !running(pod)) return undefined;
    if (!leaderSince.has(holder)) leaderSince.set(holder, Date.now());
    return holder;
  };
  /** What a missed operator kill saw: who the Lease names, and each operator pod's phase and readiness. */
  const leaseDiagnosis = async (): Promise<string> => {
    const lease = await coord.readNamespacedLease(OPERATOR_LEASE).catch(() => undefined);
    const pods = await core.listNamespacedPod({ namespace: OPERATOR_LEASE.namespace }).catch(() => undefined);
    const seen = (pods?.items ?? []).map((p) => `${p.metadata?.name} ${p.status?.phase}${p.metadata?.deletionTimestamp ? ' deleting' : ''}${p.status?.containerStatuses?.[0]?.restartCount ? ` restarts=${p.status.containerStatuses[0].restartCount}` : ''}`);
    const renew = lease?.spec?.renewTime ? new Date(lease.spec.renewTime as unknown as string).toISOString() : '-';
    return `lease holder ${lease?.spec?.holderIdentity ?? '(none)'}, renewed ${renew}; pods: ${seen.join(', ') || '(none)'}`;
  };
  const ec2c = new ec2.EC2Client(awsClientConfig('injector'));
  // AWS's own side (the ASG replacing an unhealthy instance) goes to moto directly, not through the operator's endpoint.
  const asgMoto = new autoscaling.AutoScalingClient(awsClientConfig('moto'));
  const injected: InjectedFault[] = [];
  const missed: MissedFault[] = [];
  const struck = new Set<string>();
  const silences: Silence[] = [];
  let stopping = false;
  let throttled = false;
  const elapsed = () => Date.now() - t0;

  const record = (f: ScheduledFault, extra: Partial<InjectedFault>): InjectedFault => {
    const r: InjectedFault = { kind: f.kind, scheduledAtMs: f.atMs, at: new Date().toISOString(), atMs: elapsed(), ...extra };
    injected.push(r);
    ctx.say(`chaos [${(r.atMs / 1000).toFixed(1)}s]: ${f.kind}${r.target ? ` ${r.target}` : ''}${r.instanceId ? ` (${r.instanceId})` : ''}${r.detail ? `: ${r.detail}` : ''}`);
    return r;
  };

  /** Polls for a target until found, the deadline passes or the day stops. */
  const awaitTarget = async <T>(find: () => Promise<T | undefined>, deadline: number): Promise<T | undefined> => {
    while (!stopping && Date.now() < deadline) {
      const t = await find().catch(() => undefined);
      if (t !== undefined) return t;
      await sleep(250);
    }
    return undefined;
  };

  const running = (p: k8s.V1Pod) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp;
  const forceDelete = (namespace: string, pod: string) =>
    ctx.kubectl('-n', namespace, 'delete', 'pod', pod, '--grace-period=0', '--force', '--wait=false');
  const instanceOf = async (node: string): Promise<string> => {
    const id = (await core.readNode({ name: node })).spec?.providerID?.split('/').at(-1);
    if (!id?.startsWith('i-')) throw new Error(`node ${node} has no EC2 instance in its providerID`);
    return id;
  };
  // Struck: pods killed and nodes whose instance was terminated (their pods linger until podgc).
  const rdbs = (ok: (p: PodRecord) => boolean) => [...ctx.pods.values()].filter((p) => !p.deleted && p.node && !struck.has(p.name) && !struck.has(p.node) && ok(p));
  // A silenced node's pods stay fair game for pod kills, but its instance is not terminated: that would end the silence before it is noticed.
  const silenced = new Set<string>();
  const tickerplant = async () => {
    const p = await core.readNamespacedPod({ name: `${ctx.cluster}-tickerplant-0`, namespace: ctx.namespace });
    return running(p) && p.spec?.nodeName && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? p : undefined;
  };

  /**
   * EC2 TerminateInstances through the operator's endpoint (so the call log
   * has it). AWS then notices, by the ASG's EC2 health check, an instance no
   * longer running, takes it out of the group and launches a replacement at
   * the same desired capacity. moto 5.2.5 does that itself, at once, inside
   * TerminateInstances (autoscaling's notify_terminate_instances; measured,
   * see the README's chaos day); should a moto leave it InService, the
   * harness stands in for the health check by detaching it without decrement.
   */
  const terminateOutOfBand = async (f: ScheduledFault, node: string, asgName: string, target: string): Promise<void> => {
    const id = await instanceOf(node);
    struck.add(node);
    const members = async () => new Set((await asgMoto.send(new autoscaling.DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [asgName] }))).AutoScalingGroups?.[0]?.Instances?.map((i) => i.InstanceId!) ?? []);
    const before = await members();
    await ec2c.send(new ec2.TerminateInstancesCommand({ InstanceIds: [id] }));
    const r = record(f, { target, instanceId: id });
    let after = await members();
    let how = `${asgName} replaced it`;
    if (after.has(id)) {
      await sleep(HEALTH_CHECK_DELAY_MS);
      await asgMoto.send(new autoscaling.DetachInstancesCommand({ AutoScalingGroupName: asgName, InstanceIds: [id], ShouldDecrementDesiredCapacity: false }));
      after = await members();
      how = `health-check stand-in detached it from ${asgName}, replaced`;
    }
    r.detail = `node ${node}; ${how} by ${[...after].filter((x) => !before.has(x)).join(',') || '(none)'}`;
    ctx.say(`chaos: ${id} ${r.detail}`);
  };

  const strike = async (f: ScheduledFault): Promise<void> => {
    while (!stopping && Date.now() < t0 + f.atMs) await sleep(Math.min(250, t0 + f.atMs - Date.now()));
    if (stopping) return void missed.push({ kind: f.kind, scheduledAtMs: f.atMs, why: 'the day ended before its time' });
    // One-off faults may wait for their target until shortly after the feed; operator kills a minute.
    const deadline = f.kind === 'operator-kill' ? Date.now() + 90_000 : t0 + ctx.dayMs + 20_000;
    const miss = (why: string) => {
      missed.push({ kind: f.kind, scheduledAtMs: f.atMs, why });
      ctx.say(`chaos: ${f.kind} scheduled at ${(f.atMs / 1000).toFixed(1)}s missed: ${why}`);
    };
    switch (f.kind) {
      case 'aws-throttle': {
        await setFaults({ throttleRate: plan.awsThrottleRate, services: ['autoscaling'] });
        throttled = true;
        record(f, { detail: `${plan.awsThrottleRate * 100}% of Auto Scaling calls throttled from here to the end of the day` });
        return;
      }
      case 'operator-kill': {
        // The leader, once it has led for its dwell: a kill must cost a leader, not a pod still waiting for the lease.
        const dwell = operatorDwellMs(f.pick);
        for (;;) {
          const pod = await awaitTarget(async () => {
            const l = await leader();
            return l && Date.now() - leaderSince.get(l)! >= dwell ? l : undefined;
          }, deadline);
          if (!pod) return miss(`no operator pod took the lease and held it ${dwell} ms (${await leaseDiagnosis()})`);
          // The kill at a scale-in step (trading-day.ts) may take the same leader a moment earlier: this kill is owed to the next one.
          const gone = await forceDelete('kdb-system', pod).then(() => false, (e: unknown) => {
            if (/\(NotFound\)/.test((e as Error).message)) return true;
            throw e;
          });
          if (gone) {
            ctx.say(`chaos: operator pod ${pod} was already gone; waiting for the next leader`);
            continue;
          }
          record(f, { target: pod, detail: `leader for ${((Date.now() - leaderSince.get(pod)!) / 1000).toFixed(1)} s` });
          return;
        }
      }
      case 'tickerplant-pod-kill': {
        const pod = await awaitTarget(tickerplant, deadline);
        if (!pod) return miss('the tickerplant pod was not Ready');
        await forceDelete(ctx.namespace, pod.metadata!.name!);
        record(f, { target: pod.metadata!.name!, detail: `on node ${pod.spec!.nodeName}` });
        return;
      }
      case 'tickerplant-instance-terminate': {
        const pod = await awaitTarget(tickerplant, deadline);
        if (!pod) return miss('the tickerplant pod was not Ready');
        return terminateOutOfBand(f, pod.spec!.nodeName!, ctx.aws.nodeGroups.tickerplant.asgName, pod.metadata!.name!);
      }
      case 'live-rdb-pod-kill':
      case 'rolled-rdb-pod-kill': {
        const state = f.kind === 'live-rdb-pod-kill' ? 'live' : 'rolled';
        const pod = await awaitTarget(async () => pickTarget(rdbs((p) => p.state === state && p.rows > 0), f.pick), deadline);
        if (!pod) return miss(`no ${state} RDB holding rows`);
        struck.add(pod.name);
        await forceDelete(ctx.namespace, pod.name);
        record(f, { target: pod.name, detail: `${state}, ${pod.rows} rows, on node ${pod.node}` });
        return;
      }
      case 'rdb-instance-terminate': {
        const pod = await awaitTarget(async () => pickTarget(rdbs((p) => p.rows > 0 && !silenced.has(p.node!)), f.pick), deadline);
        if (!pod) return miss('no RDB holding rows');
        struck.add(pod.name);
        return terminateOutOfBand(f, pod.node!, ctx.aws.nodeGroups.rdb.asgName, `${pod.name} (${pod.state})`);
      }
      case 'node-heartbeat-stop': {
        // A node whose instance goes away while silent (its RDB flushed and was
        // scaled in) is never marked NotReady: that proves nothing about a dark
        // kubelet, so the fault moves to another node until one is marked.
        const tried = new Set<string>();
        const attempts: string[] = [];
        for (;;) {
          // A retry takes the live RDB's node: it is the one server end of day does not hand back.
          const fits = (p: PodRecord) => !tried.has(p.node!) && (tried.size === 0 ? p.rows > 0 && p.state !== 'flushed' : p.state === 'live');
          // A day whose other faults took every RDB holding rows (the tickerplant down, the live one's
          // instance gone) still owes a dark kubelet: then the node of any RDB taking or waiting for the feed.
          const anyActive = (p: PodRecord) => !tried.has(p.node!) && (p.state === 'live' || p.state === 'queued');
          // A retry is owed even after the one-off deadline: the first node's scale-in can come after the feed ends.
          const pod =
            (await awaitTarget(async () => pickTarget(rdbs(fits), f.pick), tried.size === 0 ? deadline : Date.now() + 60_000)) ??
            (await awaitTarget(async () => pickTarget(rdbs(anyActive), f.pick), Date.now() + 60_000));
          if (!pod) return miss(attempts.length ? `no node stayed to be marked NotReady (${attempts.join('; ')})` : 'no RDB node');
          const node = pod.node!;
          // The pod record moves on while the node is silent: say what it was when struck.
          const hosting = `hosting ${pod.name} (${pod.state}, ${pod.rows} rows)`;
          tried.add(node);
          silenced.add(node);
          const silence = await stopHeartbeat(node);
          silences.push(silence);
          const at = Date.now();
          // Ready Unknown (or False) is NotReady; a Node deleted meanwhile (its instance scaled in) never was.
          const ready = await awaitTarget(async () => {
            const st = await nodeReady(node);
            return st === 'True' ? undefined : (st ?? 'deleted');
          }, Date.now() + 150_000);
          const notReady = ready === 'Unknown' || ready === 'False';
          if (notReady) {
            const r = record(f, { target: node, detail: `${hosting}${attempts.length ? ` after ${attempts.join('; ')}` : ''}; NotReady after ${((Date.now() - at) / 1000).toFixed(0)} s` });
            ctx.say(`chaos: node ${node} is NotReady`);
            await sleep(SILENT_AFTER_NOT_READY_MS);
            await silence.resume();
            silenced.delete(node);
            r.detail += '; heartbeats resumed';
            ctx.say(`chaos: node ${node} heartbeats again`);
            return;
          }
          await silence.resume();
          silenced.delete(node);
          attempts.push(`${node} ${ready ?? 'still Ready'} before NotReady`);
          ctx.say(`chaos: node ${node} was never marked NotReady (${ready ?? 'still Ready'}); silencing another`);
          // Still Ready 150 s into a silence is the harness's failure, not the day's: say so in the verdicts.
          if (ready === undefined && !stopping) return void record(f, { target: node, detail: `never marked NotReady (still Ready)` });
        }
      }
    }
  };

  const guarded = (f: ScheduledFault) =>
    strike(f).catch((e: unknown) => {
      missed.push({ kind: f.kind, scheduledAtMs: f.atMs, why: `failed: ${(e as Error).message}` });
      ctx.say(`chaos: ${f.kind} failed: ${(e as Error).message}`);
    });
  // Operator kills one after another (each needs the leader the last one left); the rest each on its own.
  const kills = plan.faults.filter((f) => f.kind === 'operator-kill');
  const killChain = kills.reduce<Promise<void>>((prev, f) => prev.then(() => guarded(f)), Promise.resolve());
  const tasks = [killChain, ...plan.faults.filter((f) => f.kind !== 'operator-kill').map(guarded)];
  ctx.say(`chaos: seed ${plan.seed}; ${plan.faults.length} faults scheduled: ${summarizePlan(plan)}`);

  return {
    stop: async () => {
      // Operator kills run one after another, each waiting for the next leader
      // (a lease's length): the chain runs past the day's end, and its kills
      // are owed all the same, so it is waited for before the rest stop.
      await killChain;
      stopping = true;
      await Promise.all(tasks);
      for (const s of silences) await s.resume().catch(() => undefined);
      if (throttled) await clearFaults().catch(() => undefined);
      ec2c.destroy();
      asgMoto.destroy();
      return { injected, missed };
    },
  };
};

const summarizePlan = (plan: ChaosPlan): string => {
  const by = new Map<FaultKind, number[]>();
  for (const f of plan.faults) by.set(f.kind, [...(by.get(f.kind) ?? []), f.atMs]);
  return [...by].map(([k, ts]) => `${k} at ${ts.map((t) => `${(t / 1000).toFixed(1)}s`).join(',')}`).join('; ');
};
