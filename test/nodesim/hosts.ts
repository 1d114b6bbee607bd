// Name resolution without cluster DNS or kube-proxy: every pod gets its own
// /etc/hosts mapping Service names to the pod IP of a ready endpoint (and
// StatefulSet pod names under their headless Service). Never a ClusterIP:
// nothing routes those here. A headless Service's name lists every member,
// one line per pod IP, as cluster DNS answers it with one A record each:
// getaddrinfo (glibc's files backend, `multi on` by default since 2.26)
// returns them all, so the gateway finds every RDB behind <cluster>-rdbs.
import type { V1Pod, V1Service } from '@kubernetes/client-node';

const DOMAIN = 'cluster.local';

const isReady = (p: V1Pod): boolean =>
  !!p.status?.podIP &&
  !p.metadata?.deletionTimestamp &&
  (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

const matches = (selector: Record<string, string>, labels: Record<string, string> | undefined): boolean =>
  Object.entries(selector).every(([k, v]) => labels?.[k] === v);

const podHostname = (p: V1Pod): string => (p.spec?.hostname || p.metadata?.name || '').slice(0, 63);

export interface ResolvedService {
  namespace: string;
  name: string;
  /** The oldest member: what the Service env variables point at. */
  ip: string;
  /** Every address the name maps to: all members of a headless Service, else the oldest. */
  ips: string[];
  ports: { name?: string; port: number; protocol: string }[];
}

/** A snapshot of names to loopback pod IPs, rebuilt when Services or pods change. */
export class NameTable {
  readonly services: ResolvedService[] = [];
  /** Pods under a headless Service (StatefulSet members): <host>.<svc> in their namespace. */
  readonly podNames: { namespace: string; ip: string; short: string }[] = [];

  constructor(services: readonly V1Service[], pods: readonly V1Pod[], apiserverHost: string) {
    const byNs = new Map<string, V1Pod[]>();
    for (const p of pods) {
      const ns = p.metadata?.namespace ?? '';
      const l = byNs.get(ns);
      if (l) l.push(p);
      else byNs.set(ns, [p]);
    }
    for (const svc of services) {
      const ns = svc.metadata?.namespace ?? '';
      const name = svc.metadata?.name ?? '';
      const ports = (svc.spec?.ports ?? []).map((p) => ({ name: p.name, port: p.port, protocol: p.protocol ?? 'TCP' }));
      if (ns === 'default' && name === 'kubernetes') {
        this.services.push({ namespace: ns, name, ip: apiserverHost, ips: [apiserverHost], ports });
        continue;
      }
      const selector = svc.spec?.selector;
      if (!selector || Object.keys(selector).length === 0) continue;
      const notReadyOk = !!svc.spec?.publishNotReadyAddresses;
      const members = (byNs.get(ns) ?? [])
        .filter((p) => matches(selector, p.metadata?.labels) && (isReady(p) || (notReadyOk && !!p.status?.podIP)))
        // Stable choice: the oldest member, so the name does not flap between replicas.
        .sort((a, b) => String(a.metadata?.creationTimestamp).localeCompare(String(b.metadata?.creationTimestamp)));
      const headless = svc.spec?.clusterIP === 'None';
      const first = members[0];
      if (first?.status?.podIP) {
        const ips = headless ? [...new Set(members.map((p) => p.status?.podIP).filter((ip): ip is string => !!ip))] : [first.status.podIP];
        this.services.push({ namespace: ns, name, ip: first.status.podIP, ips, ports });
      }
      if (headless) {
        for (const p of members) {
          if (p.spec?.subdomain !== name || !p.status?.podIP) continue;
          const h = podHostname(p);
          this.podNames.push({ namespace: ns, ip: p.status.podIP, short: `${h}.${name}` });
        }
      }
    }
  }

  /** The hosts file of one pod: its own names first, since the first match wins. */
  hostsFor(pod: V1Pod): string {
    const ns = pod.metadata?.namespace ?? '';
    const ip = pod.status?.podIP;
    const hn = podHostname(pod);
    const lines = ['# Kubernetes-managed hosts file (kdb-operator node simulator).', '127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'];
    if (ip) {
      const sub = pod.spec?.subdomain;
      lines.push(sub ? `${ip}\t${hn}.${sub}.${ns}.svc.${DOMAIN}\t${hn}` : `${ip}\t${hn}`);
    }
    for (const s of this.services) {
      const full = [`${s.name}.${s.namespace}`, `${s.name}.${s.namespace}.svc`, `${s.name}.${s.namespace}.svc.${DOMAIN}`];
      // Short names resolve through the pod's namespace search domain only.
      const names = (s.namespace === ns ? [s.name, ...full] : full).join(' ');
      for (const a of s.ips) lines.push(`${a}\t${names}`);
    }
    for (const p of this.podNames) {
      const full = [`${p.short}.${p.namespace}.svc.${DOMAIN}`, `${p.short}.${p.namespace}.svc`, `${p.short}.${p.namespace}`];
      lines.push(`${p.ip}\t${(p.namespace === ns ? [...full, p.short] : full).join(' ')}`);
    }
    return `${lines.join('\n')}\n`;
  }

  /** Docker-link style variables of the Services in a namespace, pointing at endpoint pod IPs. */
  serviceEnv(namespace: string): Record<string, string> {
    const env: Record<string, string> = {};
    for (const s of this.services) {
      if (s.namespace !== namespace || (s.namespace === 'default' && s.name === 'kubernetes')) continue;
      const first = s.ports[0];
      if (!first) continue;
      const n = s.name.toUpperCase().replace(/-/g, '_');
      env[`${n}_SERVICE_HOST`] = s.ip;
      env[`${n}_SERVICE_PORT`] = String(first.port);
      env[`${n}_PORT`] = `${first.protocol.toLowerCase()}://${s.ip}:${first.port}`;
      for (const p of s.ports) {
        if (p.name) env[`${n}_SERVICE_PORT_${p.name.toUpperCase().replace(/-/g, '_')}`] = String(p.port);
        const pre = `${n}_PORT_${p.port}_${p.protocol.toUpperCase()}`;
        env[pre] = `${p.protocol.toLowerCase()}://${s.ip}:${p.port}`;
        env[`${pre}_PROTO`] = p.protocol.toLowerCase();
        env[`${pre}_PORT`] = String(p.port);
        env[`${pre}_ADDR`] = s.ip;
      }
    }
    return env;
  }
}
