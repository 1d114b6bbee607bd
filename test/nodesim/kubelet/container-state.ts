// What the simulated runtime knows about one container, and its
// containerStatuses entry as the kubelet reports it.
import { createHash } from 'node:crypto';
import type { V1Container, V1ContainerStatus } from '@kubernetes/client-node';
import { imageRepository } from '../images.ts';
import type { RunningProcess } from './process.ts';
import type { Prober } from './probes.ts';

export interface Terminated {
  exitCode: number;
  signal?: number;
  reason: string;
  message?: string;
  startedAt: string;
  finishedAt: string;
  containerID: string;
}

export interface ContainerState {
  spec: V1Container;
  init: boolean;
  /** An init container with restartPolicy Always (a sidecar). */
  sidecar: boolean;
  proc?: RunningProcess;
  containerID?: string;
  startedAt?: string;
  ready: boolean;
  restartCount: number;
  waiting?: { reason: string; message?: string };
  terminated?: Terminated;
  lastTerminated?: Terminated;
  oomKilled: boolean;
  /** Set once the container has been started at least once. */
  everStarted: boolean;
  prober?: Prober;
  liveness?: Prober;
  restartTimer?: NodeJS.Timeout;
}

export const newContainerState = (spec: V1Container, init: boolean): ContainerState => ({
  spec,
  init,
  sidecar: init && spec.restartPolicy === 'Always',
  ready: false,
  restartCount: 0,
  waiting: { reason: 'ContainerCreating' },
  oomKilled: false,
  everStarted: false,
});

export const imageID = (image: string): string =>
  `${imageRepository(image)}@sha256:${createHash('sha256').update(image).digest('hex')}`;

export const containerStatus = (c: ContainerState): V1ContainerStatus => {
  const running = !!c.proc && !c.terminated;
  const s: Record<string, unknown> = {
    name: c.spec.name,
    image: c.spec.image ?? '',
    imageID: c.everStarted ? imageID(c.spec.image ?? '') : '',
    ready: running && c.ready,
    started: running,
    restartCount: c.restartCount,
    state: running
      ? { running: { startedAt: c.startedAt } }
      : c.terminated
        ? { terminated: c.terminated }
        : { waiting: c.waiting ?? { reason: 'ContainerCreating' } },
    lastState: c.lastTerminated ? { terminated: c.lastTerminated } : {},
  };
  if (c.containerID && (running || c.terminated)) s.containerID = c.containerID;
  return s as unknown as V1ContainerStatus;
};
