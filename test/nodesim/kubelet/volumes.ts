// A pod's volumes as host folders, bind-mounted at their mountPaths inside
// each container's mount namespace (see process.ts). Private volumes
// (emptyDir, configMap, secret, downwardAPI, projected) live under the pod's
// scratch folder; EFS-backed PVCs are shared folders under .stack/efs.
import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import type {
  CoreV1Api,
  V1Container,
  V1DownwardAPIVolumeFile,
  V1KeyToPath,
  V1Pod,
  V1Volume,
} from '@kubernetes/client-node';
import { fieldValue, resourceValue, type NodeAllocatable, type PodAddresses } from './downward.ts';
import type { EfsPaths } from './efs.ts';
import type { ObjectReader } from './objects.ts';
import type { Mount } from './process.ts';
import { requestToken, type IssuedToken } from './token.ts';

/** A volume that cannot be set up yet (PVC unbound, ConfigMap missing): retried. */
export class VolumeError extends Error {}

export interface VolumeDeps {
  core: CoreV1Api;
  objects: ObjectReader;
  efs: EfsPaths;
  podDir: string;
  addresses: PodAddresses;
  allocatable: NodeAllocatable;
}

interface FileOut {
  path: string;
  data: Buffer;
  mode: number | undefined;
}

const safeJoin = (dir: string, rel: string): string => {
  const p = normalize(rel);
  if (p.startsWith('..') || p.startsWith('/')) throw new VolumeError(`volume item path escapes: ${rel}`);
  return join(dir, p);
};

// Each file is replaced by rename, so a reader never sees half a token.
const writeFiles = (dir: string, files: FileOut[], defaultMode: number | undefined): void => {
  mkdirSync(dir, { recursive: true });
  for (const f of files) {
    const target = safeJoin(dir, f.path);
    mkdirSync(dirname(target), { recursive: true });
    const tmp = `${target}.tmp-${process.pid}`;
    writeFileSync(tmp, f.data, { mode: f.mode ?? defaultMode ?? 0o644 });
    renameSync(tmp, target);
  }
};

const keyFiles = (
  data: Record<string, Buffer>,
  items: V1KeyToPath[] | undefined,
  what: string,
  optional: boolean,
): FileOut[] => {
  if (!items || items.length === 0) return Object.entries(data).map(([k, v]) => ({ path: k, data: v, mode: undefined }));
  const out: FileOut[] = [];
  for (const it of items) {
    const v = data[it.key];
    if (v === undefined) {
      if (optional) continue;
      throw new VolumeError(`${what}: key ${it.key} not found`);
    }
    out.push({ path: it.path, data: v, mode: it.mode });
  }
  return out;
};

export class PodVolumes {
  private pod: V1Pod;
  private readonly deps: VolumeDeps;
  private readonly paths = new Map<string, string>();
  private readonly tokens = new Map<string, IssuedToken>();

  constructor(pod: V1Pod, deps: VolumeDeps) {
    this.pod = pod;
    this.deps = deps;
  }

  private get ns(): string {
    return this.pod.metadata?.namespace ?? 'default';
  }

  private privateDir(name: string): string {
    return join(this.deps.podDir, 'volumes', name);
  }

  /** Sets up every volume; safe to call again after a VolumeError. */
  async prepare(pod: V1Pod): Promise<void> {
    this.pod = pod;
    for (const v of pod.spec?.volumes ?? []) {
      this.paths.set(v.name, await this.setUp(v, true));
    }
  }

  /** Re-renders API-backed volumes (ConfigMaps, Secrets, tokens near expiry), like the kubelet's periodic sync. */
  async refresh(pod: V1Pod): Promise<void> {
    this.pod = pod;
    for (const v of pod.spec?.volumes ?? []) {
      if (v.configMap || v.secret || v.projected || v.downwardAPI) await this.setUp(v, false);
    }
  }

  private async setUp(v: V1Volume, first: boolean): Promise<string> {
    const dir = this.privateDir(v.name);
    if (v.emptyDir) {
      mkdirSync(dir, { recursive: true });
      return dir;
    }
    if (v.configMap) {
      writeFiles(dir, await this.configMapFiles(v.configMap.name ?? '', v.configMap.items, !!v.configMap.optional), v.configMap.defaultMode);
      return dir;
    }
    if (v.secret) {
      writeFiles(dir, await this.secretFiles(v.secret.secretName ?? '', v.secret.items, !!v.secret.optional), v.secret.defaultMode);
      return dir;
    }
    if (v.downwardAPI) {
      writeFiles(dir, this.downwardFiles(v.downwardAPI.items ?? []), v.downwardAPI.defaultMode);
      return dir;
    }
    if (v.projected) {
      const files: FileOut[] = [];
      for (const src of v.projected.sources ?? []) {
        if (src.serviceAccountToken) {
          const t = await this.token(src.serviceAccountToken.audience, src.serviceAccountToken.expirationSeconds ?? 3600);
          files.push({ path: src.serviceAccountToken.path, data: Buffer.from(t), mode: undefined });
        } else if (src.configMap) {
          files.push(...(await this.configMapFiles(src.configMap.name ?? '', src.configMap.items, !!src.configMap.optional)));
        } else if (src.secret) {
          files.push(...(await this.secretFiles(src.secret.name ?? '', src.secret.items, !!src.secret.optional)));
        } else if (src.downwardAPI) {
          files.push(...this.downwardFiles(src.downwardAPI.items ?? []));
        }
      }
      writeFiles(dir, files, v.projected.defaultMode);
      return dir;
    }
    if (!first) return this.paths.get(v.name) ?? dir;
    if (v.persistentVolumeClaim) return this.claimPath(v.persistentVolumeClaim.claimName);
    if (v.hostPath) {
      if (v.hostPath.type === 'DirectoryOrCreate' || !v.hostPath.type) mkdirSync(v.hostPath.path, { recursive: true });
      return v.hostPath.path;
    }
    if (v.csi?.driver === 'efs.csi.aws.com') {
      return this.deps.efs.resolve(v.csi.volumeAttributes?.volumeHandle ?? '');
    }
    throw new VolumeError(`volume ${v.name}: unsupported volume type in the node simulator`);
  }

  private async claimPath(claimName: string): Promise<string> {
    const { core } = this.deps;
    let pvc;
    try {
      pvc = await core.readNamespacedPersistentVolumeClaim({ name: claimName, namespace: this.ns });
    } catch (e) {
      if ((e as { code?: number }).code === 404) throw new VolumeError(`persistentvolumeclaim "${claimName}" not found`);
      throw e;
    }
    const pvName = pvc.spec?.volumeName;
    if (!pvName || pvc.status?.phase !== 'Bound') throw new VolumeError(`persistentvolumeclaim "${claimName}" is not bound`);
    const pv = await core.readPersistentVolume({ name: pvName });
    const spec = pv.spec ?? {};
    if (spec.csi?.driver === 'efs.csi.aws.com') return this.deps.efs.resolve(spec.csi.volumeHandle);
    if (spec.hostPath) {
      mkdirSync(spec.hostPath.path, { recursive: true });
      return spec.hostPath.path;
    }
    if (spec.local) return spec.local.path;
    throw new VolumeError(`persistentvolume ${pvName}: only EFS CSI, hostPath and local volumes are simulated`);
  }

  private async token(audience: string | undefined, expirationSeconds: number): Promise<string> {
    const key = `${audience ?? ''}/${expirationSeconds}`;
    const have = this.tokens.get(key);
    if (have && Date.now() < have.refreshAt) return have.token;
    const t = await requestToken(this.deps.core, this.pod, audience, expirationSeconds);
    this.tokens.set(key, t);
    return t.token;
  }

  private async configMapFiles(name: string, items: V1KeyToPath[] | undefined, optional: boolean): Promise<FileOut[]> {
    const cm = await this.deps.objects.configMap(this.ns, name);
    if (!cm) {
      if (optional) return [];
      throw new VolumeError(`configmap "${name}" not found`);
    }
    const data: Record<string, Buffer> = {};
    for (const [k, v] of Object.entries(cm.data ?? {})) data[k] = Buffer.from(v);
    for (const [k, v] of Object.entries(cm.binaryData ?? {})) data[k] = Buffer.from(v, 'base64');
    return keyFiles(data, items, `configmap ${name}`, optional);
  }

  private async secretFiles(name: string, items: V1KeyToPath[] | undefined, optional: boolean): Promise<FileOut[]> {
    const s = await this.deps.objects.secret(this.ns, name);
    if (!s) {
      if (optional) return [];
      throw new VolumeError(`secret "${name}" not found`);
    }
    const data: Record<string, Buffer> = {};
    for (const [k, v] of Object.entries(s.data ?? {})) data[k] = Buffer.from(v, 'base64');
    return keyFiles(data, items, `secret ${name}`, optional);
  }

  private downwardFiles(items: V1DownwardAPIVolumeFile[]): FileOut[] {
    return items.map((it) => {
      let value = '';
      if (it.fieldRef) value = fieldValue(this.pod, it.fieldRef, this.deps.addresses);
      else if (it.resourceFieldRef) value = resourceValue(this.pod, undefined, it.resourceFieldRef, this.deps.allocatable);
      return { path: it.path, data: Buffer.from(value), mode: it.mode };
    });
  }

  /** Bind mounts for one container, plus per-pod files (/etc/hosts, /etc/resolv.conf) unless it mounts its own there. */
  mounts(container: V1Container, podFiles: Record<string, string>): Mount[] {
    const out: Mount[] = [];
    for (const vm of container.volumeMounts ?? []) {
      const base = this.paths.get(vm.name);
      if (base === undefined) throw new VolumeError(`container ${container.name}: no volume ${vm.name}`);
      let source = base;
      let kind: Mount['kind'] = 'dir';
      if (vm.subPath) {
        source = safeJoin(base, vm.subPath);
        // A subPath may name one file of a ConfigMap or Secret volume.
        if (existsSync(source) && statSync(source).isFile()) kind = 'file';
        else mkdirSync(source, { recursive: true });
      }
      out.push({ kind, source, target: vm.mountPath, readOnly: !!vm.readOnly });
    }
    for (const [target, source] of Object.entries(podFiles)) {
      if (!out.some((m) => m.target === target)) out.push({ kind: 'file', source, target, readOnly: false });
    }
    return out;
  }

  /** Removes the pod's private volumes; shared ones (EFS, hostPath) stay. */
  cleanup(): void {
    rmSync(join(this.deps.podDir, 'volumes'), { recursive: true, force: true });
  }
}
