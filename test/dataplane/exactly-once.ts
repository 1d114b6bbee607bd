import { expect } from '@jest/globals';
import { combineSums, type TableSum } from '../../images/sim/src/checksum.ts';
import type { FeedReport } from '../../images/sim/src/feed/feed.ts';
import { tilesExactly, type Window } from '../../images/sim/src/window.ts';
import { sums, waitFor, type DataPlane } from './harness.ts';

/**
 * The pool's invariant: every message in exactly one RDB. Proven two ways:
 * the RDBs' rows and checksums add up to what the feeds sent, and their
 * windows tile (0, count] with no gap and no overlap.
 */
export const expectExactlyOnce = async (dp: DataPlane, holders: readonly string[], feeds: readonly FeedReport[]): Promise<void> => {
  const sent: Record<string, TableSum> = combineSums(feeds.map((f) => sums(f.tables)));
  const rows = feeds.reduce((s, f) => s + f.rows, 0);
  await dp.waitRows(holders, rows);
  expect(await dp.checksums(holders)).toEqual(sent);
  const { count } = await dp.subscribers();
  // Status files of live RDBs are refreshed every second (later on a loaded machine): poll until they show the last message.
  const windows = (): Window[] =>
    holders
      .map((n) => dp.status(n)!)
      .filter((s) => s.state !== 'queued')
      .map((s) => ({ firstI: s.window.firstI, lastI: s.window.lastI ?? s.window.lastProcessed }));
  await waitFor('windows to tile (0, count]', () => tilesExactly(windows(), count), 20_000).catch(() => undefined);
  expect({ windows: windows(), tiles: tilesExactly(windows(), count) }).toEqual({ windows: windows(), tiles: true });
};
