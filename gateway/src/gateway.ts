// The gateway: one getData over the whole data plane. For each query it
// asks every RDB (and the HDB) for its purview, plans the parts
// (plan.ts), asks them in parallel, checks that no RDB's state or window
// moved while it did, and merges the parts in time order (merge.ts). A roll
// alone cannot spoil an answer (windows only grow forward, so what the plan
// saw is still where it was), but an RDB that drops rows between plan and
// answer can: a rolled RDB flushing at end of day, or one rebuilding its
// window from the log; then the answer is thrown away and planned again. A
// part it cannot reach, or one still replaying after the wait, fails the
// query with a kdb+ error naming it: never a silent partial answer.

import { lookup } from 'node:dns/promises';
import { dateFromIso, NULL, q, QRemoteError, type QTable, type QValue } from '../../ipc/src/index.ts';
import { decodePurview, type HdbPurview, type RdbPurview } from '../../images/sim/src/query/purview.ts';
import { parseCall, parseGetData, QueryError, type GetDataRequest } from '../../images/sim/src/query/request.ts';
import type { GatewayConfig } from './config.ts';
import { dropSyms, mergeByTime } from './merge.ts';
import { planGetData, type HdbSource, type RdbSource } from './plan.ts';
import { Upstreams } from './upstream.ts';

const PURVIEW: QValue = q.list(q.symbol('.kdb.purview'), q.identity());
/** Replans after a window moved mid-query, at most this often per query. */
const MAX_REPLANS = 5;
const POLL_MS = 50;

export interface GatewayStats {
  queries: number;
  replans: number;
}

export class Gateway {
  private readonly cfg: GatewayConfig;
  private readonly up: Upstreams;
  readonly stats: GatewayStats = { queries: 0, replans: 0 };
  /** Each RDB's last purview, to tell a scaled-in RDB (flushed, empty, then gone) from a lost one. */
  private readonly lastSeen = new Map<string, RdbPurview>();

  constructor(cfg: GatewayConfig) {
    this.cfg = cfg;
    this.up = new Upstreams({ timeoutMs: cfg.timeoutMs, ...(cfg.upstreamUser ? { user: cfg.upstreamUser } : {}), ...(cfg.upstreamPassword ? { password: cfg.upstreamPassword } : {}) });
  }

  close(): void {
    this.up.closeAll();
  }

  /**
   * The RDB query ports right now: the listed ones and the Service's
   * addresses. getaddrinfo (dns.lookup), not a DNS query (dns.resolve4):
   * it reads /etc/hosts as well as DNS, so the headless Service's records
   * are found through CoreDNS on EKS and through the hosts file where there
   * is no cluster DNS (the local stack's node simulator).
   */
  async rdbEndpoints(): Promise<string[]> {
    const out = new Set(this.cfg.rdbs);
    const svc = this.cfg.rdbService;
    if (svc) {
      const ips = await lookup(svc.name, { all: true, family: 4 }).then(
        (as) => as.map((a) => a.address),
        (e: NodeJS.ErrnoException) => {
          // No RDB pod yet: the Service has no address, which is not an error.
          if (e.code === 'ENOTFOUND' || e.code === 'ENODATA' || e.code === 'EAI_NODATA') return [] as string[];
          throw new QueryError(`getData: cannot look up the RDBs (${svc.name}): ${e.code ?? e.message}`);
        },
      );
      for (const ip of ips) out.add(`${ip}:${svc.port}`);
    }
    return [...out].sort();
  }

  private async purviews(): Promise<{ rdbs: RdbSource[]; hdb: HdbSource | undefined; failed: string | undefined }> {
    const endpoints = await this.rdbEndpoints();
    this.up.keepOnly(new Set([...endpoints, ...(this.cfg.hdb ? [this.cfg.hdb] : [])]));
    const ask = async (endpoint: string) => decodePurview(await this.up.call(endpoint, PURVIEW));
    const got = await Promise.allSettled(endpoints.map(ask));
    const hdb = this.cfg.hdb ? await Promise.allSettled([ask(this.cfg.hdb)]) : [];
    const rdbs: RdbSource[] = [];
    let failed: string | undefined;
    got.forEach((g, i) => {
      const endpoint = endpoints[i]!;
      if (g.status === 'rejected') {
        // Scaled in: an RDB last seen flushed and empty held nothing to lose; its pod may be gone before the Service stops listing it.
        const last = this.lastSeen.get(endpoint);
        if (last?.state === 'flushed' && last.tables.every((t) => t.rows === 0)) return;
        failed ??= `rdb at ${endpoint} unreachable: ${(g.reason as Error).message}`;
      } else if (g.value.kind === 'rdb') {
        rdbs.push({ endpoint, purview: g.value });
        this.lastSeen.set(endpoint, g.value);
      } else failed ??= `${endpoint} is not an RDB (its purview says ${g.value.kind})`;
    });
    for (const e of this.lastSeen.keys()) if (!endpoints.includes(e)) this.lastSeen.delete(e);
    let h: HdbSource | undefined;
    const hg = hdb[0];
    if (hg?.status === 'rejected') failed ??= `hdb at ${this.cfg.hdb} unreachable: ${(hg.reason as Error).message}`;
    else if (hg?.status === 'fulfilled') {
      if (hg.value.kind !== 'hdb') failed ??= `${this.cfg.hdb} is not an HDB`;
      else h = { endpoint: this.cfg.hdb!, purview: hg.value as HdbPurview };
    }
    return { rdbs, hdb: h, failed };
  }

  /** What each RDB's windows are: a query is only whole if these did not change while its parts answered. */
  private static windows(rdbs: readonly RdbSource[]): string {
    return rdbs.map((r) => `${r.endpoint} ${r.purview.name} ${r.purview.day} ${r.purview.state} ${r.purview.firstI} ${r.purview.lastI}`).sort().join('\n');
  }

  private static partRequest(req: GetDataRequest, columns: readonly string[]): QValue {
    const keys: string[] = ['table'];
    const vals: QValue[] = [q.symbol(req.table)];
    if (req.start !== undefined) keys.push('startTime'), vals.push(q.timestamp(req.start));
    if (req.end !== undefined) keys.push('endTime'), vals.push(q.timestamp(req.end));
    if (req.syms !== undefined) keys.push('syms'), vals.push(q.symbols(req.syms));
    keys.push('columns');
    vals.push(q.symbols([...columns]));
    return q.list(q.symbol('getData'), q.dict(q.symbols(keys), q.list(...vals)));
  }

  async getData(req: GetDataRequest): Promise<QTable> {
    this.stats.queries++;
    const until = Date.now() + this.cfg.waitMs;
    for (let replans = 0; ; ) {
      const before = await this.purviews();
      if (before.failed !== undefined) {
        if (Date.now() < until) {
          await new Promise((r) => setTimeout(r, POLL_MS));
          continue;
        }
        throw new QueryError(`getData: ${before.failed}`);
      }
      const plan = planGetData(req, before.rdbs, before.hdb, this.cfg.daySpan);
      if (!plan.ok) {
        if (plan.retry && Date.now() < until) {
          await new Promise((r) => setTimeout(r, POLL_MS));
          continue;
        }
        throw new QueryError(plan.message);
      }
      const columns = req.columns && req.columns.length > 0 ? req.columns : undefined;
      // Every part is asked for time (to merge by) and sym (to leave another pool's rows out), whatever the client asked.
      const wanted = columns ? [...new Set([...columns, 'time', 'sym'])] : undefined;
      const answers = await Promise.all(
        plan.parts.map(async (p) => {
          try {
            const v = await this.up.call(p.endpoint, Gateway.partRequest(req, wanted ?? []));
            if (v.kind !== 'table') throw new QueryError(`getData: ${p.label} at ${p.endpoint} answered ${v.kind}, not a table`);
            return p.excludeSyms ? dropSyms(v, p.excludeSyms) : v;
          } catch (e) {
            if (e instanceof QueryError) throw e;
            const why = e instanceof QRemoteError ? `refused: ${e.message}` : `unreachable: ${(e as Error).message}`;
            throw new QueryError(`getData: ${p.label} at ${p.endpoint} ${why}; no partial answer given`);
          }
        }),
      );
      // Only the RDBs that answered can have dropped rows from under the answer: they alone are read again.
      const asked = new Set(plan.parts.filter((p) => p.kind === 'rdb').map((p) => p.endpoint));
      const again = await Promise.allSettled([...asked].map(async (endpoint) => ({ endpoint, purview: decodePurview(await this.up.call(endpoint, PURVIEW)) as RdbPurview })));
      // One that answered and then went away: its answer stands.
      const now = again.flatMap((g) => (g.status === 'fulfilled' ? [g.value] : []));
      const still = new Set(now.map((r) => r.endpoint));
      const moved = Gateway.windows(now) !== Gateway.windows(before.rdbs.filter((r) => still.has(r.endpoint)));
      if (moved) {
        this.stats.replans++;
        if (++replans > MAX_REPLANS) throw new QueryError(`getData: the RDBs' windows moved during each of ${MAX_REPLANS} attempts (rolls under way); ask again`);
        continue;
      }
      const rows = answers.reduce((n, t) => n + (t.data[0] ? countRows(t) : 0), 0);
      if (rows > this.cfg.rowLimit)
        throw new QueryError(`getData: ${rows} rows of ${req.table} match, above the gateway's row limit of ${this.cfg.rowLimit}; ask for a shorter time range or fewer syms`);
      if (answers.length === 0) return this.emptyAnswer(req, columns);
      const names = columns ?? answers[0]!.columns;
      return mergeByTime(answers, names);
    }
  }

  /** No part holds rows of the range: an empty table, with the table's columns when some process knows it. */
  private async emptyAnswer(req: GetDataRequest, columns: readonly string[] | undefined): Promise<QTable> {
    const { rdbs, hdb } = await this.purviews();
    const ask = [...rdbs.map((r) => r.endpoint), ...(hdb ? [hdb.endpoint] : [])];
    let unknown: string | undefined;
    for (const endpoint of ask) {
      // An empty range still answers with the columns' types, from any process that knows the table.
      const probe = Gateway.partRequest({ ...req, start: 0n, end: 0n }, columns ?? []);
      try {
        const v = await this.up.call(endpoint, probe);
        if (v.kind === 'table') return v;
      } catch (e) {
        if (e instanceof QRemoteError) unknown = e.message;
      }
    }
    throw new QueryError(unknown ?? `getData: unknown table ${req.table}`);
  }

  async purview(): Promise<QValue> {
    const { rdbs, hdb, failed } = await this.purviews();
    const ps: RdbPurview[] = rdbs.map((r) => r.purview);
    const long = (xs: (number | null)[]) => q.longs(xs.map((x) => (x === null ? NULL.long : BigInt(x))));
    return q.dict(
      q.symbols(['kind', 'rdbs', 'hdbDays', 'unreachable', 'queries', 'replans']),
      q.list(
        q.symbol('gateway'),
        q.table({
          endpoint: q.symbols(rdbs.map((r) => r.endpoint)),
          name: q.symbols(ps.map((p) => p.name)),
          pool: q.symbols(ps.map((p) => p.pool)),
          state: q.symbols(ps.map((p) => p.state)),
          firstI: long(ps.map((p) => p.firstI)),
          lastI: long(ps.map((p) => p.lastI)),
          rows: long(ps.map((p) => p.tables.reduce((n, t) => n + t.rows, 0))),
        }),
        q.vector('date', (hdb?.purview.days ?? []).map(dateFromIso)),
        q.string(failed ?? ''),
        // Queries answered since start, and how many times one was planned again because a window moved under it.
        q.long(this.stats.queries),
        q.long(this.stats.replans),
      ),
    );
  }

  /** The sync handler: getData and purview only. */
  handler(): (v: QValue) => Promise<QValue> {
    return async (v) => {
      const { fn, arg } = parseCall(v);
      if (fn === 'purview') return this.purview();
      return this.getData(parseGetData(arg));
    };
  }
}

const countRows = (t: QTable): number => {
  const c = t.data[0]!;
  return c.kind === 'vector' || c.kind === 'list' ? (c.values as { length: number }).length : 0;
};
