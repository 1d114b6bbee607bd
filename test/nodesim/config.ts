// Settings of the node simulator, all from the environment so up.sh and tests
// can tune them without flags.
import { join } from 'node:path';
import { repoRoot, stackDir } from '../lib/stack.ts';

const num = (name: string, dflt: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got ${raw}`);
  return n;
};

export interface SimConfig {
  repoRoot: string;
  stackDir: string;
  /** Per-pod scratch (emptyDirs, projected files, hosts files). */
  podsDir: string;
  efsDir: string;
  podLogsDir: string;
  motoUrl: string;
  region: string;
  bootDelayMs: number;
  pollMs: number;
  leaseRenewMs: number;
  nodeStatusMs: number;
  memoryCheckMs: number;
  /** Pods left bound to a deleted Node are force-deleted after this long if podgc has not. */
  orphanPodTimeoutMs: number;
  /** Initial restart back-off (doubles up to 5 min), as the kubelet's 10 s. */
  restartBackoffMs: number;
  apiserverHost: string;
  apiserverPort: number;
  kubeletVersion: string;
  /**
   * KDB_SIM_PROCESSES=none: containers are reported running and ready without
   * a process (no probes, no memory watch), for benchmarks of the control
   * plane with thousands of pods (bench/scale.ts). Default: run them.
   */
  runProcesses: boolean;
  /** Where the API server reaches every node's kubelet (node.status.daemonEndpoints, default 10250) for pods/log. */
  kubeletPort: number;
}

export const loadConfig = (): SimConfig => {
  const stack = stackDir();
  return {
    repoRoot,
    stackDir: stack,
    podsDir: join(stack, 'nodesim', 'pods'),
    efsDir: join(stack, 'efs'),
    podLogsDir: join(stack, 'logs', 'pods'),
    motoUrl: process.env.KDB_MOTO_URL ?? 'http://127.0.0.1:15000',
    region: process.env.AWS_REGION ?? 'us-east-1',
    bootDelayMs: num('KDB_SIM_BOOT_DELAY_MS', 3000),
    pollMs: num('KDB_SIM_POLL_MS', 1000),
    leaseRenewMs: num('KDB_SIM_LEASE_RENEW_MS', 10_000),
    nodeStatusMs: num('KDB_SIM_NODE_STATUS_MS', 10_000),
    memoryCheckMs: num('KDB_SIM_MEMORY_CHECK_MS', 500),
    orphanPodTimeoutMs: num('KDB_SIM_ORPHAN_POD_TIMEOUT_MS', 90_000),
    restartBackoffMs: num('KDB_SIM_RESTART_BACKOFF_MS', 10_000),
    apiserverHost: '127.0.0.1',
    apiserverPort: num('KDB_SIM_APISERVER_PORT', 16443),
    kubeletVersion: process.env.KDB_SIM_KUBELET_VERSION ?? 'v1.36.3',
    kubeletPort: num('KDB_SIM_KUBELET_PORT', 10250),
    runProcesses: (process.env.KDB_SIM_PROCESSES ?? 'run') !== 'none',
  };
};
