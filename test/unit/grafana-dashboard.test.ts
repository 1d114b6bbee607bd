import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import { tickerplantRegistry, type TickerplantStats } from '../../images/sim/src/tickerplant/metrics.ts';
import { createMetrics } from '../../operator/src/runtime/metrics.ts';
import { dashboardExprs, metricNamesOf, selectorsOf, type Dashboard } from '../lib/promql-names.ts';

/**
 * The Grafana dashboard in the repo names only metrics the operator and the
 * tickerplant register (with the process metrics they turn on), and matches
 * only labels those metrics carry or Prometheus adds: a renamed metric or a
 * mistyped label fails here instead of drawing an empty panel.
 */

const DASHBOARD = join(import.meta.dirname, '..', '..', 'deploy/grafana/kdb-operator-dashboard.json');
const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard & { uid: string; panels: { type: string; gridPos?: object }[] };

const stats: TickerplantStats = { day: '2026-03-02', messagesSinceStart: 0, dayMessages: 0, logBytes: 0, subscribers: [], connectedRdbs: 0, connectedFeeds: 0 };

/** Labels Prometheus puts on every target's series (and the PodMonitor's relabel of the tickerplant pod's cluster label). */
const TARGET_LABELS = ['job', 'instance', 'namespace', 'pod', 'container', 'service', 'endpoint', 'cluster'];

/** Sample names of each registered metric (a histogram's _bucket, _sum and _count), with the labels it can carry. */
const registered = (registries: Registry[]): Map<string, Set<string>> => {
  const names = new Map<string, Set<string>>();
  for (const r of registries) {
    for (const m of r.getMetricsAsArray() as unknown as { name: string; labelNames?: string[]; constructor: { name: string } }[]) {
      const labels = new Set([...(m.labelNames ?? []), ...TARGET_LABELS]);
      const kind = m.constructor.name;
      const samples = kind === 'Histogram' ? ['_bucket', '_sum', '_count'] : kind === 'Summary' ? ['', '_sum', '_count'] : [''];
      for (const suffix of samples) names.set(m.name + suffix, suffix === '_bucket' ? new Set([...labels, 'le']) : kind === 'Summary' ? new Set([...labels, 'quantile']) : labels);
    }
  }
  return names;
};

const known = registered([createMetrics({ defaultMetrics: true }).registry, tickerplantRegistry(() => stats, { defaultMetrics: true })]);
const exprs = dashboardExprs(dashboard);

describe('the PromQL reader the check rests on', () => {
  test('finds metric names behind functions, aggregations, ranges, grouping and variables', () => {
    expect(metricNamesOf('histogram_quantile(0.95, sum by (le, direction) (rate(a_bucket{x=~"$v", y="}"}[$__rate_interval])))')).toEqual(['a_bucket']);
    expect(metricNamesOf('time() - max by (pool) (b{namespace=~"$namespace"}) > 0 and on (pool) c offset 5m')).toEqual(['b', 'c']);
    expect(metricNamesOf('sum without (pod) (increase(d[$__range])) / ignoring(le) e == bool 1')).toEqual(['d', 'e']);
    expect(selectorsOf('rate(f{namespace=~"a|b", cluster!="x"}[1m])')).toEqual([{ metric: 'f', labels: ['namespace', 'cluster'] }]);
  });

  test('a name the registries do not have is caught', () => {
    expect(metricNamesOf('sum(rate(kdb_operator_pool_rdbs_total[5m]))').filter((n) => !known.has(n))).toEqual(['kdb_operator_pool_rdbs_total']);
  });
});

describe('deploy/grafana/kdb-operator-dashboard.json', () => {
  test('has panels with queries, and variables drawn from the metrics', () => {
    expect(dashboard.uid).toBe('kdb-operator');
    expect(exprs.filter((e) => e.where.startsWith('panel')).length).toBeGreaterThanOrEqual(15);
    expect(exprs.filter((e) => e.where.startsWith('variable')).map((e) => e.where)).toEqual(['variable $namespace', 'variable $cluster', 'variable $pool']);
    for (const p of dashboard.panels) expect(p.gridPos).toBeDefined();
  });

  test('every expression names only registered metrics', () => {
    const unknown = exprs.flatMap((e) => metricNamesOf(e.expr).filter((n) => !known.has(n)).map((n) => `${e.where}: ${n}`));
    expect(unknown).toEqual([]);
    // And every expression names at least one metric (a panel of constants shows nothing of ours).
    expect(exprs.filter((e) => metricNamesOf(e.expr).length === 0)).toEqual([]);
  });

  test('every label matched is one the metric carries or Prometheus adds', () => {
    const wrong = exprs.flatMap((e) =>
      selectorsOf(e.expr).flatMap((s) => s.labels.filter((l) => !known.get(s.metric)?.has(l)).map((l) => `${e.where}: ${s.metric}{${l}}`)),
    );
    expect(wrong).toEqual([]);
  });

  test('the gauges, the tickerplant metrics and the reaction histogram each have a panel', () => {
    const used = new Set(exprs.flatMap((e) => metricNamesOf(e.expr)));
    for (const m of [
      'kdb_operator_pool_rdbs',
      'kdb_operator_pool_desired_capacity',
      'kdb_operator_pool_live_memory_percent',
      'kdb_operator_pool_queue_cushion_seconds',
      'kdb_operator_pool_rows',
      'kdb_operator_pool_last_scale_event_timestamp_seconds',
      'kdb_operator_reaction_seconds_bucket',
      'kdb_tickerplant_messages_total',
      'kdb_tickerplant_subscribers',
      'kdb_tickerplant_log_bytes',
    ])
      expect([m, used.has(m)]).toEqual([m, true]);
  });
});
