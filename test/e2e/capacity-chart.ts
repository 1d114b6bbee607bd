// The paper's picture: provisioned RDB capacity against memory used over the
// day, as steps. Drawn with Vega-Lite, rendered to SVG by Vega and to PNG by resvg.
import { writeFileSync } from 'node:fs';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile } from 'vega-lite';
import type { Sample } from './trading-day.ts';

export const renderCapacityPng = async (samples: Sample[], memBytes: number, dayMs: number, file: string): Promise<void> => {
  const hour = (t: number) => 6 + (t * 9) / dayMs;
  const values = samples.flatMap((s) => [
    { hour: hour(s.t), series: 'provisioned (RDB nodes x memory)', gib: (s.inService * memBytes) / 2 ** 30 },
    { hour: hour(s.t), series: 'used by RDBs', gib: s.usedBytes / 2 ** 30 },
  ]);
  const spec = compile({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'kdb-operator: RDB pool capacity over the trading day',
    width: 720,
    height: 360,
    background: 'white',
    data: { values },
    mark: { type: 'line', interpolate: 'step-after', strokeWidth: 2 },
    encoding: {
      x: { field: 'hour', type: 'quantitative', title: 'simulated hour of day (market 06:00-15:00, compressed)' },
      y: { field: 'gib', type: 'quantitative', title: 'GiB' },
      color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'top-left', labelLimit: 400 } },
    },
  } as never).spec;
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  const png = new Resvg(svg, { font: { loadSystemFonts: true }, fitTo: { mode: 'width', value: 1200 } }).render().asPng();
  writeFileSync(file, png);
};
