import type { TableSchema } from '../schema.ts';

/** What an RDB holds when it (re)subscribes, so a reconnect carries on instead of starting over. */
export interface Held {
  day: string;
  state: 'queued' | 'replaying' | 'live' | 'rolled' | 'flushing' | 'flushed';
  firstI: number;
  lastI: number | null;
  lastProcessed: number;
}

/** RDB -> tickerplant: join the queue of a pool (or come back to it). */
export interface SubscribeMsg {
  op: 'subscribe';
  name: string;
  pool: string;
  tables: string[];
  syms: string[];
  /** Name of a lost RDB whose window this one takes over. */
  replaces: string | null;
  /** The trading day of that window (KDB_REPLACES_DAY, from the lost RDB's last report); absent or null: the current day. */
  replacesDay?: string | null;
  held: Held | null;
}

/**
 * Tickerplant -> RDB: your role and window. Sent when an RDB subscribes and
 * again when a queued RDB becomes live.
 * - queued: wait.
 * - live: replay messages replayFrom < i <= replayTo from logPath, then apply
 *   published messages (all have i > replayTo); the window is (firstI, open).
 * - rolled: replay replayFrom < i <= lastI and hold the window (firstI, lastI].
 */
export interface AssignMsg {
  op: 'assign';
  day: string;
  logPath: string;
  role: 'queued' | 'live' | 'rolled';
  firstI: number;
  replayFrom: number;
  replayTo: number;
  lastI: number | null;
  schema: TableSchema[];
  /** The tickerplant's day, when `day` is an earlier one (a window replayed from that day's log): flush it once replayed. */
  currentDay?: string;
  /** With currentDay: the lost RDB also owes a current-day window; subscribe again for it once this day's slice is written. */
  thenCurrentDay?: boolean;
}

/** RDB -> tickerplant: I applied messages up to lastI and take no more. */
export interface RollMsg {
  op: 'roll';
  name: string;
  lastI: number;
}

/** Tickerplant -> every subscriber, once per day: the day is over. */
export interface EodMsg {
  op: 'eod';
  day: string;
  nextDay: string;
}

export interface ErrorMsg {
  op: 'error';
  message: string;
  /** 1-based ordinal of the refused update on that feed connection. */
  seq?: number;
}

/** Feed -> tickerplant barrier: answered once every earlier update of the connection is logged. */
export interface SyncMsg {
  op: 'sync';
  id: number;
}
export interface SyncedMsg {
  op: 'synced';
  id: number;
  day: string;
  count: number;
  refused: number;
}

/** Admin -> tickerplant. */
export interface EndOfDayRequest {
  op: 'end-of-day';
  /**
   * End the day only if it is still this one (the operator's wind-down and
   * `kubectl kdb eod` send it): a repeated request ends nothing twice, and is
   * answered with `ended: false` and the day now running.
   */
  day?: string;
}
export interface EndOfDayDone {
  op: 'end-of-day-done';
  day: string;
  nextDay: string;
  count: number;
  /** false: the request named a day already over; nothing was ended. */
  ended: boolean;
}
/**
 * Admin (the operator) -> tickerplant: roll the pool's live RDB now, so the
 * pool moves onto a new spec (a queued RDB built from it takes over). Rolled
 * only if `rdb` is still the pool's live RDB, so a repeat never rolls two;
 * refused, changing nothing, when no queued RDB is ready to take over.
 */
export interface RollLiveRequest {
  op: 'roll-live';
  pool: string;
  rdb: string;
  /** The queued RDB to go live; left out, the oldest queued one connected. */
  next?: string;
}
export interface RollLiveDone {
  op: 'roll-live-done';
  pool: string;
  rdb: string;
  /** false: nothing changed (`reason` says why). */
  rolled: boolean;
  /** rolled: the window end, the last message handed to `rdb`; not rolled: its window end if it rolled before, else null. */
  lastI: number | null;
  /** rolled: the RDB that went live at lastI; not rolled: the pool's live RDB now, or null. */
  next: string | null;
  reason?: string;
}
export interface SubscribersRequest {
  op: 'subscribers';
}
