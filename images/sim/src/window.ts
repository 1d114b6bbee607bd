/**
 * Message windows, stated once. The tickerplant numbers the messages of a day
 * 1, 2, 3, ...; a window (firstI, lastI] holds the messages i with
 * firstI < i <= lastI. So a window (k, k] is empty, (0, n] is the first n
 * messages, and consecutive windows (a, b], (b, c] share no message and miss
 * none. (The paper's q code counts from zero but keeps i > start, which loses
 * message start+1 of every roll; with this definition nothing is lost.)
 */
export interface Window {
  firstI: number;
  lastI: number;
}

export const inWindow = (i: number, w: Window): boolean => w.firstI < i && i <= w.lastI;

export const windowSize = (w: Window): number => Math.max(0, w.lastI - w.firstI);

/** Windows that tile (0, n] exactly: sorted, contiguous, starting at 0 and ending at n. */
export const tilesExactly = (windows: readonly Window[], n: number): boolean => {
  const sorted = [...windows].sort((a, b) => a.firstI - b.firstI || a.lastI - b.lastI);
  let at = 0;
  for (const w of sorted) {
    if (w.firstI !== at || w.lastI < w.firstI) return false;
    at = w.lastI;
  }
  return at === n;
};
