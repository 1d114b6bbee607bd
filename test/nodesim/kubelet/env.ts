// A container's environment as the kubelet builds it: service links, then
// envFrom, then env (with $(VAR) references to what came before), plus what
// the simulator needs (PATH to Node 24, the wildcard-bind shim).
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { fieldValue, resourceValue, type NodeAllocatable, type PodAddresses } from './downward.ts';
import { secretText, type ObjectReader } from './objects.ts';

export class ContainerConfigError extends Error {}

export interface EnvContext {
  pod: V1Pod;
  container: V1Container;
  addresses: PodAddresses;
  allocatable: NodeAllocatable;
  hostname: string;
  repoRoot: string;
  serviceEnv: Record<string, string>;
  apiserver: { host: string; port: number };
  /** The image's ENV, which every env of the pod overrides. */
  imageEnv?: Record<string, string>;
  /** LD_PRELOAD shim turning wildcard binds into pod-IP binds, if built. */
  bindShim?: string;
  objects: ObjectReader;
}

/** $(VAR) expands from env defined so far; $$(VAR) escapes; unknown refs stay as written. */
export const expand = (s: string, env: Record<string, string>): string =>
  s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) => {
    if (m === '$$') return '$';
    return name !== undefined && env[name] !== undefined ? env[name] : m;
  });

export const buildEnv = async (ctx: EnvContext): Promise<Record<string, string>> => {
  const { pod, container } = ctx;
  const ns = pod.metadata?.namespace ?? 'default';
  const api = ctx.apiserver;
  const env: Record<string, string> = {
    PATH: `${ctx.repoRoot}/node_modules/.bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    HOME: '/root',
    HOSTNAME: ctx.hostname,
  };
  // What the pod's env sets; the image's ENV fills the rest at the end. The
  // kubelet does not know the image's ENV, so $(VAR) never expands from it.
  const defaults = { ...env };
  if (pod.spec?.enableServiceLinks !== false) Object.assign(env, ctx.serviceEnv);
  // The apiserver is on loopback here; the in-cluster client config reads these.
  Object.assign(env, {
    KUBERNETES_SERVICE_HOST: api.host,
    KUBERNETES_SERVICE_PORT: String(api.port),
    KUBERNETES_SERVICE_PORT_HTTPS: String(api.port),
    KUBERNETES_PORT: `tcp://${api.host}:${api.port}`,
    KUBERNETES_PORT_443_TCP: `tcp://${api.host}:${api.port}`,
    KUBERNETES_PORT_443_TCP_PROTO: 'tcp',
    KUBERNETES_PORT_443_TCP_PORT: String(api.port),
    KUBERNETES_PORT_443_TCP_ADDR: api.host,
  });

  for (const src of container.envFrom ?? []) {
    const prefix = src.prefix ?? '';
    if (src.configMapRef) {
      const cm = await ctx.objects.configMap(ns, src.configMapRef.name ?? '');
      if (!cm) {
        if (src.configMapRef.optional) continue;
        throw new ContainerConfigError(`configmap "${src.configMapRef.name}" not found`);
      }
      for (const [k, v] of Object.entries(cm.data ?? {})) env[prefix + k] = v;
    }
    if (src.secretRef) {
      const s = await ctx.objects.secret(ns, src.secretRef.name ?? '');
      if (!s) {
        if (src.secretRef.optional) continue;
        throw new ContainerConfigError(`secret "${src.secretRef.name}" not found`);
      }
      for (const k of Object.keys(s.data ?? {})) env[prefix + k] = secretText(s, k) ?? '';
    }
  }

  for (const e of container.env ?? []) {
    if (e.value !== undefined || !e.valueFrom) {
      env[e.name] = expand(e.value ?? '', env);
      continue;
    }
    const vf = e.valueFrom;
    if (vf.fieldRef) env[e.name] = fieldValue(pod, vf.fieldRef, ctx.addresses);
    else if (vf.resourceFieldRef) env[e.name] = resourceValue(pod, container, vf.resourceFieldRef, ctx.allocatable);
    else if (vf.configMapKeyRef) {
      const ref = vf.configMapKeyRef;
      const cm = await ctx.objects.configMap(ns, ref.name ?? '');
      const v = cm?.data?.[ref.key];
      if (v === undefined) {
        if (ref.optional) continue;
        throw new ContainerConfigError(`configmap "${ref.name}" key "${ref.key}" not found`);
      }
      env[e.name] = v;
    } else if (vf.secretKeyRef) {
      const ref = vf.secretKeyRef;
      const s = await ctx.objects.secret(ns, ref.name ?? '');
      const v = s ? secretText(s, ref.key) : undefined;
      if (v === undefined) {
        if (ref.optional) continue;
        throw new ContainerConfigError(`secret "${ref.name}" key "${ref.key}" not found`);
      }
      env[e.name] = v;
    }
  }

  const podSet = (k: string): boolean => k in env && env[k] !== defaults[k];
  for (const [k, v] of Object.entries(ctx.imageEnv ?? {})) if (!podSet(k)) env[k] = v;

  if (ctx.bindShim) {
    env.LD_PRELOAD = env.LD_PRELOAD ? `${ctx.bindShim}:${env.LD_PRELOAD}` : ctx.bindShim;
    env.KDB_SIM_BIND_IP = ctx.addresses.podIP;
  }
  return env;
};
