// Provisioned capacity against memory used, as steps: Vega-Lite -> Vega SVG
// -> resvg PNG. The simulator's day and the e2e trading day
// (test/e2e/capacity-chart.ts) are both drawn by stepChartPng.
import { writeFileSync } from 'node:fs';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile } from 'vega-lite';
import type { SimResult } from './simulate.ts';

export interface StepChart {
  title: string;
  xTitle: string;
  legend: 'top-left' | 'top-right';
  values: { hour: number; series: string; gib: number }[];
}

export const stepChartPng = async (chart: StepChart, file: string): Promise<void> => {
  const spec = compile({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: chart.title,
    width: 720,
    height: 360,
    background: 'white',
    data: { values: chart.values },
    mark: { type: 'line', interpolate: 'step-after', strokeWidth: 2 },
    encoding: {
      x: { field: 'hour', type: 'quantitative', title: chart.xTitle },
      y: { field: 'gib', type: 'quantitative', title: 'GiB' },
      color: { field: 'series', type: 'nominal', title: null, legend: { orient: chart.legend, labelLimit: 400 } },
    },
  } as never).spec;
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  const png = new Resvg(svg, { font: { loadSystemFonts: true }, fitTo: { mode: 'width', value: 1200 } }).render().asPng();
  writeFileSync(file, png);
};

export const renderSimulationPng = (r: SimResult, file: string, title?: string): Promise<void> =>
  stepChartPng(
    {
      title: title ?? `kdb-operator simulator: ${r.config.dayGb} GiB day on ${r.config.serverGb} GiB servers, scale ${r.config.scale} / roll ${r.config.roll} (prov/used ${r.gbHours.ratio.toFixed(2)})`,
      xTitle: 'hours since market open (24 h, end of day and the next morning)',
      legend: 'top-right',
      values: r.samples.flatMap((s) => [
        { hour: s.h, series: `provisioned (servers x ${r.config.serverGb} GiB)`, gib: s.servers * r.config.serverGb },
        { hour: s.h, series: 'used by RDBs (the day\'s data)', gib: s.usedGb },
      ]),
    },
    file,
  );
