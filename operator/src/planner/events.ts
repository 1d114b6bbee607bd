import type { ClusterEvent } from './types.ts';

/**
 * Events as small value constructors: the planner returns them as data, the
 * effector posts them. Reasons are stable CamelCase words alerting can key on.
 */
const normal = (reason: string, message: string): ClusterEvent => ({ type: 'Normal', reason, message });
const warning = (reason: string, message: string): ClusterEvent => ({ type: 'Warning', reason, message });

export const ev = {
  rdbCreated: (pool: string, rdb: string, why: string) => normal('RdbCreated', `pool ${pool}: created RDB ${rdb} (${why})`),
  scaleOut: (pool: string, rdb: string, live: string, memoryPercent: number, threshold: number) =>
    normal(
      'ScaleOut',
      `pool ${pool}: live RDB ${live} at ${memoryPercent}% >= scaleThreshold ${threshold}%, created RDB ${rdb} to queue behind it`,
    ),
  /** Same reason as scaleOut (it is one); the message says the prediction. */
  predictedScaleOut: (pool: string, rdb: string, live: string, memoryPercent: number, why: string) =>
    normal('ScaleOut', `pool ${pool}: live RDB ${live} at ${memoryPercent}%: ${why}; created RDB ${rdb} to queue behind it (policy predictive)`),
  desiredRaised: (group: string, from: number, to: number) =>
    normal('DesiredCapacityRaised', `ASG ${group}: desired capacity ${from} -> ${to} for RDB pods that need a node`),
  capacityLimited: (pool: string, why: string) => warning('CapacityLimited', `pool ${pool}: cannot add an RDB: ${why}`),
  capacityAvailable: () => normal('CapacityAvailable', 'every pool can grow again'),
  rdbLost: (pool: string, rdb: string, replacement: string, window: string) =>
    warning('RdbLost', `pool ${pool}: RDB ${rdb} was lost holding data ${window}; replacement ${replacement} replays that window`),
  scaleInStarted: (pool: string, rdb: string, instanceId: string) =>
    normal('ScaleInStarted', `pool ${pool}: RDB ${rdb} flushed its data; removing it and its instance ${instanceId}`),
  idleScaleInStarted: (pool: string, instanceId: string, since: string) =>
    normal('ScaleInStarted', `pool ${pool}: instance ${instanceId} has hosted no RDB pod since ${since}; removing it`),
  idleScaledIn: (pool: string, instanceId: string) => normal('ScaledIn', `pool ${pool}: idle instance ${instanceId} terminated`),
  scaleInStep: (pool: string, rdb: string, step: string) => normal('ScaleInStep', `pool ${pool}: scale-in of ${rdb}: ${step}`),
  scaledIn: (pool: string, rdb: string, instanceId: string) =>
    normal('ScaledIn', `pool ${pool}: RDB ${rdb} removed and instance ${instanceId} terminated`),
  scaleInAborted: (pool: string, rdb: string, why: string) =>
    warning('ScaleInAborted', `pool ${pool}: scale-in of ${rdb} stopped: ${why}`),
  awsUnavailable: () =>
    warning('AwsUnavailable', 'AWS is unreachable: Kubernetes changes go on, ASG changes wait until it answers'),
  awsAvailable: () => normal('AwsAvailable', 'AWS answers again'),
  mergeStarted: (day: string, job: string) => normal('MergeStarted', `every RDB flushed ${day}: Job ${job} merges its slices into the HDB`),
  dayMerged: (day: string, job: string) => normal('DayMerged', `${day} is in the HDB (Job ${job})`),
  mergeFailed: (day: string, job: string) =>
    warning('MergeFailed', `Job ${job} could not merge ${day}: see its logs; the slices stay in staging, delete the Job to run it again`),
  nodeGroupClaimed: (nodeGroup: string, group: string, owner: string) =>
    normal('NodeGroupClaimed', `node group ${nodeGroup}: claimed ASG ${group} for ${owner} (tag kdb-operator.dev/owner)`),
  nodeGroupOwnedByAnother: (pool: string, nodeGroup: string, group: string, owner: string) =>
    warning(
      'NodeGroupOwnedByAnother',
      `pool ${pool}: ASG ${group} of node group ${nodeGroup} belongs to KdbCluster ${owner}; this pool creates no RDB and changes nothing of that group: give it a node group of its own`,
    ),
  nodeGroupUnresolved: (pool: string, why: string) => warning('NodeGroupUnresolved', `pool ${pool}: ${why}; scaling of this pool waits`),
  terminateRefused: (group: string, instanceId: string, node: string, pods: readonly string[]) =>
    warning(
      'TerminateRefused',
      `ASG ${group}: instance ${instanceId} not terminated: node ${node} still runs ${pods.join(', ')} (a fresh read; DaemonSet pods aside)`,
    ),
  invalidAnnotation: (key: string, value: string, takes: string) =>
    warning('InvalidAnnotation', `annotation ${key}=${JSON.stringify(value.slice(0, 64))} refused: it takes ${takes}; nothing was done`),
  endOfDayRequested: (day: string) =>
    normal('EndOfDayRequested', `end of day asked for (annotation kdb-operator.dev/end-of-day): the tickerplant ends ${day} now`),
  deletionStarted: (writeDown: boolean) =>
    normal(
      'DeletionStarted',
      writeDown
        ? 'KdbCluster deleted: writing the day down into the HDB, then handing every RDB server back, then releasing the cluster'
        : 'KdbCluster deleted with kdb-operator.dev/write-down=skip: handing every RDB server back without writing the day down',
    ),
  writeDownSkipped: (rdbs: readonly string[]) =>
    warning(
      'WriteDownSkipped',
      rdbs.length > 0
        ? `kdb-operator.dev/write-down=skip: rows held by RDB ${rdbs.join(', ')} are dropped (the tickerplant's log keeps what it logged)`
        : 'kdb-operator.dev/write-down=skip: no RDB holds unflushed rows',
    ),
  writeDownImpossible: (rdbs: readonly string[]) =>
    warning(
      'WriteDownImpossible',
      `the tickerplant is gone, so the day cannot be ended and written down${rdbs.length > 0 ? `: rows held by RDB ${rdbs.join(', ')} are dropped` : ''}; its log stays on the volume`,
    ),
  hibernationStarted: () =>
    normal('HibernationStarted', 'hibernation on: writing the day down, handing every RDB server back, then stopping the tickerplant'),
  hibernated: () => normal('Hibernated', 'hibernated: no RDB server and no tickerplant run; the log and the HDB stay. Set kdb-operator.dev/hibernation=off to resume'),
  resumed: () => normal('Resumed', 'hibernation off: the tickerplant starts and the pools queue RDBs again'),
  windDownStep: (reason: string, step: string) => normal('WindDownStep', `${reason === 'Deletion' ? 'deletion' : 'hibernation'}: ${step}`),
  outdatedRdbReplaced: (pool: string, rdb: string) =>
    normal('OutdatedRdbReplaced', `pool ${pool}: RDB ${rdb} was built from an older pool spec and holds nothing; deleting it so the next RDB gets the new spec`),
  liveRdbRotationRequested: (pool: string, live: string, next: string) =>
    normal(
      'LiveRdbRotationRequested',
      `pool ${pool}: live RDB ${live} was built from an older pool spec; asking the tickerplant to roll it now and hand the feed to ${next}, queued with the new spec (spec.updates)`,
    ),
  liveRdbRotated: (pool: string, rdb: string, window: string, live: string | undefined) =>
    normal(
      'LiveRdbRotated',
      `pool ${pool}: RDB ${rdb} rolled on request${window}${live !== undefined ? `; ${live} is live with the new spec` : ''}; ${rdb} leaves after end of day like any rolled RDB`,
    ),
  changesPending: (what: string) => normal('ChangesPending', `changes wait for a safe moment (spec.updates): ${what}`),
  changesApplied: () => normal('ChangesApplied', 'every running pod has the spec'),
  poolOffHours: (pool: string, until: string | undefined) =>
    normal(
      'PoolOffHours',
      `pool ${pool}: outside market hours${until !== undefined ? ` until ${until}` : ''}: its RDBs go once they hold nothing, the last one too`,
    ),
  poolOpening: (pool: string) => normal('PoolOpening', `pool ${pool}: market hours ahead: an RDB is queued to go live before the open`),
  degraded: (why: string) => warning('Degraded', why),
  recovered: () => normal('Recovered', 'cluster is no longer degraded'),
} as const;
