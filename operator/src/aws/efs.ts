// EFS operations for KdbCluster storage: check the file system, and own one
// access point per (cluster, root path), found again by tag so a restarted
// operator adopts what it created instead of creating another.
import { createHash } from 'node:crypto';
import {
  CreateAccessPointCommand,
  DeleteAccessPointCommand,
  DescribeAccessPointsCommand,
  DescribeFileSystemsCommand,
  type AccessPointDescription,
  type EFSClient,
} from '@aws-sdk/client-efs';
import { allPages } from './batch.ts';
import { AwsRequestError } from './errors.ts';
import type { RetryPolicy } from './retry.ts';

export const CLUSTER_TAG = 'kdb-operator.dev/cluster';

export type FileSystemLookup =
  | { found: true; id: string; lifeCycleState: string }
  | { found: false; id: string };

export interface PosixUserSpec {
  uid: number;
  gid: number;
  secondaryGids?: number[];
}

export interface EnsureAccessPointInput {
  fileSystemId: string;
  /** `<namespace>/<name>` of the KdbCluster; stored in the CLUSTER_TAG tag. */
  clusterKey: string;
  /** Path inside the file system exposed as the access point's root. */
  rootPath: string;
  posixUser: PosixUserSpec;
  /** Owner/permissions EFS uses to create rootPath if missing. Defaults: posixUser, 0750. */
  creationInfo?: { ownerUid: number; ownerGid: number; permissions: string };
  /**
   * Distinguishes a re-created cluster of the same name (e.g. its UID), so an
   * old idempotency token cannot resurrect a deleted access point.
   */
  incarnation?: string;
}

export interface AccessPoint {
  id: string;
  fileSystemId: string;
  rootPath: string;
  /** creating | available | updating | deleting | deleted | error */
  lifeCycleState: string;
  posixUser: PosixUserSpec | undefined;
  clusterKey: string | undefined;
}

export interface EnsureAccessPointResult {
  accessPoint: AccessPoint;
  /** false: an existing access point (found by tag or by token) was adopted. */
  created: boolean;
}

type Sender = Pick<EFSClient, 'send'>;

const GONE_STATES = new Set(['deleting', 'deleted', 'error']);

/**
 * The CreateAccessPoint idempotency token: same inputs, same token, so a
 * create retried after a lost response returns the first access point
 * instead of making a second. At most 64 ASCII characters.
 */
export const accessPointClientToken = (input: Pick<EnsureAccessPointInput, 'fileSystemId' | 'clusterKey' | 'rootPath' | 'incarnation'>): string =>
  'kdb-' +
  createHash('sha256')
    .update([input.fileSystemId, input.clusterKey, input.rootPath, input.incarnation ?? ''].join('\n'))
    .digest('hex')
    .slice(0, 60);

export const toAccessPoint = (a: AccessPointDescription): AccessPoint => ({
  id: a.AccessPointId ?? '',
  fileSystemId: a.FileSystemId ?? '',
  rootPath: a.RootDirectory?.Path ?? '/',
  lifeCycleState: a.LifeCycleState ?? 'unknown',
  posixUser:
    a.PosixUser === undefined
      ? undefined
      : {
          uid: a.PosixUser.Uid ?? 0,
          gid: a.PosixUser.Gid ?? 0,
          ...(a.PosixUser.SecondaryGids !== undefined && a.PosixUser.SecondaryGids.length > 0
            ? { secondaryGids: a.PosixUser.SecondaryGids }
            : {}),
        },
  clusterKey: a.Tags?.find((t) => t.Key === CLUSTER_TAG)?.Value,
});

export interface EfsOptions {
  /**
   * How long a file system's description is reused (0: never). Many clusters
   * share one file system (deploy/aws makes one): every cluster's pass reads
   * it, and without sharing that is one DescribeFileSystems per cluster a
   * minute for the same answer. Default 60 s; a failed read is not kept.
   */
  fileSystemCacheMs?: number;
  now?: () => number;
}

export const DEFAULT_FILE_SYSTEM_CACHE_MS = 60_000;

export class Efs {
  readonly #client: Sender;
  readonly #retry: RetryPolicy;
  readonly #ttlMs: number;
  readonly #now: () => number;
  /** By file system id: the read in flight or done, shared by every caller. */
  readonly #fileSystems = new Map<string, { at: number; lookup: Promise<FileSystemLookup> }>();

  constructor(client: Sender, retry: RetryPolicy, options: EfsOptions = {}) {
    this.#client = client;
    this.#retry = retry;
    this.#ttlMs = options.fileSystemCacheMs ?? DEFAULT_FILE_SYSTEM_CACHE_MS;
    this.#now = options.now ?? Date.now;
  }

  /** The file system's state, read at most once per fileSystemCacheMs whoever asks. */
  describeFileSystem(id: string): Promise<FileSystemLookup> {
    const now = this.#now();
    const hit = this.#fileSystems.get(id);
    if (hit && now - hit.at < this.#ttlMs) return hit.lookup;
    const lookup = this.#readFileSystem(id);
    if (this.#ttlMs > 0) {
      this.#fileSystems.set(id, { at: now, lookup });
      lookup.catch(() => {
        if (this.#fileSystems.get(id)?.lookup === lookup) this.#fileSystems.delete(id);
      });
    }
    return lookup;
  }

  /** After the operator changed a file system's state itself (the next read goes to AWS). */
  forgetFileSystems(): void {
    this.#fileSystems.clear();
  }

  async #readFileSystem(id: string): Promise<FileSystemLookup> {
    try {
      const out = await this.#retry.execute('DescribeFileSystems', ({ signal }) =>
        this.#client.send(new DescribeFileSystemsCommand({ FileSystemId: id }), { abortSignal: signal }),
      );
      const fs = out.FileSystems?.find((f) => f.FileSystemId === id);
      if (fs === undefined) return { found: false, id };
      return { found: true, id, lifeCycleState: fs.LifeCycleState ?? 'unknown' };
    } catch (e) {
      if (e instanceof AwsRequestError && e.code === 'FileSystemNotFound') return { found: false, id };
      throw e;
    }
  }

  /** Live access points of a file system, optionally only those tagged for one cluster. */
  async listAccessPoints(fileSystemId: string, clusterKey?: string): Promise<AccessPoint[]> {
    const pages = await allPages(
      (token) =>
        this.#retry.execute('DescribeAccessPoints', ({ signal }) =>
          this.#client.send(new DescribeAccessPointsCommand({ FileSystemId: fileSystemId, MaxResults: 100, NextToken: token }), {
            abortSignal: signal,
          }),
        ),
      (p) => p.NextToken,
    );
    return pages
      .flatMap((p) => p.AccessPoints ?? [])
      .map(toAccessPoint)
      .filter((a) => a.fileSystemId === fileSystemId && !GONE_STATES.has(a.lifeCycleState))
      .filter((a) => clusterKey === undefined || a.clusterKey === clusterKey)
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  /**
   * The access point of this cluster and root path: found by tag first,
   * created (with a deterministic ClientToken) only when there is none.
   */
  async ensureAccessPoint(input: EnsureAccessPointInput): Promise<EnsureAccessPointResult> {
    const existing = (await this.listAccessPoints(input.fileSystemId, input.clusterKey)).find((a) => a.rootPath === input.rootPath);
    if (existing !== undefined) return { accessPoint: existing, created: false };
    const creation = input.creationInfo ?? { ownerUid: input.posixUser.uid, ownerGid: input.posixUser.gid, permissions: '0750' };
    try {
      const out = await this.#retry.execute('CreateAccessPoint', ({ signal }) =>
        this.#client.send(
          new CreateAccessPointCommand({
            ClientToken: accessPointClientToken(input),
            FileSystemId: input.fileSystemId,
            PosixUser: {
              Uid: input.posixUser.uid,
              Gid: input.posixUser.gid,
              ...(input.posixUser.secondaryGids !== undefined ? { SecondaryGids: input.posixUser.secondaryGids } : {}),
            },
            RootDirectory: {
              Path: input.rootPath,
              CreationInfo: { OwnerUid: creation.ownerUid, OwnerGid: creation.ownerGid, Permissions: creation.permissions },
            },
            Tags: [
              { Key: CLUSTER_TAG, Value: input.clusterKey },
              { Key: 'Name', Value: `kdb-${input.clusterKey.replace('/', '-')}` },
            ],
          }),
          { abortSignal: signal },
        ),
      );
      return { accessPoint: toAccessPoint(out), created: true };
    } catch (e) {
      // Same token seen before (our earlier attempt did land): adopt it.
      const id = alreadyExistingId(e);
      if (id === undefined) throw e;
      const found = (await this.listAccessPoints(input.fileSystemId)).find((a) => a.id === id);
      if (found === undefined) throw e;
      return { accessPoint: found, created: false };
    }
  }

  /** Delete an access point; `deleted: false` means it was already gone. */
  async deleteAccessPoint(id: string): Promise<{ id: string; deleted: boolean }> {
    // Look first: moto (unlike AWS) silently accepts deleting an unknown id,
    // and the answer should not depend on the backend.
    if (!(await this.#accessPointExists(id))) return { id, deleted: false };
    try {
      await this.#retry.execute('DeleteAccessPoint', ({ signal }) =>
        this.#client.send(new DeleteAccessPointCommand({ AccessPointId: id }), { abortSignal: signal }),
      );
      return { id, deleted: true };
    } catch (e) {
      if (e instanceof AwsRequestError && e.code === 'AccessPointNotFound') return { id, deleted: false };
      throw e;
    }
  }

  async #accessPointExists(id: string): Promise<boolean> {
    try {
      const out = await this.#retry.execute('DescribeAccessPoints', ({ signal }) =>
        this.#client.send(new DescribeAccessPointsCommand({ AccessPointId: id }), { abortSignal: signal }),
      );
      return (out.AccessPoints ?? []).some((a) => a.AccessPointId === id && !GONE_STATES.has(a.LifeCycleState ?? ''));
    } catch (e) {
      if (e instanceof AwsRequestError && e.code === 'AccessPointNotFound') return false;
      throw e;
    }
  }
}

const alreadyExistingId = (e: unknown): string | undefined => {
  if (!(e instanceof AwsRequestError) || e.code !== 'AccessPointAlreadyExists') return undefined;
  const id = (e.cause as { AccessPointId?: unknown } | undefined)?.AccessPointId;
  return typeof id === 'string' && id !== '' ? id : undefined;
};
