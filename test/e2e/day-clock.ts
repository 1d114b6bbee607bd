// The harness's only dealings with the clock, pure so they can be tested at
// any instant: the trading day is the tickerplant's answer, never the
// machine's date (which is the next trading day once the local time is past
// end of day).

/**
 * The trading day an end-of-day request closed, checked against the day the
 * feed's messages were logged in: if the scheduled end of day had come in
 * between, the rows would be split over two days and every figure would lie.
 */
export const closedDay = (eod: { day: string }, feed: { tickerplantDay: string }): string => {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(eod.day)) throw new Error(`the tickerplant's end-of-day answer has no day: ${JSON.stringify(eod)}`);
  if (eod.day !== feed.tickerplantDay)
    throw new Error(`the feed's rows were logged in trading day ${feed.tickerplantDay} but end of day closed ${eod.day}: a scheduled end of day came during the run`);
  return eod.day;
};

/**
 * A scheduled end of day as far from `now` as the clock allows (12 hours
 * ahead, in UTC), so only the harness's own request ends the day. Which
 * trading day that makes it is the tickerplant's business, read from it.
 */
export const farEndOfDay = (now: Date): string => `${String((now.getUTCHours() + 12) % 24).padStart(2, '0')}:${String(now.getUTCMinutes()).padStart(2, '0')}`;

