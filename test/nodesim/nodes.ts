// EC2 instances -> Nodes: each running instance of a node group ASG joins
// the cluster after the boot delay, as a kubelet registering itself would;
// heartbeats keep it Ready; when the instance is gone its Node is deleted
// (what the cloud node lifecycle controller does on EKS).
import { hostname as machineHostname, release } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { CoordinationV1Api, CoreV1Api, V1Node, V1NodeCondition } from '@kubernetes/client-node';
import { k8s } from '../lib/kube.ts';
import type { AddressPool } from './addresses.ts';
import type { SimConfig } from './config.ts';
import { nodeResources } from './instance-types.ts';
import type { InstanceSource, SimInstance } from './instances.ts';
import { errMsg, log } from './log.ts';
import type { SimNodeView } from './kubelet/pod-worker.ts';

/** Marks Nodes this simulator owns, so a restarted simulator adopts them and never touches others. */
export const MANAGED_LABEL = 'nodesim.kdb-operator.dev/managed';
const LEASE_NS = 'kube-node-lease';
const LEASE_SECONDS = 40;

interface SimNode extends SimNodeView {
  instanceId: string;
  uid: string;
  instance: SimInstance;
}

export interface NodeEvents {
  added(name: string): void;
  removed(name: string): void;
}

const microTime = (d = new Date()): string => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
const seconds = (d = new Date()): string => d.toISOString().replace(/\.\d+Z$/, 'Z');
const notFound = (e: unknown): boolean => (e as { code?: number }).code === 404;
const conflict = (e: unknown): boolean => (e as { code?: number }).code === 409;

export class NodeManager {
  private readonly cfg: SimConfig;
  private readonly core: CoreV1Api;
  private readonly coord: CoordinationV1Api;
  private readonly source: InstanceSource;
  private readonly addresses: AddressPool;
  private readonly events: NodeEvents;
  private readonly nodes = new Map<string, SimNode>();
  /** Instances booting: node name -> join timer. */
  private readonly booting = new Map<string, NodeJS.Timeout>();
  private readonly firstSeen = new Map<string, number>();
  private pollTimer: NodeJS.Timeout | undefined;
  private leaseTimer: NodeJS.Timeout | undefined;
  private statusTimer: NodeJS.Timeout | undefined;
  private polling = false;
  private stopped = false;
  private readonly transitions = new Map<string, string>();

  constructor(cfg: SimConfig, core: CoreV1Api, coord: CoordinationV1Api, source: InstanceSource, addresses: AddressPool, events: NodeEvents) {
    this.cfg = cfg;
    this.core = core;
    this.coord = coord;
    this.source = source;
    this.addresses = addresses;
    this.events = events;
  }

  node(name: string): SimNodeView | undefined {
    return this.nodes.get(name);
  }

  async start(): Promise<void> {
    await this.adopt();
    await this.poll();
    this.pollTimer = setInterval(() => void this.poll(), this.cfg.pollMs);
    this.leaseTimer = setInterval(() => void this.renewLeases(), this.cfg.leaseRenewMs);
    this.statusTimer = setInterval(() => void this.heartbeat(), this.cfg.nodeStatusMs);
  }

  stop(): void {
    this.stopped = true;
    for (const t of [this.pollTimer, this.leaseTimer, this.statusTimer]) if (t) clearInterval(t);
    for (const t of this.booting.values()) clearTimeout(t);
  }

  /** Nodes left by an earlier run: keep them if their instance still runs (checked at the next poll). */
  private async adopt(): Promise<void> {
    const list = await this.core.listNode({ labelSelector: `${MANAGED_LABEL}=true` });
    for (const n of list.items) {
      const name = n.metadata!.name!;
      const ip = n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
      const instanceId = n.spec?.providerID?.split('/').pop() ?? '';
      if (!ip || !instanceId) continue;
      this.addresses.reserve(ip);
      const labels = n.metadata?.labels ?? {};
      this.nodes.set(name, {
        name,
        ip,
        uid: n.metadata!.uid!,
        instanceId,
        allocatable: (n.status?.allocatable as Record<string, string>) ?? {},
        instance: {
          instanceId,
          asgName: '',
          nodeGroup: labels['eks.amazonaws.com/nodegroup'] ?? '',
          instanceType: labels['node.kubernetes.io/instance-type'] ?? '',
          zone: labels['topology.kubernetes.io/zone'] ?? '',
          privateDnsName: name,
          launchTime: 0,
        },
      });
      log.info('adopted node', { node: name, instanceId });
      this.events.added(name);
    }
  }

  private async poll(): Promise<void> {
    if (this.polling || this.stopped) return;
    this.polling = true;
    try {
      let instances: SimInstance[];
      try {
        instances = await this.source.list();
      } catch (e) {
        // Never read an unreachable moto as "all instances gone".
        log.warn('instance poll failed', { error: errMsg(e) });
        return;
      }
      const live = new Map(instances.map((i) => [i.privateDnsName, i]));
      for (const [name, n] of this.nodes) {
        const i = live.get(name);
        if (!i || i.instanceId !== n.instanceId) await this.remove(name, 'instance gone');
      }
      for (const [name, t] of this.booting) {
        if (!live.has(name)) {
          clearTimeout(t);
          this.booting.delete(name);
        }
      }
      for (const i of instances) {
        const name = i.privateDnsName;
        if (this.nodes.has(name) || this.booting.has(name)) continue;
        if (!this.firstSeen.has(i.instanceId)) this.firstSeen.set(i.instanceId, Date.now());
        // moto reports LaunchTime in whole seconds: round up so no instance boots early.
        const bootStart = Math.min(i.launchTime + 999, this.firstSeen.get(i.instanceId)!);
        const wait = Math.max(0, bootStart + this.cfg.bootDelayMs - Date.now());
        this.booting.set(
          name,
          setTimeout(() => void this.join(i), wait),
        );
      }
    } finally {
      this.polling = false;
    }
  }

  private labels(i: SimInstance): Record<string, string> {
    return {
      [MANAGED_LABEL]: 'true',
      'eks.amazonaws.com/nodegroup': i.nodeGroup,
      'eks.amazonaws.com/capacityType': 'ON_DEMAND',
      'node.kubernetes.io/instance-type': i.instanceType,
      'beta.kubernetes.io/instance-type': i.instanceType,
      'topology.kubernetes.io/zone': i.zone,
      'topology.kubernetes.io/region': this.cfg.region,
      'failure-domain.beta.kubernetes.io/zone': i.zone,
      'failure-domain.beta.kubernetes.io/region': this.cfg.region,
      'kubernetes.io/hostname': i.privateDnsName,
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
      'beta.kubernetes.io/os': 'linux',
      'beta.kubernetes.io/arch': 'amd64',
    };
  }

  private conditions(node: string): V1NodeCondition[] {
    const hb = seconds();
    const cond = (type: string, status: string, reason: string, message: string): V1NodeCondition => {
      const key = `${node}/${type}=${status}`;
      if (!this.transitions.has(key)) this.transitions.set(key, hb);
      return { type, status, reason, message, lastHeartbeatTime: hb as unknown as Date, lastTransitionTime: this.transitions.get(key) as unknown as Date };
    };
    return [
      cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
      cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
      cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
      cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
    ];
  }

  private nodeStatus(i: SimInstance, ip: string): Record<string, unknown> {
    const res = nodeResources(i.instanceType);
    return {
      capacity: res,
      allocatable: res,
      conditions: this.conditions(i.privateDnsName),
      // Only a loopback InternalIP: moto's 10.x private IP must never be dialled from this
      // machine, and a Hostname address would send the apiserver to a DNS server off loopback.
      addresses: [{ type: 'InternalIP', address: ip }],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: i.instanceId.replace(/^i-/, '').padEnd(32, '0').slice(0, 32),
        systemUUID: `ec2${i.instanceId.replace(/^i-/, '').padEnd(33, '0').slice(0, 33)}`,
        bootID: randomUUID(),
        kernelVersion: release(),
        osImage: 'Amazon Linux 2023 (kdb-operator node simulator)',
        containerRuntimeVersion: 'nodesim://0.1.0',
        kubeletVersion: this.cfg.kubeletVersion,
        kubeProxyVersion: '',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    };
  }

  private async join(i: SimInstance): Promise<void> {
    const name = i.privateDnsName;
    this.booting.delete(name);
    if (this.stopped || this.nodes.has(name)) return;
    const ip = this.addresses.allocate();
    const status = this.nodeStatus(i, ip);
    const body: V1Node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name,
        labels: this.labels(i),
        annotations: {
          'node.alpha.kubernetes.io/ttl': '0',
          'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
          'alpha.kubernetes.io/provided-node-ip': ip,
          'nodesim.kdb-operator.dev/simulator-host': machineHostname(),
        },
      },
      spec: { providerID: `aws:///${i.zone}/${i.instanceId}` },
      status: status as V1Node['status'],
    };
    try {
      let created: V1Node;
      try {
        created = await this.core.createNode({ body });
      } catch (e) {
        if (!conflict(e)) throw e;
        // A Node of that name exists (an earlier run, a reused IP): take it over.
        created = await this.core.readNode({ name });
      }
      const node: SimNode = {
        name,
        ip,
        uid: created.metadata!.uid!,
        instanceId: i.instanceId,
        instance: i,
        allocatable: status.allocatable as Record<string, string>,
      };
      this.nodes.set(name, node);
      await this.writeStatus(node);
      await this.renewLease(node);
      log.info('node joined', { node: name, instanceId: i.instanceId, nodeGroup: i.nodeGroup, ip });
      this.events.added(name);
    } catch (e) {
      this.addresses.release(ip);
      log.warn('node join failed, will retry', { node: name, error: errMsg(e) });
    }
  }

  private async writeStatus(n: SimNode): Promise<void> {
    await this.core.patchNodeStatus(
      { name: n.name, body: { status: this.nodeStatus(n.instance, n.ip) } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
    );
  }

  private async heartbeat(): Promise<void> {
    for (const n of [...this.nodes.values()]) {
      try {
        if (n.instance.instanceType) await this.writeStatus(n);
      } catch (e) {
        if (notFound(e)) {
          // Someone deleted the Node while its instance runs: a real kubelet re-registers.
          this.nodes.delete(n.name);
          this.addresses.release(n.ip);
          this.events.removed(n.name);
        } else log.warn('node status write failed', { node: n.name, error: errMsg(e) });
      }
    }
  }

  private async renewLeases(): Promise<void> {
    for (const n of [...this.nodes.values()]) {
      try {
        await this.renewLease(n);
      } catch (e) {
        log.warn('lease renew failed', { node: n.name, error: errMsg(e) });
      }
    }
  }

  private async renewLease(n: SimNode): Promise<void> {
    const spec = { holderIdentity: n.name, leaseDurationSeconds: LEASE_SECONDS, renewTime: microTime() };
    try {
      await this.coord.patchNamespacedLease(
        { name: n.name, namespace: LEASE_NS, body: { spec } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
    } catch (e) {
      if (!notFound(e)) throw e;
      await this.coord.createNamespacedLease({
        namespace: LEASE_NS,
        body: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          // Owned by the Node, so the garbage collector removes it with the Node.
          metadata: { name: n.name, ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: n.name, uid: n.uid }] },
          spec: spec as never,
        },
      });
    }
  }

  private async remove(name: string, why: string): Promise<void> {
    const n = this.nodes.get(name);
    if (!n) return;
    this.nodes.delete(name);
    this.events.removed(name);
    this.addresses.release(n.ip);
    for (const k of [...this.transitions.keys()]) if (k.startsWith(`${name}/`)) this.transitions.delete(k);
    try {
      await this.core.deleteNode({ name, body: { preconditions: { uid: n.uid } } });
    } catch (e) {
      if (!notFound(e) && !conflict(e)) log.warn('node delete failed', { node: name, error: errMsg(e) });
    }
    log.info('node removed', { node: name, instanceId: n.instanceId, why });
  }
}
