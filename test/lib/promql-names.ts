/**
 * The metric names and label matchers a PromQL expression (as a Grafana
 * dashboard writes it, with $variables) refers to. A small lexer, not a
 * parser: strings, ranges and grouping clauses are cut out, and what is left
 * that is an identifier not called as a function and not a keyword is a
 * metric name. Enough to hold a dashboard to the metrics a process registers.
 */

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'and', 'or', 'unless', 'inf', 'nan', 'atan2']);

/** Grafana's built-in interval variables, replaced by a duration PromQL accepts. */
export const withGrafanaIntervals = (expr: string): string => expr.replace(/\$__(rate_interval|interval|range)\b/g, '5m');

export interface Selector {
  metric: string;
  labels: string[];
}

/** Every `metric{matchers}` and bare `metric` in the expression, in order. */
export const selectorsOf = (expr: string): Selector[] => {
  let s = withGrafanaIntervals(expr);
  // Matchers first (their values are strings), recorded with the name before them.
  const matchers: string[][] = [];
  s = s.replace(/\{((?:[^{}"]|"(?:[^"\\]|\\.)*")*)\}/g, (_m, body: string) => {
    matchers.push([...body.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map((x) => x[1]!));
    return `{#${matchers.length - 1}}`;
  });
  s = s.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
  s = s.replace(/\[[^\]]*\]/g, '');
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  s = s.replace(/\boffset\s+-?[0-9a-z]+/g, '');
  const out: Selector[] = [];
  const token = /(\$?)([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?|\{#(\d+)\}|[0-9.]+(?:e[+-]?[0-9]+)?/g;
  let last: Selector | undefined;
  for (const m of s.matchAll(token)) {
    if (m[4] !== undefined) {
      const labels = matchers[Number(m[4])]!;
      if (last) last.labels = labels;
      else out.push({ metric: '', labels });
      last = undefined;
      continue;
    }
    last = undefined;
    if (m[2] === undefined || m[1] === '$' || m[3] !== undefined || KEYWORDS.has(m[2].toLowerCase())) continue;
    last = { metric: m[2], labels: [] };
    out.push(last);
  }
  return out;
};

/** The metric names only. */
export const metricNamesOf = (expr: string): string[] => [...new Set(selectorsOf(expr).map((s) => s.metric).filter((n) => n !== ''))];

/** A Grafana variable's query: label_values(expr, label) gives expr; query_result(expr) gives expr. */
export const variableExpr = (query: string): string | undefined => {
  const lv = /^\s*label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$/.exec(query);
  if (lv) return lv[1];
  const qr = /^\s*query_result\((.*)\)\s*$/.exec(query);
  return qr ? qr[1] : undefined;
};

interface DashboardPanel {
  title?: string;
  type?: string;
  targets?: { expr?: string }[];
  panels?: DashboardPanel[];
}

export interface Dashboard {
  panels?: DashboardPanel[];
  templating?: { list?: { name: string; type: string; query?: string | { query?: string } }[] };
}

/** Every PromQL expression of a dashboard: panel targets (rows included) and variable queries. */
export const dashboardExprs = (d: Dashboard): { where: string; expr: string }[] => {
  const out: { where: string; expr: string }[] = [];
  const walk = (ps: DashboardPanel[] | undefined): void => {
    for (const p of ps ?? []) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ where: `panel "${p.title}"`, expr: t.expr });
      walk(p.panels);
    }
  };
  walk(d.panels);
  for (const v of d.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : v.query?.query;
    const e = q === undefined ? undefined : variableExpr(q);
    if (e !== undefined) out.push({ where: `variable $${v.name}`, expr: e });
  }
  return out;
};
