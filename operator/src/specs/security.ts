import type { V1Container, V1PodSpec, V1Volume } from '../kube/types.ts';

/**
 * The uid and gid of the data plane: the images' own USER (1000:1000), so a
 * file the image ships is readable and EFS folders are written as one user.
 * An EFS access point the operator creates enforces its own POSIX user on
 * top (effect.ts), so the files on EFS are the access point's either way.
 */
export const DATA_PLANE_UID = 1000;
export const DATA_PLANE_GID = 1000;

/** Scratch for a read-only root file system: the q entrypoint decodes the licence here (QLIC). */
export const SCRATCH_VOLUME = 'tmp';
export const SCRATCH_DIR = '/tmp';

/** Pod level of Pod Security "restricted": non-root, RuntimeDefault seccomp. */
export const restrictedPodSecurityContext = (): NonNullable<V1PodSpec['securityContext']> => ({
  runAsNonRoot: true,
  runAsUser: DATA_PLANE_UID,
  runAsGroup: DATA_PLANE_GID,
  fsGroup: DATA_PLANE_GID,
  seccompProfile: { type: 'RuntimeDefault' },
});

/** Container level: no privilege escalation, no capabilities, nothing written outside the volumes. */
export const restrictedContainerSecurityContext = (): NonNullable<V1Container['securityContext']> => ({
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
});

export const scratchVolume = (): V1Volume => ({ name: SCRATCH_VOLUME, emptyDir: { sizeLimit: '64Mi' } });
export const scratchMount = (): NonNullable<V1Container['volumeMounts']>[number] => ({ name: SCRATCH_VOLUME, mountPath: SCRATCH_DIR });
