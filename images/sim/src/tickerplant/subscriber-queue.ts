/**
 * The subscriber table of the tickerplant: per pool, the RDBs queued, the one
 * live, the ones rolled with the window they hold. Pure: the server feeds it
 * the current message count and the clock, and carries out what it returns.
 * Windows follow window.ts: (firstI, lastI] holds firstI < i <= lastI.
 */
export type SubscriberState = 'queued' | 'live' | 'rolled';

export interface Subscriber {
  name: string;
  pool: string;
  tables: string[];
  syms: string[];
  state: SubscriberState;
  arrivedAt: string;
  liveAt: string | null;
  rolledAt: string | null;
  firstI: number;
  /** Null while live: the window is open. */
  lastI: number | null;
  replaces: string | null;
  replacedBy: string | null;
}

export interface QueueTable {
  day: string;
  subscribers: Subscriber[];
  /**
   * The windows of the day before, kept through the next day: the rolled
   * ones, and the live RDB's up to the day's last message. An RDB lost around
   * end of day, before it flushed, is replaced from that day's log. Absent in
   * tables saved before it existed.
   */
  previous?: { day: string; subscribers: Subscriber[] };
}

export const emptyTable = (day: string): QueueTable => ({ day, subscribers: [] });

/** What the server tells an RDB: its role and what to replay from the log. */
export interface Assignment {
  name: string;
  role: SubscriberState;
  firstI: number;
  replayFrom: number;
  replayTo: number;
  lastI: number | null;
  /** Set when the window is of the day before (a replacement after end of day): replay that day's log and flush it. */
  day?: string;
  /**
   * With `day`: the lost RDB was the live one at end of day, so it also owes
   * a window of the current day. Once that day's slice is written, subscribe
   * again (replacesDay null) for it.
   */
  thenCurrentDay?: boolean;
}

export interface SubscribeRequest {
  name: string;
  pool: string;
  tables: string[];
  syms: string[];
  replaces: string | null;
  /**
   * The trading day of the window the lost RDB held, from its last report
   * (null: unknown, the current day). The day before asks for its window of
   * that day first; an older one is gone and refused.
   */
  replacesDay?: string | null;
  /**
   * The pool's subscribers with an open connection (the server's view). A
   * replacement of a window whose holder, found down the chain of
   * replacements, is still connected is refused: it is not lost.
   */
  connected?: ReadonlySet<string>;
  /** What the RDB already holds of the current day (from an earlier connection). */
  held: { state: string; firstI: number; lastProcessed: number } | null;
}

export type Result<T> = { ok: true; table: QueueTable; value: T } | { ok: false; error: string };

const clone = (t: QueueTable): QueueTable => ({
  day: t.day,
  subscribers: t.subscribers.map((s) => ({ ...s })),
  ...(t.previous ? { previous: { day: t.previous.day, subscribers: t.previous.subscribers.map((s) => ({ ...s })) } } : {}),
});

const find = (t: QueueTable, pool: string, name: string): Subscriber | undefined =>
  t.subscribers.find((s) => s.pool === pool && s.name === name && s.replacedBy === null);

/**
 * Who holds `name`'s window now: itself, or the end of the chain of
 * replacements it started. The operator names a window's first owner when a
 * replacement is lost before it had replayed (that debt is still the owner's),
 * and the replacement that took it on is the one to replace.
 */
const holderIn = (list: readonly Subscriber[], pool: string, name: string, connected?: ReadonlySet<string>): Subscriber | undefined => {
  const seen = new Set<string>();
  let s = list.find((x) => x.pool === pool && x.name === name && x.replacedBy === null) ?? list.find((x) => x.pool === pool && x.name === name);
  while (s && s.replacedBy !== null && !seen.has(s.name)) {
    seen.add(s.name);
    const by: string = s.replacedBy;
    s = list.find((x) => x.pool === pool && x.name === by && x.replacedBy === null) ?? list.find((x) => x.pool === pool && x.name === by);
  }
  if (!s || s.replacedBy !== null) return undefined;
  return s.name !== name && connected?.has(s.name) ? undefined : s;
};

/** The replacement down the chain from `name` that holds its window and is still connected (so not lost), if any. */
const connectedHolder = (t: QueueTable, pool: string, name: string, connected?: ReadonlySet<string>): string | undefined => {
  for (const list of [t.subscribers, t.previous?.subscribers ?? []]) {
    const end = holderIn(list, pool, name);
    if (end && end.name !== name && connected?.has(end.name)) return end.name;
  }
  return undefined;
};

/**
 * A replacement for an RDB that held no window (it was queued, or the
 * tickerplant never had it today or the day before): it holds the empty
 * window, which it flushes at once, and its server is handed back. The
 * operator asks whenever its own memory of a vanished RDB may be stale.
 */
const replaceHoldingNothing = (t: QueueTable, req: SubscribeRequest, now: string): Result<{ assignment: Assignment; promoted: Assignment[] }> => {
  const table = clone(t);
  const queued = find(table, req.pool, req.replaces!);
  if (queued) queued.replacedBy = req.name;
  table.subscribers.push({
    name: req.name,
    pool: req.pool,
    tables: req.tables,
    syms: req.syms,
    state: 'rolled',
    arrivedAt: now,
    liveAt: null,
    rolledAt: now,
    firstI: 0,
    lastI: 0,
    replaces: req.replaces,
    replacedBy: null,
  });
  return { ok: true, table, value: { assignment: { name: req.name, role: 'rolled', firstI: 0, replayFrom: 0, replayTo: 0, lastI: 0 }, promoted: [] } };
};

export const liveOf = (t: QueueTable, pool: string): Subscriber | undefined =>
  t.subscribers.find((s) => s.pool === pool && s.state === 'live');

/** The paper's start of the next window: the largest lastI any RDB of the pool holds. */
export const poolHighWater = (t: QueueTable, pool: string): number => {
  let hw = 0;
  for (const s of t.subscribers) if (s.pool === pool && s.state === 'rolled' && s.lastI !== null && s.lastI > hw) hw = s.lastI;
  return hw;
};

const makeLive = (s: Subscriber, firstI: number, now: string): void => {
  s.state = 'live';
  s.liveAt = now;
  s.firstI = firstI;
  s.lastI = null;
};

/** The replay window handed to a live RDB: from what it holds to the current count. */
const liveAssignment = (s: Subscriber, count: number, lastProcessed: number): Assignment => ({
  name: s.name,
  role: 'live',
  firstI: s.firstI,
  replayFrom: lastProcessed,
  replayTo: count,
  lastI: null,
});

/** The held message count counts only if it belongs to the window the table knows. */
const heldFrom = (s: Subscriber, held: SubscribeRequest['held']): number => {
  if (!held || held.firstI !== s.firstI) return s.firstI;
  const upper = s.lastI ?? Number.MAX_SAFE_INTEGER;
  return Math.min(Math.max(held.lastProcessed, s.firstI), upper);
};

/**
 * Registration. The server calls this and sends the assignment in the same
 * synchronous step, with `count` the number of messages logged so far, so no
 * publish can fall between the window end and the first live message.
 */
export const subscribe = (
  table: QueueTable,
  req: SubscribeRequest,
  count: number,
  now: string,
): Result<{ assignment: Assignment; promoted: Assignment[] }> => {
  const t = clone(table);
  const existing = find(t, req.pool, req.name);
  if (existing) {
    existing.tables = req.tables;
    existing.syms = req.syms;
    if (existing.state === 'live' && req.held?.state === 'rolled' && req.held.firstI === existing.firstI) {
      // It rolled while it could not tell us (tickerplant down or connection lost).
      const r = roll(t, req.pool, req.name, req.held.lastProcessed, count, now);
      if (!r.ok) return r;
      const self = find(r.table, req.pool, req.name)!;
      return {
        ok: true,
        table: r.table,
        value: {
          assignment: { name: self.name, role: 'rolled', firstI: self.firstI, replayFrom: self.lastI!, replayTo: self.lastI!, lastI: self.lastI },
          promoted: r.value,
        },
      };
    }
    if (existing.state === 'live') return { ok: true, table: t, value: { assignment: liveAssignment(existing, count, heldFrom(existing, req.held)), promoted: [] } };
    if (existing.state === 'rolled') {
      const from = heldFrom(existing, req.held);
      return {
        ok: true,
        table: t,
        value: {
          assignment: { name: existing.name, role: 'rolled', firstI: existing.firstI, replayFrom: from, replayTo: existing.lastI!, lastI: existing.lastI },
          promoted: [],
        },
      };
    }
    return { ok: true, table: t, value: { assignment: queuedAssignment(existing), promoted: [] } };
  }

  if (req.replaces !== null) {
    const busy = connectedHolder(t, req.pool, req.replaces, req.connected);
    if (busy) return { ok: false, error: `${req.name} replaces ${req.replaces}, whose window ${busy} holds and is still connected: refused` };
    const d = req.replacesDay ?? null;
    if (d !== null && d < t.day) {
      if (t.previous?.day === d) return replaceFromDayBefore(t, req, count, now);
      return { ok: false, error: `${req.name} replaces ${req.replaces}'s window of ${d}, but the tickerplant keeps windows of ${t.previous?.day ?? 'no earlier day'} only (it is on ${t.day}): that day's rows were not replayed` };
    }
    return replace(t, req, count, now);
  }

  const s: Subscriber = {
    name: req.name,
    pool: req.pool,
    tables: req.tables,
    syms: req.syms,
    state: 'queued',
    arrivedAt: now,
    liveAt: null,
    rolledAt: null,
    firstI: 0,
    lastI: null,
    replaces: null,
    replacedBy: null,
  };
  t.subscribers.push(s);
  if (liveOf(t, req.pool)) return { ok: true, table: t, value: { assignment: queuedAssignment(s), promoted: [] } };
  // No live RDB in the pool: this one takes over from the last roll and recovers the gap from the log.
  makeLive(s, poolHighWater(t, req.pool), now);
  return { ok: true, table: t, value: { assignment: liveAssignment(s, count, s.firstI), promoted: [] } };
};

const queuedAssignment = (s: Subscriber): Assignment => ({
  name: s.name,
  role: 'queued',
  firstI: 0,
  replayFrom: 0,
  replayTo: 0,
  lastI: null,
});

/**
 * A replacement takes the lost RDB's place: a rolled window is replayed and
 * held (the replacement ends rolled); a lost live RDB whose connection is
 * gone is rolled at the current count first, so the replacement holds
 * everything logged so far and the next live RDB starts after it.
 */
const replace = (t: QueueTable, req: SubscribeRequest, count: number, now: string): Result<{ assignment: Assignment; promoted: Assignment[] }> => {
  const lost = holderIn(t.subscribers, req.pool, req.replaces!, req.connected);
  if (!lost) return replaceFromDayBefore(t, req, count, now);
  if (lost.state === 'queued') return replaceHoldingNothing(t, req, now);
  let promoted: Assignment[] = [];
  let table = t;
  if (lost.state === 'live') {
    const r = roll(t, req.pool, lost.name, count, count, now);
    if (!r.ok) return r;
    table = r.table;
    promoted = r.value;
  }
  const old = find(table, req.pool, lost.name)!;
  old.replacedBy = req.name;
  const s: Subscriber = {
    ...old,
    name: req.name,
    tables: req.tables,
    syms: req.syms,
    arrivedAt: now,
    replaces: old.name,
    replacedBy: null,
  };
  table.subscribers.push(s);
  if (s.state === 'queued') return { ok: true, table, value: { assignment: queuedAssignment(s), promoted } };
  return {
    ok: true,
    table,
    value: {
      assignment: { name: s.name, role: 'rolled', firstI: s.firstI, replayFrom: s.firstI, replayTo: s.lastI!, lastI: s.lastI },
      promoted,
    },
  };
};

/**
 * A replacement for an RDB lost with a window of the day before (it rolled,
 * or was rolled on disconnect, and never flushed): it replays that window
 * from that day's log and flushes it as that day's slice. It joins no queue
 * of the new day.
 */
const replaceFromDayBefore = (t: QueueTable, req: SubscribeRequest, count: number, now: string): Result<{ assignment: Assignment; promoted: Assignment[] }> => {
  const prev = t.previous;
  const lost = prev ? holderIn(prev.subscribers, req.pool, req.replaces!, req.connected) : undefined;
  if (!prev || !lost || lost.lastI === null) {
    if ((req.replacesDay ?? null) !== null && holderIn(t.subscribers, req.pool, req.replaces!, req.connected)) return replace(t, { ...req, replacesDay: null }, count, now);
    // Not a subscriber today or the day before: it held no window the log can give.
    return replaceHoldingNothing(t, req, now);
  }
  const table = clone(t);
  const p = table.previous!;
  p.subscribers.find((s) => s.pool === req.pool && s.name === lost.name && s.replacedBy === null)!.replacedBy = req.name;
  p.subscribers.push({ ...lost, name: req.name, tables: req.tables, syms: req.syms, arrivedAt: now, replaces: lost.name, replacedBy: null });
  // The live RDB at end of day went on live: its current-day window is owed too.
  const owesToday = holderIn(table.subscribers, req.pool, req.replaces!, req.connected) !== undefined;
  return {
    ok: true,
    table,
    value: {
      assignment: {
        name: req.name,
        role: 'rolled',
        firstI: lost.firstI,
        replayFrom: lost.firstI,
        replayTo: lost.lastI,
        lastI: lost.lastI,
        day: p.day,
        ...(owesToday ? { thenCurrentDay: true } : {}),
      },
      promoted: [],
    },
  };
};

/**
 * The live RDB of a pool rolls: it holds (firstI, lastI]. The oldest queued
 * RDB becomes live with the window (lastI, count]. With none queued, the next
 * to arrive becomes live at lastI (see subscribe).
 */
export const roll = (
  table: QueueTable,
  pool: string,
  name: string,
  lastI: number,
  count: number,
  now: string,
  /** The queued RDB to hand the feed to (rollLive); left out, the oldest queued. */
  successor?: string,
): Result<Assignment[]> => {
  const t = clone(table);
  const s = find(t, pool, name);
  if (!s) return { ok: false, error: `pool ${pool} has no subscriber ${name}` };
  if (s.state !== 'live') return { ok: false, error: `${name} is ${s.state}, only the live RDB can roll` };
  if (!Number.isInteger(lastI) || lastI < s.firstI || lastI > count)
    return { ok: false, error: `roll of ${name} at ${lastI} is outside (${s.firstI}, ${count}]` };
  s.state = 'rolled';
  s.lastI = lastI;
  s.rolledAt = now;
  const next = t.subscribers.find((q) => q.pool === pool && q.state === 'queued' && q.replacedBy === null && (successor === undefined || q.name === successor));
  if (!next) return { ok: true, table: t, value: [] };
  makeLive(next, lastI, now);
  return { ok: true, table: t, value: [liveAssignment(next, count, next.firstI)] };
};

/** The operator's request to roll a pool's live RDB now (to move the pool onto a new spec). */
export interface RollLiveRequest {
  pool: string;
  /** The RDB the operator saw live: nothing is rolled unless it still is. */
  rdb: string;
  /** The queued RDB to take over; left out, the oldest queued one ready. */
  next?: string;
}

export type RollLiveOutcome =
  | { rolled: true; lastI: number; next: string }
  /** Nothing changed. lastI: the window end `rdb` holds, if it rolled before; next: the pool's live RDB now, if any. */
  | { rolled: false; reason: string; lastI: number | null; next: string | null };

/**
 * Rolls the pool's live RDB on request, as a slow subscriber is rolled: at
 * `sentI`, the last message handed to its socket (everything before it is
 * on its way to that RDB, nothing after it will be), so it holds
 * (firstI, sentI] and the queued RDB goes live at sentI, replaying the rest
 * from the log. Unlike the slow roll its connection stays: it is told it
 * rolled and keeps its window until end of day.
 *
 * Guarded so a repeat (after a crash or a lost answer) never rolls two RDBs:
 * only `rdb` is rolled, only while it is live, and rolled RDBs never go live
 * again. Refused, changing nothing, when no queued RDB is ready (queued and
 * connected, `ready`): a roll with nothing queued would leave the pool's
 * messages with no live RDB until one arrives. `sentI` undefined: the live
 * RDB is not connected (a restarted tickerplant it has not reached yet).
 */
export const rollLive = (
  table: QueueTable,
  req: RollLiveRequest,
  sentI: number | undefined,
  count: number,
  ready: ReadonlySet<string>,
  now: string,
): { table: QueueTable; outcome: RollLiveOutcome; assignments: Assignment[] } => {
  const live = liveOf(table, req.pool);
  const refuse = (reason: string, lastI: number | null = null) => ({
    table,
    outcome: { rolled: false as const, reason, lastI, next: live?.name ?? null },
    assignments: [],
  });
  const s = find(table, req.pool, req.rdb);
  if (!s) return refuse(`pool ${req.pool} has no RDB ${req.rdb} today`);
  if (s.state !== 'live') return refuse(`${req.rdb} is ${s.state}${s.state === 'rolled' ? ` with (${s.firstI}, ${s.lastI}]` : ''}, not live: nothing rolled`, s.lastI);
  if (sentI === undefined) return refuse(`${req.rdb} is live but not connected: it is rolled when its connection goes, not on request`);
  const queued = table.subscribers.filter((q) => q.pool === req.pool && q.state === 'queued' && q.replacedBy === null);
  const next = req.next === undefined ? queued.find((q) => ready.has(q.name)) : queued.find((q) => q.name === req.next);
  if (!next) {
    const why = req.next === undefined ? 'no queued RDB is connected' : `${req.next} is not a queued RDB of pool ${req.pool}`;
    return refuse(`${why}: rolling ${req.rdb} now would leave the pool with no live RDB; nothing rolled`);
  }
  if (!ready.has(next.name)) return refuse(`${next.name} is queued but not connected: nothing rolled`);
  const lastI = Math.min(Math.max(sentI, s.firstI), count);
  const r = roll(table, req.pool, req.rdb, lastI, count, now, next.name);
  if (!r.ok) return refuse(r.error);
  const self: Assignment = { name: s.name, role: 'rolled', firstI: s.firstI, replayFrom: lastI, replayTo: lastI, lastI };
  return { table: r.table, outcome: { rolled: true, lastI, next: next.name }, assignments: [self, ...r.value] };
};

/**
 * A subscriber's connection is gone. A live one is rolled with what was sent
 * to it (a replacement can replay exactly that); a queued one leaves the
 * queue; a rolled one keeps its window (it may come back, or be replaced).
 */
export const disconnect = (table: QueueTable, pool: string, name: string, sentI: number, count: number, now: string): Result<Assignment[]> => {
  const s = find(table, pool, name);
  if (!s) return { ok: true, table, value: [] };
  if (s.state === 'live') return roll(table, pool, name, Math.min(Math.max(sentI, s.firstI), count), count, now);
  if (s.state === 'queued') {
    const t = clone(table);
    t.subscribers = t.subscribers.filter((q) => !(q.pool === pool && q.name === name));
    return { ok: true, table: t, value: [] };
  }
  return { ok: true, table, value: [] };
};

/**
 * End of day: rolled RDBs flush and leave (the operator deletes them), the
 * live one starts the new day at message 0, queued ones keep waiting. The
 * rolled windows, and the live RDB's window closed at `dayCount` (the day's
 * last message; null when unknown), stay one more day as `previous`, for the
 * replacement of one lost before it flushed: the live RDB flushes the day
 * only after it heard of its end, and can die in between.
 */
export const endOfDay = (table: QueueTable, nextDay: string, dayCount: number | null = null): QueueTable => ({
  day: nextDay,
  subscribers: table.subscribers
    .filter((s) => s.state !== 'rolled' && s.replacedBy === null)
    .map((s) => (s.state === 'live' ? { ...s, firstI: 0, lastI: null } : { ...s })),
  previous: {
    day: table.day,
    subscribers: table.subscribers
      .filter((s) => s.replacedBy === null && (s.state === 'rolled' || (s.state === 'live' && dayCount !== null && dayCount >= s.firstI)))
      .map((s) => (s.state === 'live' ? { ...s, state: 'rolled' as const, lastI: dayCount, rolledAt: null } : { ...s })),
  },
});
