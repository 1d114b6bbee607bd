// The node simulator: EC2 instances of the node group ASGs in moto join the
// cluster as Nodes, and a kubelet stand-in runs their pods as local
// processes. Started last by test/stack/up.sh with the env of .stack/env.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import type { Server } from 'node:https';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { k8s, adminKubeConfig } from '../lib/kube.ts';
import { AddressPool } from './addresses.ts';
import { loadConfig, type SimConfig } from './config.ts';
import { ensureEfsCsiDriver } from './csi-driver.ts';
import { loadImages } from './images.ts';
import { InstanceSource } from './instances.ts';
import { EfsPaths } from './kubelet/efs.ts';
import { Kubelet } from './kubelet/kubelet.ts';
import { startLogServer } from './kubelet/logs.ts';
import { errMsg, log } from './log.ts';
import { NodeManager } from './nodes.ts';

const here = dirname(fileURLToPath(import.meta.url));

/** Builds the wildcard-bind shim (see bindshim.c); pods still run without it, sharing ports. */
const buildBindShim = (cfg: SimConfig): string | undefined => {
  if (process.env.KDB_SIM_BIND_SHIM === '0') return undefined;
  const src = join(here, 'bindshim.c');
  const out = join(cfg.stackDir, 'nodesim', 'bindshim.so');
  try {
    if (!existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs) {
      mkdirSync(dirname(out), { recursive: true });
      execFileSync('cc', ['-shared', '-fPIC', '-O2', '-o', out, src, '-ldl'], { stdio: 'pipe' });
    }
    return out;
  } catch (e) {
    log.warn('could not build the bind shim: pods listening on 0.0.0.0 will share ports', { error: errMsg(e) });
    return undefined;
  }
};

const main = async (): Promise<void> => {
  const cfg = loadConfig();
  for (const d of [cfg.podsDir, cfg.efsDir, cfg.podLogsDir]) mkdirSync(d, { recursive: true });
  const kc = adminKubeConfig();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const coord = kc.makeApiClient(k8s.CoordinationV1Api);
  const source = new InstanceSource(cfg.motoUrl, cfg.region);
  const efs = new EfsPaths(cfg.efsDir, cfg.motoUrl, cfg.region);
  const podAddresses = new AddressPool('127.10');
  const nodeAddresses = new AddressPool('127.20');

  let nodes: NodeManager | undefined;
  const kubelet = new Kubelet({
    cfg,
    kc,
    core,
    efs,
    images: loadImages(),
    podAddresses,
    bindShim: buildBindShim(cfg),
    node: (name) => nodes?.node(name),
  });
  nodes = new NodeManager(cfg, core, coord, source, nodeAddresses, {
    added: (name) => kubelet.nodeAdded(name),
    removed: (name) => kubelet.nodeRemoved(name),
  });

  let logServer: Server | undefined;
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info('stopping: killing pod processes', { signal });
    nodes?.stop();
    logServer?.close();
    await kubelet.stop();
    source.destroy();
    efs.destroy();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  await kubelet.start();
  // kubectl logs: a stack without it still runs pods, so a taken port is a warning.
  logServer = await startLogServer({ podLogsDir: cfg.podLogsDir, pkiDir: join(cfg.stackDir, 'pki'), port: cfg.kubeletPort }).catch((e: unknown) => {
    log.warn('kubectl logs will not work: the containerLogs endpoint did not start', { port: cfg.kubeletPort, error: errMsg(e) });
    return undefined;
  });
  await ensureEfsCsiDriver(kc.makeApiClient(k8s.StorageV1Api));
  // The API may still be coming up when up.sh starts us: retry the first listing.
  for (let delay = 500; ; delay = Math.min(delay * 2, 5000)) {
    try {
      await nodes.start();
      break;
    } catch (e) {
      log.warn('node manager start failed, retrying', { error: errMsg(e) });
      await new Promise((r) => setTimeout(r, delay));
    }
  }
  log.info('node simulator running', { moto: cfg.motoUrl, bootDelayMs: cfg.bootDelayMs, stackDir: cfg.stackDir });
};

main().catch((e: unknown) => {
  log.error('node simulator failed', { error: errMsg(e) });
  process.exit(1);
});
