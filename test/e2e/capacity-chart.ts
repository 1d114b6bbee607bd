// The paper's picture: provisioned RDB capacity against memory used over the
// day, as steps, drawn by the simulator's step chart (Vega-Lite, Vega, resvg).
import { stepChartPng } from '../../simulator/src/chart.ts';
import type { Sample } from './trading-day.ts';

export const renderCapacityPng = (samples: Sample[], memBytes: number, dayMs: number, file: string): Promise<void> => {
  const hour = (t: number) => 6 + (t * 9) / dayMs;
  return stepChartPng(
    {
      title: 'kdb-operator: RDB pool capacity over the trading day',
      xTitle: 'simulated hour of day (market 06:00-15:00, compressed)',
      legend: 'top-left',
      values: samples.flatMap((s) => [
        { hour: hour(s.t), series: 'provisioned (RDB nodes x memory)', gib: (s.inService * memBytes) / 2 ** 30 },
        { hour: hour(s.t), series: 'used by RDBs', gib: s.usedBytes / 2 ** 30 },
      ]),
    },
    file,
  );
};
