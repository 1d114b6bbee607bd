// One pod's life on a simulated node: sandbox (IP, hosts file, volumes),
// init containers, containers with restarts and probes, status writes, and
// graceful termination ending in the final DELETE a kubelet issues.
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { k8s } from '../../lib/kube.ts';
import type { AddressPool } from '../addresses.ts';
import type { SimConfig } from '../config.ts';
import type { NameTable } from '../hosts.ts';
import { imageEnv, resolveArgv, type loadImages } from '../images.ts';
import { errMsg, log } from '../log.ts';
import { parseQuantity } from '../quantity.ts';
import { ConditionClock } from './conditions.ts';
import { containerStatus, newContainerState, type ContainerState, type Terminated } from './container-state.ts';
import type { NodeAllocatable } from './downward.ts';
import type { EfsPaths } from './efs.ts';
import { buildEnv, expand } from './env.ts';
import type { MemoryWatch } from './memory.ts';
import type { ObjectReader } from './objects.ts';
import { Prober } from './probes.ts';
import { startContainer, type Exit, type RunningProcess } from './process.ts';
import { PodVolumes } from './volumes.ts';

export interface SimNodeView {
  name: string;
  ip: string;
  allocatable: NodeAllocatable;
}

export interface WorkerContext {
  cfg: SimConfig;
  core: CoreV1Api;
  objects: ObjectReader;
  efs: EfsPaths;
  images: ReturnType<typeof loadImages>;
  memory: MemoryWatch;
  podAddresses: AddressPool;
  bindShim: string | undefined;
  node(name: string): SimNodeView | undefined;
  names(): NameTable;
  /** The pod's IP or readiness changed: rewrite hosts files. */
  hostsChanged(): void;
  forget(uid: string): void;
}

const RETRY_MS = 2000;

// There is no cluster DNS: names resolve through the pod's /etc/hosts. A name
// missing there must not reach the machine's nameserver (off loopback), so
// DNS points at loopback, where nothing answers and lookups fail at once.
const resolvConf = (ns: string): string =>
  [
    '# kdb-operator node simulator: no cluster DNS; names resolve through /etc/hosts.',
    'nameserver 127.0.0.1',
    `search ${ns}.svc.cluster.local svc.cluster.local cluster.local`,
    'options ndots:5 timeout:1 attempts:1',
    '',
  ].join('\n');
const MAX_BACKOFF_MS = 300_000;
const now = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class PodWorker {
  pod: V1Pod;
  readonly uid: string;
  readonly key: string;
  readonly nodeName: string;
  readonly dir: string;
  readonly hostsFile: string;
  readonly resolvFile: string;
  ip: string | undefined;
  private readonly ctx: WorkerContext;
  private readonly volumes: PodVolumes;
  private readonly clock: ConditionClock;
  private readonly inits: ContainerState[];
  private readonly containers: ContainerState[];
  private hostIP = '';
  private startTime: string | undefined;
  private started = false;
  private initialized = false;
  private initFailed = false;
  private terminalPhase: 'Succeeded' | 'Failed' | undefined;
  private terminating = false;
  /** The pod object or node is gone: no more API writes. */
  private detached = false;
  private lastStatus = '';
  private statusDirty = false;
  private statusWriter: Promise<void> | undefined;
  private readonly wakers = new Set<() => void>();
  /** Shared with the volumes, which render status.podIP into downward API files. */
  private readonly addresses = { podIP: '', hostIP: '' };

  constructor(pod: V1Pod, ctx: WorkerContext) {
    this.pod = pod;
    this.ctx = ctx;
    this.uid = pod.metadata!.uid!;
    this.key = `${pod.metadata!.namespace}/${pod.metadata!.name}`;
    this.nodeName = pod.spec!.nodeName!;
    this.dir = join(ctx.cfg.podsDir, this.uid);
    this.hostsFile = join(this.dir, 'etc-hosts');
    this.resolvFile = join(this.dir, 'resolv.conf');
    this.clock = new ConditionClock(pod);
    this.inits = (pod.spec?.initContainers ?? []).map((c) => newContainerState(c, true));
    this.containers = (pod.spec?.containers ?? []).map((c) => newContainerState(c, false));
    const node = ctx.node(this.nodeName);
    this.hostIP = node?.ip ?? '';
    this.addresses.hostIP = this.hostIP;
    this.volumes = new PodVolumes(pod, {
      core: ctx.core,
      objects: ctx.objects,
      efs: ctx.efs,
      podDir: this.dir,
      addresses: this.addresses,
      allocatable: node?.allocatable ?? {},
    });
  }

  get ready(): boolean {
    return this.containers.every((c) => c.ready && !!c.proc);
  }

  /** The pod as hosts files should see it: with the IP we gave it, even before the status write lands. */
  podView(): V1Pod {
    return { ...this.pod, status: { ...this.pod.status, podIP: this.ip } };
  }

  /** Level-triggered: called on every informer event and resync for this pod. */
  sync(pod: V1Pod): void {
    this.pod = pod;
    if (this.detached) return;
    if (pod.metadata?.deletionTimestamp) {
      void this.terminate(true);
      return;
    }
    if (!this.started) {
      this.started = true;
      void this.run().catch((e: unknown) => log.error('pod worker failed', { pod: this.key, error: errMsg(e) }));
    }
    this.requestStatus();
  }

  /** Periodic: refresh tokens and API-backed volume files. */
  async resync(): Promise<void> {
    if (this.detached || this.terminating || !this.started) return;
    try {
      await this.volumes.refresh(this.pod);
    } catch (e) {
      log.warn('volume refresh failed', { pod: this.key, error: errMsg(e) });
    }
  }

  private async run(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    // hostNetwork pods share the node's address, as on a real node.
    // A pod IP never changes once written (the API rejects a second one): a restarted
    // simulator reuses it; the kubelet reserved every existing pod IP at start.
    const had = this.pod.status?.podIP;
    this.ip = this.pod.spec?.hostNetwork ? this.hostIP : had || this.ctx.podAddresses.allocate();
    this.addresses.podIP = this.ip;
    this.startTime = now();
    // Containers bind-mount this file, so it must exist before the first starts.
    writeFileSync(this.hostsFile, this.ctx.names().hostsFor(this.podView()));
    writeFileSync(this.resolvFile, resolvConf(this.pod.metadata?.namespace ?? 'default'));
    this.ctx.hostsChanged();
    this.requestStatus();
    log.info('pod sandbox ready', { pod: this.key, node: this.nodeName, ip: this.ip });

    // Volumes: retried until they can be set up, as the kubelet's volume manager does.
    for (;;) {
      if (this.terminating || this.detached) return;
      try {
        await this.volumes.prepare(this.pod);
        break;
      } catch (e) {
        this.setWaiting([...this.inits, ...this.containers], 'ContainerCreating', errMsg(e));
        await this.pause(RETRY_MS);
      }
    }

    for (const c of this.inits) {
      if (this.terminating || this.detached) return;
      if (c.sidecar) {
        await this.launch(c);
        continue;
      }
      for (;;) {
        const exit = await this.runToCompletion(c);
        if (this.terminating || this.detached || exit === undefined) return;
        if (exit === 0) break;
        if (this.pod.spec?.restartPolicy === 'Never') {
          this.initFailed = true;
          this.terminalPhase = 'Failed';
          this.requestStatus();
          return;
        }
        await this.pause(this.backoffMs(c));
        c.lastTerminated = c.terminated;
        c.terminated = undefined;
        c.restartCount++;
      }
    }
    this.initialized = true;
    this.requestStatus();
    await Promise.all(this.containers.map((c) => this.launch(c)));
  }

  /** Waits ms, or less if termination starts. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        this.wakers.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }

  private setWaiting(cs: ContainerState[], reason: string, message?: string): void {
    for (const c of cs) if (!c.proc && !c.terminated) c.waiting = { reason, message };
    this.requestStatus();
  }

  private async runToCompletion(c: ContainerState): Promise<number | undefined> {
    const started = await this.launch(c);
    if (!started) return undefined;
    return (await started.exited).exitCode;
  }

  /**
   * Starts a container; resolves once it runs (never started: undefined). The exit
   * promise is wrapped, since awaiting a promise of a promise would wait for the exit.
   */
  private async launch(c: ContainerState): Promise<{ exited: Promise<Exit> } | undefined> {
    for (;;) {
      if (this.terminating || this.detached) return undefined;
      try {
        return await this.spawn(c);
      } catch (e) {
        const reason = e instanceof Error && e.name === 'UnknownImageError' ? 'ErrImagePull' : 'CreateContainerConfigError';
        c.waiting = { reason, message: errMsg(e) };
        this.requestStatus();
        await this.pause(RETRY_MS);
      }
    }
  }

  private async spawn(c: ContainerState): Promise<{ exited: Promise<Exit> }> {
    const spec = c.spec;
    if (!this.ctx.cfg.runProcesses) return this.standIn(c);
    const node = this.ctx.node(this.nodeName);
    const env = await buildEnv({
      pod: this.pod,
      container: spec,
      addresses: { podIP: this.ip!, hostIP: this.hostIP },
      allocatable: node?.allocatable ?? {},
      hostname: this.hostname(),
      repoRoot: this.ctx.cfg.repoRoot,
      serviceEnv: this.ctx.names().serviceEnv(this.pod.metadata?.namespace ?? ''),
      apiserver: { host: this.ctx.cfg.apiserverHost, port: this.ctx.cfg.apiserverPort },
      bindShim: this.ctx.bindShim,
      objects: this.ctx.objects,
      imageEnv: imageEnv(this.ctx.images, spec.image ?? ''),
    });
    const argv = resolveArgv(
      this.ctx.images,
      spec.image ?? '',
      spec.command?.map((s) => expand(s, env)),
      spec.args?.map((s) => expand(s, env)),
    );
    const mounts = this.volumes.mounts(spec, { '/etc/hosts': this.hostsFile, '/etc/resolv.conf': this.resolvFile });
    const cwd = spec.workingDir || this.ctx.cfg.repoRoot;
    mkdirSync(cwd, { recursive: true });
    if (this.terminating || this.detached) throw new Error('pod is terminating');
    const ns = this.pod.metadata?.namespace;
    const proc = startContainer({
      argv,
      env,
      cwd,
      hostname: this.hostname(),
      mounts,
      mountsFile: join(this.dir, `${spec.name}.mounts`),
      logFile: join(this.ctx.cfg.podLogsDir, `${ns}_${this.pod.metadata?.name}_${spec.name}.log`),
      // The program itself (node, the image sources, the bind shim) lives here: a checkout under /tmp must survive an emptyDir at /tmp.
      keep: [this.ctx.cfg.repoRoot, this.ctx.cfg.stackDir],
    });
    this.markStarted(c, proc, false);
    log.info('container started', { pod: this.key, container: spec.name, pid: proc.pid, argv });

    const limit = (spec.resources?.limits as Record<string, string> | undefined)?.memory;
    if (limit !== undefined) {
      this.ctx.memory.add(proc.pid, parseQuantity(limit), (rss) => {
        c.oomKilled = true;
        log.warn('container OOMKilled', { pod: this.key, container: spec.name, rss, limit });
      });
    }
    this.startProbes(c);
    this.requestStatus();
    const exited = proc.exited.then((exit) => {
      this.onExit(c, exit);
      return exit;
    });
    return { exited };
  }

  /**
   * KDB_SIM_PROCESSES=none: the container runs and is ready at once, with no
   * process, until it is signalled; what the pod's agent would report the
   * benchmark writes itself.
   */
  private standIn(c: ContainerState): { exited: Promise<Exit> } {
    let stop!: (exit: Exit) => void;
    const done = new Promise<Exit>((r) => (stop = r));
    const proc = {
      pid: 0,
      exited: done,
      signal: (sig: NodeJS.Signals) => stop({ exitCode: sig === 'SIGKILL' ? 137 : 143, signal: sig }),
    };
    this.markStarted(c, proc, true);
    this.requestStatus();
    const exited = done.then((exit) => {
      this.onExit(c, exit);
      return exit;
    });
    return { exited };
  }

  /** A container's state once its process (or stand-in) runs: ready at once only without probes to pass. */
  private markStarted(c: ContainerState, proc: RunningProcess, ready: boolean): void {
    c.proc = proc;
    c.containerID = `nodesim://${randomBytes(32).toString('hex')}`;
    c.startedAt = now();
    c.waiting = undefined;
    c.terminated = undefined;
    c.oomKilled = false;
    c.everStarted = true;
    c.ready = ready;
  }

  private startProbes(c: ContainerState): void {
    if (c.init && !c.sidecar) return;
    const rp = c.spec.readinessProbe;
    if (rp) {
      c.prober = new Prober(rp, c.spec, this.ip!, (ok) => {
        c.ready = ok;
        this.requestStatus();
        this.ctx.hostsChanged();
      });
      c.prober.start();
    } else {
      c.ready = true;
    }
    const lp = c.spec.livenessProbe;
    if (lp) {
      c.liveness = new Prober(lp, c.spec, this.ip!, (ok) => {
        if (ok || !c.proc) return;
        log.info('liveness probe failed, restarting container', { pod: this.key, container: c.spec.name });
        const proc = c.proc;
        proc.signal('SIGTERM');
        const grace = (this.pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000;
        setTimeout(() => proc.signal('SIGKILL'), grace).unref();
      });
      c.liveness.start();
    }
    this.ctx.hostsChanged();
  }

  private onExit(c: ContainerState, exit: Exit): void {
    if (c.proc) this.ctx.memory.remove(c.proc.pid);
    c.prober?.stop();
    c.liveness?.stop();
    c.prober = undefined;
    c.liveness = undefined;
    c.proc = undefined;
    c.ready = false;
    const oom = c.oomKilled;
    const term: Terminated = {
      exitCode: oom ? 137 : exit.exitCode,
      reason: oom ? 'OOMKilled' : exit.exitCode === 0 ? 'Completed' : 'Error',
      startedAt: c.startedAt ?? now(),
      finishedAt: now(),
      containerID: c.containerID ?? '',
    };
    if (exit.signal) term.signal = exit.exitCode - 128;
    c.terminated = term;
    log.info('container exited', { pod: this.key, container: c.spec.name, exitCode: term.exitCode, reason: term.reason });
    this.ctx.hostsChanged();
    if (this.terminating || this.detached) {
      this.requestStatus();
      return;
    }
    if (!c.init || c.sidecar) this.maybeRestart(c, term);
    this.requestStatus();
  }

  private restartWanted(c: ContainerState, code: number): boolean {
    if (c.sidecar) return true;
    const policy = c.spec.restartPolicy ?? this.pod.spec?.restartPolicy ?? 'Always';
    return policy === 'Always' || (policy === 'OnFailure' && code !== 0);
  }

  private backoffMs(c: ContainerState): number {
    // The kubelet restarts at once the first time, then backs off 10 s, 20 s, ... 5 min.
    if (c.restartCount === 0) return 0;
    return Math.min(this.ctx.cfg.restartBackoffMs * 2 ** (c.restartCount - 1), MAX_BACKOFF_MS);
  }

  private maybeRestart(c: ContainerState, term: Terminated): void {
    if (!this.restartWanted(c, term.exitCode)) {
      this.updateTerminalPhase();
      return;
    }
    // A container that ran for 10 minutes has its back-off forgiven.
    if (Date.parse(term.finishedAt) - Date.parse(term.startedAt) > 600_000) c.restartCount = 0;
    const delay = this.backoffMs(c);
    // While it waits, the last exit shows as lastState, as in CrashLoopBackOff.
    c.lastTerminated = term;
    c.terminated = undefined;
    c.restartCount++;
    c.waiting =
      delay > 0
        ? { reason: 'CrashLoopBackOff', message: `back-off ${Math.round(delay / 1000)}s restarting failed container=${c.spec.name} pod=${this.pod.metadata?.name}` }
        : { reason: 'ContainerCreating' };
    c.restartTimer = setTimeout(() => {
      c.restartTimer = undefined;
      if (!this.terminating && !this.detached) void this.launch(c);
    }, delay);
  }

  private updateTerminalPhase(): void {
    if (this.terminalPhase) return;
    const apps = this.containers;
    if (!apps.every((c) => c.terminated && !c.proc && !c.restartTimer)) return;
    this.terminalPhase = apps.every((c) => c.terminated?.exitCode === 0) ? 'Succeeded' : 'Failed';
    // Sidecars stop once the main containers are done.
    for (const s of this.inits) if (s.sidecar && s.proc) s.proc.signal('SIGTERM');
  }

  private phase(): string {
    if (this.terminalPhase) return this.terminalPhase;
    if (!this.initialized) return 'Pending';
    if (this.containers.some((c) => !c.everStarted)) return 'Pending';
    return 'Running';
  }

  private hostname(): string {
    return (this.pod.spec?.hostname || this.pod.metadata?.name || 'pod').slice(0, 63);
  }

  // ---- status ----

  private buildStatus(): Record<string, unknown> {
    const phase = this.phase();
    const terminal = phase === 'Succeeded' || phase === 'Failed';
    const allInitsDone = this.initialized || this.inits.length === 0;
    const status: Record<string, unknown> = {
      phase,
      conditions: this.clock.build(this.pod, {
        initialized: allInitsDone && !this.initFailed,
        containersReady: this.initialized && this.ready,
        sandboxReady: !!this.ip && !terminal,
        terminal,
      }),
      hostIP: this.hostIP,
      hostIPs: [{ ip: this.hostIP }],
      containerStatuses: this.containers.map(containerStatus),
    };
    if (this.inits.length > 0) status.initContainerStatuses = this.inits.map(containerStatus);
    if (this.ip) {
      status.podIP = this.ip;
      status.podIPs = [{ ip: this.ip }];
    }
    if (this.startTime) status.startTime = this.startTime;
    return status;
  }

  /** Coalesces status writes: at most one in flight, the latest state wins. */
  requestStatus(): void {
    if (this.detached) return;
    this.statusDirty = true;
    if (!this.statusWriter) {
      this.statusWriter = this.writeStatusLoop().finally(() => (this.statusWriter = undefined));
    }
  }

  private async writeStatusLoop(): Promise<void> {
    await new Promise((r) => setImmediate(r));
    while (this.statusDirty && !this.detached) {
      this.statusDirty = false;
      const status = this.buildStatus();
      const json = JSON.stringify(status);
      if (json === this.lastStatus) continue;
      try {
        // The uid is a precondition: a pod force-deleted and recreated under its
        // name (a StatefulSet's) is another pod, and this worker's status (its
        // IP above all, which the API never lets change) must not land on it.
        await this.ctx.core.patchNamespacedPodStatus(
          { name: this.pod.metadata!.name!, namespace: this.pod.metadata!.namespace!, body: { metadata: { uid: this.pod.metadata!.uid }, status } },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
        );
        this.lastStatus = json;
      } catch (e) {
        const code = (e as { code?: number }).code;
        if (code === 404) return;
        // No resourceVersion is sent: a conflict is the uid precondition, this pod is gone.
        if (code === 409 && /uid/i.test(errMsg(e))) return;
        if (code !== undefined && code >= 400 && code < 500 && code !== 409 && code !== 429) {
          // Invalid for the API: retrying the same status cannot help; the next change retries.
          log.error('pod status rejected', { pod: this.key, error: errMsg(e) });
          this.lastStatus = json;
          continue;
        }
        log.warn('pod status write failed', { pod: this.key, error: errMsg(e) });
        await sleep(1000);
        this.statusDirty = true;
      }
    }
  }

  private async flushStatus(): Promise<void> {
    while (this.statusWriter) await this.statusWriter;
  }

  // ---- termination ----

  private running(): ContainerState[] {
    return [...this.containers, ...this.inits].filter((c) => c.proc);
  }

  private stopTimers(): void {
    for (const c of [...this.containers, ...this.inits]) {
      if (c.restartTimer) clearTimeout(c.restartTimer);
      c.restartTimer = undefined;
      c.prober?.stop();
      c.liveness?.stop();
      c.ready = false;
    }
    for (const w of [...this.wakers]) w();
  }

  /**
   * Graceful deletion: SIGTERM, the grace period, SIGKILL, final status, then
   * the DELETE with grace 0 and a UID precondition that lets the object go.
   */
  async terminate(deleteObject: boolean): Promise<void> {
    if (this.terminating) return;
    this.terminating = true;
    this.stopTimers();
    this.requestStatus();
    this.ctx.hostsChanged();
    const graceS = this.pod.metadata?.deletionGracePeriodSeconds ?? this.pod.spec?.terminationGracePeriodSeconds ?? 30;
    log.info('terminating pod', { pod: this.key, graceSeconds: graceS });
    await this.stopContainers(graceS * 1000);
    if (!this.terminalPhase) {
      const all = [...this.containers];
      this.terminalPhase = all.every((c) => !c.everStarted || c.terminated?.exitCode === 0) ? 'Succeeded' : 'Failed';
    }
    for (const c of [...this.containers, ...this.inits]) {
      if (!c.terminated && !c.everStarted) c.waiting = { reason: 'ContainerCreating' };
    }
    if (deleteObject && !this.detached) {
      this.requestStatus();
      await this.flushStatus();
      try {
        await this.ctx.core.deleteNamespacedPod({
          name: this.pod.metadata!.name!,
          namespace: this.pod.metadata!.namespace!,
          gracePeriodSeconds: 0,
          body: { gracePeriodSeconds: 0, preconditions: { uid: this.uid } },
        });
        log.info('pod deleted', { pod: this.key });
      } catch (e) {
        const code = (e as { code?: number }).code;
        if (code !== 404 && code !== 409) log.warn('final pod delete failed', { pod: this.key, error: errMsg(e) });
      }
    }
    this.cleanup();
  }

  private async stopContainers(graceMs: number): Promise<void> {
    const running = this.running();
    if (running.length === 0) return;
    const exits = running.map((c) => c.proc!.exited);
    for (const c of running) c.proc!.signal('SIGTERM');
    const timedOut = await Promise.race([Promise.all(exits).then(() => false), sleep(graceMs).then(() => true)]);
    if (timedOut) {
      for (const c of this.running()) c.proc!.signal('SIGKILL');
      await Promise.all(exits);
    }
  }

  /** The pod object was removed without us (force delete, podgc): stop everything. */
  async removed(): Promise<void> {
    this.detached = true;
    if (this.terminating) return;
    await this.terminate(false);
  }

  /** The node's instance is gone: its processes die at once, nothing more is written. */
  nodeLost(): void {
    this.detached = true;
    this.terminating = true;
    this.stopTimers();
    for (const c of this.running()) c.proc!.signal('SIGKILL');
    void Promise.all(this.running().map((c) => c.proc!.exited)).then(() => this.cleanup());
  }

  /** The simulator is stopping: processes end, the pod object stays as a stopped kubelet leaves it. */
  async shutdown(graceMs: number): Promise<void> {
    this.detached = true;
    this.terminating = true;
    this.stopTimers();
    await this.stopContainers(graceMs);
    this.cleanup();
  }

  private cleaned = false;

  private cleanup(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    this.detached = true;
    if (this.ip && !this.pod.spec?.hostNetwork) this.ctx.podAddresses.release(this.ip);
    this.volumes.cleanup();
    rmSync(this.dir, { recursive: true, force: true });
    this.ctx.forget(this.uid);
    this.ctx.hostsChanged();
  }
}
