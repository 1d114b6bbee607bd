// Provisioned capacity against memory used over the simulated day, as steps:
// the same Vega-Lite -> Vega SVG -> resvg PNG path as test/e2e/capacity-chart.ts.
import { writeFileSync } from 'node:fs';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile } from 'vega-lite';
import type { SimResult } from './simulate.ts';

export const renderSimulationPng = async (r: SimResult, file: string, title?: string): Promise<void> => {
  const values = r.samples.flatMap((s) => [
    { hour: s.h, series: `provisioned (servers x ${r.config.serverGb} GiB)`, gib: s.servers * r.config.serverGb },
    { hour: s.h, series: 'used by RDBs (the day\'s data)', gib: s.usedGb },
  ]);
  const spec = compile({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: title ?? `kdb-operator simulator: ${r.config.dayGb} GiB day on ${r.config.serverGb} GiB servers, scale ${r.config.scale} / roll ${r.config.roll} (prov/used ${r.gbHours.ratio.toFixed(2)})`,
    width: 720,
    height: 360,
    background: 'white',
    data: { values },
    mark: { type: 'line', interpolate: 'step-after', strokeWidth: 2 },
    encoding: {
      x: { field: 'hour', type: 'quantitative', title: 'hours since market open (24 h, end of day and the next morning)' },
      y: { field: 'gib', type: 'quantitative', title: 'GiB' },
      color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'top-right', labelLimit: 400 } },
    },
  } as never).spec;
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  const png = new Resvg(svg, { font: { loadSystemFonts: true }, fitTo: { mode: 'width', value: 1200 } }).render().asPng();
  writeFileSync(file, png);
};
