// The cost simulator: a trading day through the operator's own planner under
// a simulated clock. `npm run simulate -- --help` for the options.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderSimulationPng } from './chart.ts';
import { CliError, parseArgs, USAGE } from './cli.ts';
import { simulateDay, type SimResult } from './simulate.ts';
import { formatTable, PAPER_SWEEP, runSweep } from './sweep.ts';

const fmtH = (h: number): string => {
  const m = Math.round(Math.abs(h) * 60);
  return `${h >= 0 ? '+' : '-'}${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}`;
};

export const summary = (r: SimResult): string => {
  const c = r.cushion;
  const servers = r.serversOverTime
    .filter((s, k, all) => k === 0 || all[k - 1]!.servers !== s.servers)
    .map((s) => `${fmtH(s.h)} ${s.servers}`)
    .join(', ');
  return [
    `${r.config.dayGb} GiB day on ${r.config.serverGb} GiB servers, scale ${r.config.scale} / roll ${r.config.roll}, lead time ${r.config.leadTime.meanS}:${r.config.leadTime.sdS} s, seed ${r.config.seed}`,
    `window ${r.window.from} .. ${r.window.to} (end of day ${r.window.endOfDay})`,
    `provisioned ${r.gbHours.provisioned.toFixed(2)} GB-h, used ${r.gbHours.used.toFixed(2)} GB-h, provisioned/used ${r.gbHours.ratio.toFixed(2)}`,
    `one ${r.singleServer.gb} GB server for the day: ${r.singleServer.gbHours} GB-h; savings ${(r.savings * 100).toFixed(1)}%`,
    `max servers ${r.maxServers}; servers over time (hours since open): ${servers}`,
    `queue cushion: ${c.rdbs.map((e) => `${e.rdb} ${Math.round(e.waitedS)}s`).join(', ') || 'none'}; minimum ${c.minS === null ? '-' : `${Math.round(c.minS)} s`}`,
    `rolls with nothing queued: ${c.rollsWithNothingQueued.length === 0 ? 'none' : c.rollsWithNothingQueued.map((x) => `${x.rdb} at ${fmtH(x.h)} (no live RDB for ${x.gapS ?? '?'} s)`).join(', ')}`,
    `queued at end of day (never live): ${c.queuedAtEndOfDay.join(', ') || 'none'}`,
    `safety: ${r.safety.terminations} terminations, ${r.safety.unsafeTerminations} unsafe; ${r.safety.deletes} deletes, ${r.safety.unsafeDeletes} unsafe`,
    `next morning: ${r.nextMorning.servers} server(s), live ${r.nextMorning.live ?? 'none'} on ${r.nextMorning.liveDay ?? '-'}`,
    `data: published ${r.conservation.publishedGb} GiB, flushed ${r.conservation.flushedGb} GiB; planner called ${r.planner.calls} times; ${r.runMs} ms`,
  ].join('\n');
};

const main = async (argv: string[]): Promise<number> => {
  let opts;
  try {
    opts = parseArgs(argv);
  } catch (e) {
    if (e instanceof CliError) {
      console.error(`simulate: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    throw e;
  }
  if (opts.help) {
    console.log(USAGE);
    return 0;
  }
  if (opts.out) mkdirSync(opts.out, { recursive: true });
  if (opts.sweep === 'paper') {
    const sweep = runSweep(PAPER_SWEEP, opts.config);
    console.log(`The paper's configurations, a 16 GiB day against one 32 GB server (lead time ${sweep.rows[0]?.result.config.leadTime.meanS}:${sweep.rows[0]?.result.config.leadTime.sdS} s, seed ${sweep.rows[0]?.result.config.seed}):\n`);
    console.log(formatTable(sweep.rows));
    console.log(`\nsweep of ${sweep.rows.length} days in ${sweep.runMs} ms`);
    if (opts.out) {
      writeFileSync(join(opts.out, 'sweep.json'), `${JSON.stringify({ runMs: sweep.runMs, rows: sweep.rows.map(({ label, result: { log: _l, ...r } }) => ({ label, ...r })) }, null, 2)}\n`);
      for (const row of sweep.rows) await renderSimulationPng(row.result, join(opts.out, `sweep-${row.label.replace(/[^A-Za-z0-9]+/g, '-')}.png`));
      console.log(`wrote ${join(opts.out, 'sweep.json')} and ${sweep.rows.length} charts`);
    }
    return 0;
  }
  let r: SimResult;
  try {
    r = simulateDay(opts.config);
  } catch (e) {
    console.error(`simulate: ${(e as Error).message}`);
    return 2;
  }
  console.log(summary(r));
  if (opts.out) {
    writeFileSync(join(opts.out, 'simulation.json'), `${JSON.stringify(r, null, 2)}\n`);
    await renderSimulationPng(r, join(opts.out, 'simulation.png'));
    console.log(`wrote ${join(opts.out, 'simulation.json')} and simulation.png`);
  }
  return 0;
};

process.exitCode = await main(process.argv.slice(2));
