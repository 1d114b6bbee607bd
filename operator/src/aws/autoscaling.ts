// The Auto Scaling operations the operator needs, and no others. The scaling
// rules (architecture.md 1-3) are enforced here, not only in the planner:
// there is no method that lowers DesiredCapacity, setDesiredCapacity writes
// max(current, requested) from a fresh read, and scale-in is only
// TerminateInstanceInAutoScalingGroup on a named instance with decrement.
import {
  CreateOrUpdateTagsCommand,
  DeleteTagsCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
  ResumeProcessesCommand,
  SetDesiredCapacityCommand,
  SetInstanceProtectionCommand,
  SuspendProcessesCommand,
  TerminateInstanceInAutoScalingGroupCommand,
  UpdateAutoScalingGroupCommand,
  type AutoScalingClient,
  type AutoScalingGroup,
  type DescribeAutoScalingGroupsCommandInput,
  type Instance,
} from '@aws-sdk/client-auto-scaling';
import { allPages, ASG_INSTANCES_PER_CALL, ASG_NAMES_PER_CALL, chunk, inChunks, unique } from './batch.ts';
import { TtlCache } from './cache.ts';
import { AmbiguousGroupError, AwsRequestError, AwsSafetyError, GroupNotFoundError } from './errors.ts';
import { KeyedMutex } from './keyed-mutex.ts';
import { RetryPolicy, type AttemptContext } from './retry.ts';

export interface GroupInstance {
  instanceId: string;
  /** InService, Pending, Terminating, Terminating:Wait, Standby... */
  lifecycleState: string;
  /** Healthy | Unhealthy */
  healthStatus: string;
  protectedFromScaleIn: boolean;
  zone: string;
  instanceType: string;
}

export interface Group {
  name: string;
  desired: number;
  min: number;
  max: number;
  instances: GroupInstance[];
  suspendedProcesses: string[];
  newInstancesProtectedFromScaleIn: boolean;
  tags: Record<string, string>;
}

/** An instance as DescribeAutoScalingInstances reports it: with its group. */
export interface AsgInstance extends GroupInstance {
  groupName: string;
}

export interface SetDesiredResult {
  group: string;
  /** What the caller asked for. */
  requested: number;
  /** Desired capacity read fresh before deciding. */
  previous: number;
  /** Desired capacity now (equal to previous when nothing was written). */
  desired: number;
  /** Whether SetDesiredCapacity was called. */
  wrote: boolean;
  /** requested was above the group's MaxSize; desired was raised to max only. */
  limitedByMax: boolean;
}

export interface ProtectionResult {
  group: string;
  protected: boolean;
  /** Instances whose protection was changed. */
  updated: string[];
  /** Already in the asked-for state: no write. */
  unchanged: string[];
  /** Not (or no longer) in the group: nothing done for them. */
  notInGroup: string[];
}

export interface ChangeResult {
  group: string;
  /** false: the group was already in the asked-for state and nothing was written. */
  changed: boolean;
}

export type TerminateResult =
  | { outcome: 'terminated'; instanceId: string; group: string }
  /** Already on its way out (Terminating*, or gone by the time AWS saw our call). */
  | { outcome: 'alreadyTerminating'; instanceId: string; group: string; lifecycleState: string }
  /** Not in any Auto Scaling group any more: the step is done. */
  | { outcome: 'notFound'; instanceId: string };

/** What claiming a group for one owner found. */
export type ClaimResult =
  | { claimed: true; group: string; owner: string; changed: boolean }
  /** Another owner's tag is on the group: nothing was written. */
  | { claimed: false; group: string; owner: string };

export interface ReleaseResult {
  group: string;
  /** false: the tag was absent or named another owner, and nothing was written. */
  released: boolean;
  /** The owner the tag named before, if any. */
  previousOwner?: string;
}

/**
 * The tag that says which KdbCluster a node group's ASG serves. One owner
 * per group: a second cluster on the same group would count the other's
 * nodes as free and terminate its servers.
 */
export const OWNER_TAG = 'kdb-operator.dev/owner';

/** The tags that find an EKS managed node group's ASG: cluster and node group together. */
export const nodeGroupTags = (eksClusterName: string, nodeGroup: string): Record<string, string> => ({
  'eks:cluster-name': eksClusterName,
  'eks:nodegroup-name': nodeGroup,
});

/** Every tag present with exactly this value. */
export const hasTags = (g: Pick<Group, 'tags'>, tags: Record<string, string>): boolean =>
  Object.entries(tags).every(([k, v]) => g.tags[k] === v);

/**
 * `owner`: write only if the group's OWNER_TAG names this owner, checked on
 * the fresh read every write starts from. The planner already keeps off
 * groups of other owners; this holds even for a plan made from a stale view.
 */
export interface OwnerGuard {
  owner?: string;
}

export interface AutoScalingOptions {
  /** How long describe results are reused. */
  cacheTtlMs?: number;
  /**
   * A describe made anyway also refreshes the cached groups due within this
   * long (default half the TTL), 100 names a call: many pools' reads at rest
   * become a few calls a minute instead of one each.
   */
  refreshAheadMs?: number;
  /** How long the groups a tag query found are reused (default 5 minutes); their contents follow cacheTtlMs. */
  tagQueryTtlMs?: number;
  now?: () => number;
}

export const DEFAULT_GROUP_CACHE_TTL_MS = 60_000;
/** At most this many calls' worth of groups (100 each) are refreshed ahead by one read. */
export const REFRESH_AHEAD_MAX_CALLS = 5;
/** Which groups carry a node group's tags changes only when a group is created or deleted. */
export const DEFAULT_TAG_QUERY_TTL_MS = 5 * 60_000;

type Sender = Pick<AutoScalingClient, 'send'>;

const TERMINATING = /^Terminat/; // Terminating, Terminating:Wait, Terminating:Proceed, Terminated
const AZ_REBALANCE = 'AZRebalance';

// AWS answers a terminate for an instance that already left the group (or is
// leaving it) with a ValidationError whose message is the only discriminator.
const NOT_FOUND_MESSAGE = /no managed instance found|instance id not found|not part of auto ?scaling group/i;
const TERMINATING_MESSAGE = /is terminat|already terminat|in terminat/i;

/** The fields an ASG's instance list and DescribeAutoScalingInstances share. */
type InstanceFields = Pick<Instance, 'InstanceId' | 'HealthStatus' | 'ProtectedFromScaleIn' | 'AvailabilityZone' | 'InstanceType'> & {
  LifecycleState?: string | undefined;
};

export const toGroupInstance = (i: InstanceFields): GroupInstance => ({
  instanceId: i.InstanceId ?? '',
  lifecycleState: i.LifecycleState ?? 'Unknown',
  healthStatus: i.HealthStatus ?? 'Unknown',
  protectedFromScaleIn: i.ProtectedFromScaleIn === true,
  zone: i.AvailabilityZone ?? '',
  instanceType: i.InstanceType ?? '',
});

export const toGroup = (g: AutoScalingGroup): Group => ({
  name: g.AutoScalingGroupName ?? '',
  desired: g.DesiredCapacity ?? 0,
  min: g.MinSize ?? 0,
  max: g.MaxSize ?? 0,
  instances: (g.Instances ?? []).map(toGroupInstance).sort((a, b) => a.instanceId.localeCompare(b.instanceId)),
  suspendedProcesses: (g.SuspendedProcesses ?? [])
    .map((p) => p.ProcessName ?? '')
    .filter((n) => n !== '')
    .sort(),
  newInstancesProtectedFromScaleIn: g.NewInstancesProtectedFromScaleIn === true,
  tags: Object.fromEntries((g.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
});

const freezeGroup = (g: Group): Group => {
  for (const i of g.instances) Object.freeze(i);
  Object.freeze(g.instances);
  Object.freeze(g.suspendedProcesses);
  Object.freeze(g.tags);
  return Object.freeze(g);
};

/** Cache key of a tag query: order-independent. */
export const tagQueryKey = (tags: Record<string, string>): string =>
  JSON.stringify(Object.entries(tags).sort(([a], [b]) => a.localeCompare(b)));

export class AutoScaling {
  readonly #client: Sender;
  readonly #retry: RetryPolicy;
  readonly #groups: TtlCache<string, Group>;
  readonly #tagQueries: TtlCache<string, string[]>;
  readonly #groupLock = new KeyedMutex();
  readonly #refreshAheadMs: number;
  /** Tag queries that found nothing: asked again at the group TTL, so a group created later is found soon. */
  readonly #emptyTagQueries: TtlCache<string, true>;
  /** When each group was last asked for by a caller: only those are refreshed ahead (a removed pool's group is let go). */
  readonly #askedAt = new Map<string, number>();
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(client: Sender, retry: RetryPolicy, options: AutoScalingOptions = {}) {
    this.#client = client;
    this.#retry = retry;
    const ttlMs = options.cacheTtlMs ?? DEFAULT_GROUP_CACHE_TTL_MS;
    const now = options.now ?? (() => performance.now());
    this.#groups = new TtlCache({ ttlMs, now });
    this.#tagQueries = new TtlCache({ ttlMs: ttlMs <= 0 ? 0 : (options.tagQueryTtlMs ?? Math.max(ttlMs, DEFAULT_TAG_QUERY_TTL_MS)), now });
    this.#emptyTagQueries = new TtlCache({ ttlMs, now });
    this.#refreshAheadMs = options.refreshAheadMs ?? ttlMs / 2;
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  /**
   * Groups by name, from the cache unless `fresh`. Unknown names are simply
   * absent from the result. Batched 100 names per call; no call for [].
   */
  async describeGroups(names: readonly string[], options: { fresh?: boolean } = {}): Promise<Group[]> {
    const wanted = unique(names);
    const at = this.#now();
    for (const n of wanted) this.#askedAt.set(n, at);
    const cached = new Map<string, Group>();
    if (options.fresh !== true) {
      for (const n of wanted) {
        const g = this.#groups.get(n);
        if (g !== undefined) cached.set(n, g);
      }
    }
    const missing = wanted.filter((n) => !cached.has(n));
    const fetched = await inChunks(this.#withRefreshAhead(missing), ASG_NAMES_PER_CALL, (batch) =>
      this.#describeAll({ AutoScalingGroupNames: batch }),
    );
    for (const g of fetched) if (missing.includes(g.name)) cached.set(g.name, g);
    return wanted.flatMap((n) => cached.get(n) ?? []);
  }

  /**
   * The names to ask for and, since a call is made anyway, every other group
   * asked for lately whose cached copy is due within refreshAheadMs. At rest
   * the cache then settles into one cohort read together once per TTL, 100
   * names a call: 200 pools cost 2 calls a minute, not 200, and each group is
   * read about once a minute. Bounded, so one reconcile never waits on a
   * long run of calls.
   */
  #withRefreshAhead(missing: readonly string[]): string[] {
    if (missing.length === 0 || this.#refreshAheadMs <= 0) return [...missing];
    const now = this.#now();
    for (const [n, at] of this.#askedAt) if (now - at > 2 * this.#ttlMs) this.#askedAt.delete(n);
    const asked = new Set(missing);
    // Expired ones too: a cohort read together expires together, and its first read must take the rest along.
    const due = [...this.#askedAt.keys()]
      .filter((n) => !asked.has(n))
      .map((n) => ({ n, left: this.#groups.remainingMs(n) }))
      .filter((x) => x.left <= this.#refreshAheadMs)
      .sort((a, b) => a.left - b.left)
      .map((x) => x.n);
    return [...missing, ...due.slice(0, REFRESH_AHEAD_MAX_CALLS * ASG_NAMES_PER_CALL)];
  }

  async describeGroup(name: string, options: { fresh?: boolean } = {}): Promise<Group | undefined> {
    return (await this.describeGroups([name], options))[0];
  }

  /**
   * The one group carrying all these tags (e.g. eks:cluster-name and
   * eks:nodegroup-name), or undefined. Several matches throw
   * AmbiguousGroupError: we never guess which group to scale.
   */
  async findGroupByTags(tags: Record<string, string>, options: { fresh?: boolean } = {}): Promise<Group | undefined> {
    const groups = await this.findGroupsByTags(tags, options);
    if (groups.length > 1) throw new AmbiguousGroupError(tags, groups.map((g) => g.name));
    return groups[0];
  }

  /** Every group carrying all these tags, sorted by name (the caller decides what several mean). */
  async findGroupsByTags(tags: Record<string, string>, options: { fresh?: boolean } = {}): Promise<Group[]> {
    const entries = Object.entries(tags);
    if (entries.length === 0) throw new RangeError('findGroupByTags needs at least one tag');
    const key = tagQueryKey(tags);
    const names = options.fresh === true ? undefined : this.#tagQueries.get(key) ?? (this.#emptyTagQueries.get(key) ? [] : undefined);
    if (names !== undefined) {
      // The groups' contents by name (coalesced with other pools' reads); the
      // tag query is asked again if one is gone or no longer carries the tags.
      const groups = await this.describeGroups(names, options);
      if (groups.length === names.length && groups.every((g) => hasTags(g, tags))) return groups;
      this.#tagQueries.delete(key);
    }
    const found = await this.#describeAll({ Filters: entries.map(([k, v]) => ({ Name: `tag:${k}`, Values: [v] })) });
    // Filters are ANDed by AWS; check again in case an emulator is lax.
    const groups = found.filter((g) => hasTags(g, tags)).sort((a, b) => a.name.localeCompare(b.name));
    // Asked for by this lookup: refreshed ahead with the others from now on.
    const at = this.#now();
    for (const g of groups) this.#askedAt.set(g.name, at);
    if (groups.length > 0) this.#tagQueries.set(key, groups.map((g) => g.name));
    else this.#emptyTagQueries.set(key, true);
    return groups;
  }

  /**
   * Auto Scaling's view of these instances (group, lifecycle, protection).
   * Instances in no group are absent. Batched 50 per call; never cached.
   */
  async describeAutoScalingInstances(instanceIds: readonly string[]): Promise<AsgInstance[]> {
    return inChunks(instanceIds, ASG_INSTANCES_PER_CALL, async (batch) => {
      const pages = await allPages(
        (token) =>
          this.#call('DescribeAutoScalingInstances', ({ signal }) =>
            this.#client.send(
              new DescribeAutoScalingInstancesCommand({ InstanceIds: batch, MaxRecords: ASG_INSTANCES_PER_CALL, NextToken: token }),
              { abortSignal: signal },
            ),
          ),
        (p) => p.NextToken,
      );
      const wanted = new Set(batch);
      return pages
        .flatMap((p) => p.AutoScalingInstances ?? [])
        .filter((i) => wanted.has(i.InstanceId ?? ''))
        .map((i) => ({ ...toGroupInstance(i), groupName: i.AutoScalingGroupName ?? '' }));
    });
  }

  /**
   * Raise desired capacity to `value`; never lower it. Reads the group fresh
   * and writes max(current, min(value, MaxSize)) with HonorCooldown false, or
   * nothing at all when current already covers it. Absolute, so a repeat
   * or a restarted operator cannot add a second server for one fill.
   *
   * There is no atomic compare-and-set on DesiredCapacity: between our read
   * and write another writer could raise it further and we would write a
   * lower value. The operator must be the only writer of the RDB group's
   * desired capacity (leader election, other autoscalers kept off the group).
   */
  async setDesiredCapacity(group: string, value: number, guard: OwnerGuard = {}): Promise<SetDesiredResult> {
    if (!Number.isInteger(value) || value < 0) throw new RangeError(`desired capacity must be a non-negative integer, got ${value}`);
    return this.#groupLock.run(group, () => this.#raiseDesired(group, value, guard));
  }

  async #raiseDesired(group: string, value: number, guard: OwnerGuard): Promise<SetDesiredResult> {
    const g = await this.#mustDescribeFresh(group, guard);
    const target = Math.min(value, g.max);
    const limitedByMax = value > g.max;
    if (g.desired >= target) {
      return { group, requested: value, previous: g.desired, desired: g.desired, wrote: false, limitedByMax };
    }
    await this.#mutate(group, 'SetDesiredCapacity', (signal) =>
      this.#client.send(
        new SetDesiredCapacityCommand({ AutoScalingGroupName: group, DesiredCapacity: target, HonorCooldown: false }),
        { abortSignal: signal },
      ),
    );
    return { group, requested: value, previous: g.desired, desired: target, wrote: true, limitedByMax };
  }

  /**
   * Turn scale-in protection on or off for instances of `group`. Only the
   * instances whose state differs are written; instances no longer in the
   * group are reported, not errors (removing protection from a gone
   * instance is trivially done).
   */
  async setInstanceProtection(group: string, instanceIds: readonly string[], protect: boolean, guard: OwnerGuard = {}): Promise<ProtectionResult> {
    const ids = unique(instanceIds);
    const result: ProtectionResult = { group, protected: protect, updated: [], unchanged: [], notInGroup: [] };
    if (ids.length === 0) return result;
    return this.#groupLock.run(group, () => this.#protect(group, ids, protect, result, guard));
  }

  async #protect(group: string, ids: string[], protect: boolean, result: ProtectionResult, guard: OwnerGuard): Promise<ProtectionResult> {
    const g = await this.#mustDescribeFresh(group, guard);
    const byId = new Map(g.instances.map((i) => [i.instanceId, i]));
    const toChange: string[] = [];
    for (const id of ids) {
      const inst = byId.get(id);
      if (inst === undefined || TERMINATING.test(inst.lifecycleState)) result.notInGroup.push(id);
      else if (inst.protectedFromScaleIn === protect) result.unchanged.push(id);
      else toChange.push(id);
    }
    for (const batch of chunk(toChange, ASG_INSTANCES_PER_CALL)) {
      await this.#mutate(group, 'SetInstanceProtection', (signal) =>
        this.#client.send(
          new SetInstanceProtectionCommand({ AutoScalingGroupName: group, InstanceIds: batch, ProtectedFromScaleIn: protect }),
          { abortSignal: signal },
        ),
      );
      result.updated.push(...batch);
    }
    return result;
  }

  /** NewInstancesProtectedFromScaleIn=true, so a new RDB node is protected from its first second. */
  async protectNewInstances(group: string, guard: OwnerGuard = {}): Promise<ChangeResult> {
    const g = await this.#mustDescribeFresh(group, guard);
    if (g.newInstancesProtectedFromScaleIn) return { group, changed: false };
    await this.#mutate(group, 'UpdateAutoScalingGroup', (signal) =>
      this.#client.send(
        new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: group, NewInstancesProtectedFromScaleIn: true }),
        { abortSignal: signal },
      ),
    );
    return { group, changed: true };
  }

  /**
   * Suspend AZRebalance: after we terminate named instances the zones go out
   * of balance, and AZRebalance would then pick a victim of its own.
   */
  async suspendAZRebalance(group: string, guard: OwnerGuard = {}): Promise<ChangeResult> {
    const g = await this.#mustDescribeFresh(group, guard);
    if (g.suspendedProcesses.includes(AZ_REBALANCE)) return { group, changed: false };
    await this.#mutate(group, 'SuspendProcesses', (signal) =>
      this.#client.send(new SuspendProcessesCommand({ AutoScalingGroupName: group, ScalingProcesses: [AZ_REBALANCE] }), {
        abortSignal: signal,
      }),
    );
    return { group, changed: true };
  }

  async resumeAZRebalance(group: string): Promise<ChangeResult> {
    const g = await this.#mustDescribeFresh(group);
    if (!g.suspendedProcesses.includes(AZ_REBALANCE)) return { group, changed: false };
    await this.#mutate(group, 'ResumeProcesses', (signal) =>
      this.#client.send(new ResumeProcessesCommand({ AutoScalingGroupName: group, ScalingProcesses: [AZ_REBALANCE] }), {
        abortSignal: signal,
      }),
    );
    return { group, changed: true };
  }

  /**
   * Terminate exactly this instance and lower desired capacity by one
   * (ShouldDecrementDesiredCapacity is always true: without it the group
   * would launch a replacement). Safe to repeat: an instance already
   * terminating or gone counts as done. `expectedGroup` guards against
   * terminating an instance of another group (stale node->instance mapping).
   *
   * AWS refuses the decrement when desired == MinSize (ValidationError,
   * surfaced as AwsRequestError); keep the RDB group's MinSize below the
   * count being scaled in.
   */
  async terminateInstanceInGroup(instanceId: string, options: { expectedGroup?: string } & OwnerGuard = {}): Promise<TerminateResult> {
    const [inst] = await this.describeAutoScalingInstances([instanceId]);
    if (inst === undefined) return { outcome: 'notFound', instanceId };
    if (options.expectedGroup !== undefined && inst.groupName !== options.expectedGroup) {
      throw new AwsSafetyError(
        `refusing to terminate ${instanceId}: it belongs to group ${inst.groupName}, not ${options.expectedGroup}`,
      );
    }
    if (options.owner !== undefined) await this.#mustDescribeFresh(inst.groupName, options);
    if (TERMINATING.test(inst.lifecycleState)) {
      return { outcome: 'alreadyTerminating', instanceId, group: inst.groupName, lifecycleState: inst.lifecycleState };
    }
    return this.#groupLock.run(inst.groupName, () => this.#terminate(inst));
  }

  async #terminate(inst: AsgInstance): Promise<TerminateResult> {
    const instanceId = inst.instanceId;
    try {
      await this.#mutate(inst.groupName, 'TerminateInstanceInAutoScalingGroup', (signal) =>
        this.#client.send(
          new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: instanceId, ShouldDecrementDesiredCapacity: true }),
          { abortSignal: signal },
        ),
      );
    } catch (e) {
      // Lost a race with another terminate (or our own earlier attempt whose
      // answer never arrived): the instance is on its way out, which is done.
      if (e instanceof AwsRequestError && e.code === 'ValidationError') {
        if (NOT_FOUND_MESSAGE.test(e.awsMessage)) return { outcome: 'notFound', instanceId };
        if (TERMINATING_MESSAGE.test(e.awsMessage)) {
          return { outcome: 'alreadyTerminating', instanceId, group: inst.groupName, lifecycleState: 'Unknown' };
        }
      }
      throw e;
    }
    return { outcome: 'terminated', instanceId, group: inst.groupName };
  }

  /**
   * Write `owner` into the group's OWNER_TAG unless another owner's tag is
   * there, from a fresh read under the group's lock. Idempotent.
   */
  async claimGroup(group: string, owner: string): Promise<ClaimResult> {
    if (owner === '') throw new RangeError('claimGroup needs a non-empty owner');
    return this.#groupLock.run(group, async (): Promise<ClaimResult> => {
      const g = await this.#mustDescribeFresh(group);
      const current = g.tags[OWNER_TAG];
      if (current !== undefined && current !== '' && current !== owner) return { claimed: false, group, owner: current };
      if (current === owner) return { claimed: true, group, owner, changed: false };
      await this.#mutate(group, 'CreateOrUpdateTags', (signal) =>
        this.#client.send(
          new CreateOrUpdateTagsCommand({
            Tags: [{ ResourceId: group, ResourceType: 'auto-scaling-group', Key: OWNER_TAG, Value: owner, PropagateAtLaunch: false }],
          }),
          { abortSignal: signal },
        ),
      );
      return { claimed: true, group, owner, changed: true };
    });
  }

  /** Remove OWNER_TAG if it names `owner`; another owner's claim is never touched. */
  async releaseGroup(group: string, owner: string): Promise<ReleaseResult> {
    return this.#groupLock.run(group, async (): Promise<ReleaseResult> => {
      const g = await this.describeGroup(group, { fresh: true });
      const current = g?.tags[OWNER_TAG];
      const before = current !== undefined ? { previousOwner: current } : {};
      if (g === undefined || current !== owner) return { group, released: false, ...before };
      await this.#mutate(group, 'DeleteTags', (signal) =>
        this.#client.send(
          new DeleteTagsCommand({ Tags: [{ ResourceId: group, ResourceType: 'auto-scaling-group', Key: OWNER_TAG, Value: owner }] }),
          { abortSignal: signal },
        ),
      );
      return { group, released: true, ...before };
    });
  }

  /** Forget cached describe results (one group, or all). */
  invalidate(group?: string): void {
    if (group === undefined) {
      this.#groups.clear();
      this.#tagQueries.clear();
      this.#emptyTagQueries.clear();
      return;
    }
    this.#groups.delete(group);
    this.#tagQueries.deleteWhere((_k, names) => names.includes(group));
  }

  async #describeAll(input: DescribeAutoScalingGroupsCommandInput): Promise<Group[]> {
    const pages = await allPages(
      (token) =>
        this.#call('DescribeAutoScalingGroups', ({ signal }) =>
          this.#client.send(new DescribeAutoScalingGroupsCommand({ ...input, MaxRecords: 100, NextToken: token }), {
            abortSignal: signal,
          }),
        ),
      (p) => p.NextToken,
    );
    // Frozen: the same objects are served from the cache to every caller.
    const groups = pages.flatMap((p) => p.AutoScalingGroups ?? []).map((g) => freezeGroup(toGroup(g)));
    for (const g of groups) this.#groups.set(g.name, g);
    return groups;
  }

  async #mustDescribeFresh(group: string, guard: OwnerGuard = {}): Promise<Group> {
    const g = await this.describeGroup(group, { fresh: true });
    // Checked here because moto answers writes to unknown groups with a 500,
    // which would otherwise be retried as an outage.
    if (g === undefined) throw new GroupNotFoundError(group);
    if (guard.owner !== undefined && g.tags[OWNER_TAG] !== guard.owner) {
      const current = g.tags[OWNER_TAG];
      throw new AwsSafetyError(
        `refusing to change group ${group}: its ${OWNER_TAG} tag is ${current === undefined ? 'absent' : `"${current}"`}, not "${guard.owner}"`,
      );
    }
    return g;
  }

  // Invalidate even when the write failed: its effect is unknown.
  async #mutate<T>(group: string, operation: string, send: (signal: AbortSignal) => Promise<T>): Promise<T> {
    try {
      return await this.#call(operation, ({ signal }) => send(signal));
    } finally {
      this.invalidate(group);
    }
  }

  #call<T>(operation: string, fn: (ctx: AttemptContext) => Promise<T>): Promise<T> {
    return this.#retry.execute(operation, fn);
  }
}
