// The kubelet stand-in for every simulated node: watches pods bound to them
// and hands each to a PodWorker; keeps every pod's /etc/hosts current.
import { readFileSync, writeFileSync } from 'node:fs';
import type { CoreV1Api, KubeConfig, V1Pod, V1Service } from '@kubernetes/client-node';
import type { AddressPool } from '../addresses.ts';
import type { SimConfig } from '../config.ts';
import { NameTable } from '../hosts.ts';
import type { loadImages } from '../images.ts';
import { watch, type Watched } from '../informer.ts';
import { errMsg, log } from '../log.ts';
import type { EfsPaths } from './efs.ts';
import { MemoryWatch } from './memory.ts';
import { apiObjectReader } from './objects.ts';
import { PodWorker, type SimNodeView, type WorkerContext } from './pod-worker.ts';

const RESYNC_MS = 10_000;
/** ConfigMap/Secret/token volume refresh, about the kubelet's sync period. */
const VOLUME_REFRESH_MS = 60_000;
const HOSTS_DEBOUNCE_MS = 50;

export interface KubeletDeps {
  cfg: SimConfig;
  kc: KubeConfig;
  core: CoreV1Api;
  efs: EfsPaths;
  images: ReturnType<typeof loadImages>;
  podAddresses: AddressPool;
  bindShim: string | undefined;
  node(name: string): SimNodeView | undefined;
}

export class Kubelet {
  private readonly deps: KubeletDeps;
  private readonly workers = new Map<string, PodWorker>();
  private readonly memory: MemoryWatch;
  private readonly ctx: WorkerContext;
  private pods: Watched<V1Pod> | undefined;
  private services: Watched<V1Service> | undefined;
  private table: NameTable;
  private hostsTimer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  /** Nodes deleted while pods were bound to them, and when. */
  private readonly lostNodes = new Map<string, number>();
  private stopping = false;

  constructor(deps: KubeletDeps) {
    this.deps = deps;
    this.memory = new MemoryWatch(deps.cfg.memoryCheckMs);
    this.table = new NameTable([], [], deps.cfg.apiserverHost);
    this.ctx = {
      cfg: deps.cfg,
      core: deps.core,
      objects: apiObjectReader(deps.core),
      efs: deps.efs,
      images: deps.images,
      memory: this.memory,
      podAddresses: deps.podAddresses,
      bindShim: deps.bindShim,
      node: (name) => deps.node(name),
      names: () => this.table,
      hostsChanged: () => this.scheduleHosts(),
      forget: (uid) => this.workers.delete(uid),
    };
  }

  async start(): Promise<void> {
    const { kc, core } = this.deps;
    this.services = watch<V1Service>(kc, 'services', '/api/v1/services', () => core.listServiceForAllNamespaces(), () =>
      this.scheduleHosts(),
    );
    this.pods = watch<V1Pod>(kc, 'pods', '/api/v1/pods', () => core.listPodForAllNamespaces(), (type, pod) =>
      this.onPod(type, pod),
    );
    await Promise.all([this.pods.synced, this.services.synced]);
    // Pod IPs written by an earlier run stay taken, so a new pod never gets one.
    for (const p of this.pods.list()) {
      const ip = p.status?.podIP;
      if (ip?.startsWith('127.') && !p.spec?.hostNetwork) this.deps.podAddresses.reserve(ip);
    }
    this.resyncTimer = setInterval(() => void this.resync(), RESYNC_MS);
  }

  private onPod(type: 'add' | 'update' | 'delete', pod: V1Pod): void {
    this.scheduleHosts();
    if (this.stopping) return;
    const uid = pod.metadata?.uid;
    if (!uid) return;
    const existing = this.workers.get(uid);
    if (type === 'delete') {
      if (existing) void existing.removed();
      return;
    }
    if (existing) {
      existing.sync(pod);
      return;
    }
    const nodeName = pod.spec?.nodeName;
    if (!nodeName || !this.deps.node(nodeName)) return;
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') {
      // Finished before we (re)started: nothing to run, but a deletion still needs its final DELETE.
      if (pod.metadata?.deletionTimestamp) void this.forceDelete(pod);
      return;
    }
    const w = new PodWorker(pod, this.ctx);
    this.workers.set(uid, w);
    w.sync(pod);
  }

  /** A node became known (joined, or adopted after a restart): start its pods. */
  nodeAdded(name: string): void {
    this.lostNodes.delete(name);
    for (const p of this.pods?.list() ?? []) if (p.spec?.nodeName === name) this.onPod('update', p);
  }

  /** The instance behind a node is gone: kill its pods' processes at once. */
  nodeRemoved(name: string): void {
    this.lostNodes.set(name, Date.now());
    for (const w of [...this.workers.values()]) {
      if (w.nodeName === name) {
        log.info('node lost, killing pod', { pod: w.key, node: name });
        w.nodeLost();
      }
    }
  }

  private lastVolumeRefresh = Date.now();

  private async resync(): Promise<void> {
    const refreshVolumes = Date.now() - this.lastVolumeRefresh >= VOLUME_REFRESH_MS;
    if (refreshVolumes) this.lastVolumeRefresh = Date.now();
    for (const p of this.pods?.list() ?? []) {
      const w = p.metadata?.uid ? this.workers.get(p.metadata.uid) : undefined;
      if (w) {
        w.sync(p);
        if (refreshVolumes) void w.resync();
      }
    }
    // podgc deletes pods of a deleted node after ~40 s; if it does not, we do, so none linger.
    const now = Date.now();
    for (const [node, since] of this.lostNodes) {
      if (now - since < this.deps.cfg.orphanPodTimeoutMs) continue;
      const left = (this.pods?.list() ?? []).filter((p) => p.spec?.nodeName === node);
      if (left.length === 0) this.lostNodes.delete(node);
      for (const p of left) await this.forceDelete(p);
    }
  }

  private async forceDelete(pod: V1Pod): Promise<void> {
    try {
      await this.deps.core.deleteNamespacedPod({
        name: pod.metadata!.name!,
        namespace: pod.metadata!.namespace!,
        gracePeriodSeconds: 0,
        body: { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata!.uid! } },
      });
      log.info('deleted pod of a lost node', { pod: `${pod.metadata?.namespace}/${pod.metadata?.name}` });
    } catch (e) {
      const code = (e as { code?: number }).code;
      if (code !== 404 && code !== 409) log.warn('pod delete failed', { pod: pod.metadata?.name, error: errMsg(e) });
    }
  }

  private scheduleHosts(): void {
    if (this.hostsTimer) return;
    this.hostsTimer = setTimeout(() => {
      this.hostsTimer = undefined;
      this.writeHosts();
    }, HOSTS_DEBOUNCE_MS);
  }

  private writeHosts(): void {
    const pods = (this.pods?.list() ?? []).map((p) => {
      const w = p.metadata?.uid ? this.workers.get(p.metadata.uid) : undefined;
      return w ? w.podView() : p;
    });
    this.table = new NameTable(this.services?.list() ?? [], pods, this.deps.cfg.apiserverHost);
    for (const w of this.workers.values()) {
      if (!w.ip) continue;
      const content = this.table.hostsFor(w.podView());
      try {
        if (readFileSync(w.hostsFile, 'utf8') === content) continue;
      } catch {
        continue; // not created yet or already cleaned up
      }
      // In place (truncate + write), never rename: containers bind-mount this inode.
      writeFileSync(w.hostsFile, content);
    }
  }

  /** Kills every pod process (SIGTERM, a short grace, SIGKILL); pod objects stay as a crashed kubelet leaves them. */
  async stop(graceMs = 5000): Promise<void> {
    this.stopping = true;
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    if (this.hostsTimer) clearTimeout(this.hostsTimer);
    await Promise.all([this.pods?.stop(), this.services?.stop()]);
    await Promise.all([...this.workers.values()].map((w) => w.shutdown(graceMs)));
    this.memory.stop();
  }
}
