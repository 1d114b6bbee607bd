import type { OrdinalCounter, PoolContext } from './context.ts';
import { ev } from './events.ts';
import { isPredictive, nextEndOfDay, nextFill, nextLeadTime, predict } from './predict.ts';
import { isActive, isLive, isTakingOver, isWaiting, rdbPodName } from './rdbs.ts';
import type { Action, CapacityLimit, ClusterEvent, ObservedRdbPod } from './types.ts';

/**
 * Scale-out is declarative: it looks at the pods, not at a counter. Once the
 * live RDB passes scaleThreshold the pool needs exactly one RDB waiting
 * behind it; a pool with no live RDB and nobody taking over needs one to
 * become live; and minRdbs pods always exist. Repeating the plan (retry,
 * restart) finds the waiting pod and creates nothing.
 */
export interface ScaleOutPlan {
  actions: Action[];
  events: ClusterEvent[];
  created: string[];
  capacityLimit: CapacityLimit | undefined;
  /** Says what to raise; the Event goes out once, when CapacityLimited flips on. */
  capacityMessage: string | undefined;
  /** The live RDB's report that crossed scaleThreshold, when this plan scales out on it. */
  trigger?: string;
}

export interface ScaleOutInput {
  /** Pods created earlier in this plan (replacements): they need nodes too. */
  alreadyCreated: number;
  /** Room left in the pool's ASG (MaxSize minus pods that need its nodes), Infinity when unknown. */
  asgRoom: number;
  /** The live RDB runs an older pool spec and may be rolled now: it needs an RDB of the spec to roll onto (plan-updates.ts liveRotation). */
  forRotation?: boolean;
}

/**
 * The live RDB rolls at the roll threshold it was started with, not at the
 * spec's (thresholds reach new RDBs only): scale out at the lower of the
 * spec's scaleThreshold and the live RDB's own, which is below its own roll
 * threshold. A raised scaleThreshold then never lets it roll with nothing
 * queued; a lowered one scales out earlier.
 */
export const scaleThresholdFor = (specThreshold: number, live: Pick<ObservedRdbPod, 'thresholds'> | undefined): number =>
  Math.min(specThreshold, live?.thresholds?.scale ?? specThreshold);

export const planScaleOut = (ctx: PoolContext, ordinals: OrdinalCounter, input: ScaleOutInput): ScaleOutPlan => {
  const none: ScaleOutPlan = { actions: [], events: [], created: [], capacityLimit: undefined, capacityMessage: undefined };
  // A draining pool only keeps what it has (replacements are planReplacements').
  // Winding down, the pool keeps what it has, and then not even that; while
  // the day is being written down it still gets a live RDB if it has none
  // (the messages since its last roll must be in some RDB's window).
  if (!ctx.allowCreate || ctx.draining || ctx.windDown?.step === 'empty') return none;
  if (ctx.windDown?.step === 'hold' && !needsLive(ctx)) return none;
  const pool = ctx.spec;
  const active = ctx.obs.pods.filter(isActive);
  const live = active.find(isLive);
  const waiting = active.filter(isWaiting);
  const count = active.length + input.alreadyCreated;

  const memory = live?.rdb?.memoryPercent ?? 0;
  // End of day reaches every RDB at once, but their reports arrive one by one:
  // once any RDB flushed the live RDB's day, the live one's memory figure is
  // yesterday's and about to drop. Scaling out on it would buy a spare server
  // for the night.
  const liveDay = live?.rdb?.day;
  const endOfDayUnderWay = liveDay !== undefined && ctx.obs.pods.some((p) => p.rdb?.flushedDays.includes(liveDay) === true);
  const threshold = scaleThresholdFor(pool.scaleThreshold, live);
  // Predictive pools ask earlier when the fill rate says the live RDB reaches
  // its roll threshold within the measured lead time (times the margin);
  // scaleThreshold stays the latest they ask.
  const atThreshold = memory >= threshold;
  const prediction =
    live !== undefined && !atThreshold && isPredictive(ctx) && ctx.endOfDay !== undefined
      ? predict({
          percent: memory,
          roll: live.thresholds?.roll ?? pool.rollThreshold,
          percentPerMinute: nextFill(live, ctx.prev?.fill)?.percentPerMinute,
          leadTimeSeconds: nextLeadTime(ctx)?.seconds,
          margin: pool.scaleOut?.leadTimeMargin ?? 1.5,
          secondsToEndOfDay: (nextEndOfDay(ctx.now, ctx.endOfDay).getTime() - ctx.now.getTime()) / 1000,
        })
      : undefined;
  const scale = live !== undefined && (atThreshold || prediction?.ask === true) && waiting.length === 0 && !endOfDayUnderWay;
  // Off market hours a pool asks for no RDB of its own accord; one that fills (data after the close) still gets the next.
  const noLive = live === undefined && waiting.length === 0 && !active.some(isTakingOver) && !ctx.offHours;
  const forMin = ctx.offHours ? 0 : Math.max(0, pool.minRdbs - count);
  // Still one waiting RDB at most: the rotation's is the one scale-out would ask for next anyway.
  const rotate = input.forRotation === true && live !== undefined && waiting.length === 0 && !active.some(isTakingOver);
  const want = Math.max(forMin, scale || noLive || rotate ? 1 : 0);
  if (want === 0) return none;

  const poolRoom = Math.max(0, pool.maxRdbs - count);
  const room = Math.min(poolRoom, Math.max(0, input.asgRoom));
  const n = Math.min(want, room);
  const capacityLimit: CapacityLimit | undefined = n < want ? (poolRoom <= input.asgRoom ? 'MaxRdbs' : 'AsgMaxSize') : undefined;

  const actions: Action[] = [];
  const events: ClusterEvent[] = [];
  const created: string[] = [];
  for (let i = 0; i < n; i++) {
    const ordinal = ordinals.take();
    const name = rdbPodName(ctx.cluster, pool.name, ordinal);
    actions.push({ kind: 'EnsureRdbPod', pool: pool.name, name, ordinal });
    created.push(name);
    if (i === 0 && scale && live && !atThreshold && prediction) events.push(ev.predictedScaleOut(pool.name, name, live.name, memory, prediction.reason));
    else if (i === 0 && scale && live) events.push(ev.scaleOut(pool.name, name, live.name, memory, threshold));
    else if (i === 0 && rotate && live) events.push(ev.rdbCreated(pool.name, name, `for live RDB ${live.name}, built from an older pool spec, to roll onto (spec.updates)`));
    else events.push(ev.rdbCreated(pool.name, name, i < forMin ? `minRdbs is ${pool.minRdbs}` : 'no live RDB and none waiting'));
  }
  const capacityMessage =
    capacityLimit === undefined
      ? undefined
      : capacityLimit === 'MaxRdbs'
        ? `pool ${pool.name}: maxRdbs ${pool.maxRdbs} reached: raise rdbPools[].maxRdbs`
        : `pool ${pool.name}: ASG ${ctx.asg?.name ?? '?'} is at its MaxSize ${ctx.asg?.max ?? '?'}: raise the node group's maximum`;
  const trigger = scale && n > 0 ? live?.rdb?.reportedAt : undefined;
  return { actions, events, created, capacityLimit, capacityMessage, ...(trigger ? { trigger } : {}) };
};

/** No live RDB, none taking over and none waiting to: the pool needs one to become live. */
const needsLive = (ctx: PoolContext): boolean => {
  const active = ctx.obs.pods.filter(isActive);
  return !active.some(isLive) && !active.some(isTakingOver) && !active.some(isWaiting);
};
