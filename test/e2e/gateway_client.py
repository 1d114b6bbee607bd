"""PyKX (KX's own Python client, unlicensed mode: IPC and serialization only)
as a q feedhandler and as a q user of the gateway, for test/e2e/gateway.test.ts.

  feed HOST PORT FEED_JSON       async .u.upd[`trade; (time; sym; price; size)]
                                 to the tickerplant's kdb+ IPC port, paced, then
                                 one sync .u.upd as the barrier (it answers once
                                 everything before it is durable)
  query HOST PORT SPEC_JSON      getData through the gateway for each range, and
                                 the same ranges computed from the feeds' rows
  ask HOST PORT ASKS_JSON        getData for each {name, table, fromMs, toMs, syms}:
                                 the rows, syms and first rows got (make demo)

A feed is {"seed", "startMs", "rows", "batch", "paceMs"}: its rows are a pure
function of the seed, times startMs + i ms, so the query side recomputes
exactly what was sent without a copy of it. Prints one JSON line."""
import json
import os
import sys
import time

os.environ.setdefault('PYKX_UNLICENSED', 'true')
import numpy as np  # noqa: E402
import pykx as kx  # noqa: E402

SYMS = ['AAPL', 'MSFT', 'AMZN', 'GOOG', 'NVDA']


def rows(feed):
    rnd = np.random.default_rng(feed['seed'])
    n = feed['rows']
    t = np.int64(feed['startMs']) + np.arange(n, dtype=np.int64)
    sym = rnd.integers(0, len(SYMS), n)
    cents = rnd.integers(10_000, 20_000, n)
    size = rnd.integers(1, 1_000, n)
    return t, sym, cents, size


def ts(ms):
    return np.asarray(ms, dtype='datetime64[ms]').astype('datetime64[ns]')


def ts_atom(ms):
    # A scalar, not a 0-d array: PyKX 4.2.0's toq crashes the process on a 0-d datetime64 array.
    return kx.toq(np.datetime64(int(ms), 'ms').astype('datetime64[ns]'))


def stats(sym_names, cents, size):
    """Per sym: rows, the sum of sizes and of prices in cents (any loss or double changes one)."""
    out = {}
    for s in SYMS:
        m = sym_names == s
        if m.any():
            out[s] = {'rows': int(m.sum()), 'size': int(size[m].sum()), 'cents': int(cents[m].sum())}
    return out


def feed(host, port, spec):
    t, sym, cents, size = rows(spec)
    batch, pace = spec['batch'], spec['paceMs'] / 1000
    names = np.array(SYMS)[sym]
    sent = 0
    with kx.SyncQConnection(host, port, no_ctx=True) as q:
        start = time.monotonic()
        for k, lo in enumerate(range(0, len(t), batch)):
            hi = min(len(t), lo + batch)
            data = kx.toq([kx.toq(ts(t[lo:hi])), kx.SymbolVector(list(names[lo:hi])), kx.toq(cents[lo:hi] / 100.0), kx.toq(size[lo:hi].astype(np.int64))])
            last = hi == len(t)
            # The last update is sync: its answer means every update before it is logged.
            q('.u.upd', kx.SymbolAtom('trade'), data, wait=last)
            sent += hi - lo
            wait = start + (k + 1) * pace - time.monotonic()
            if wait > 0 and not last:
                time.sleep(wait)
    return {'sent': sent}


def query(host, port, spec):
    feeds = [rows(f) for f in spec['feeds']]
    t = np.concatenate([f[0] for f in feeds])
    names = np.array(SYMS)[np.concatenate([f[1] for f in feeds])]
    cents = np.concatenate([f[2] for f in feeds])
    size = np.concatenate([f[3] for f in feeds])
    out = {}
    with kx.SyncQConnection(host, port, username=spec['user'], password=spec['password'], no_ctx=True) as q:
        for r in spec['ranges']:
            arg = {'table': kx.SymbolAtom('trade'), 'startTime': ts_atom(r['fromMs']), 'endTime': ts_atom(r['toMs'])}
            try:
                got = q('getData', arg).pd()
            except kx.QError as e:
                out[r['name']] = {'error': str(e)}
                continue
            gt = got['time'].to_numpy().astype('datetime64[ms]').astype(np.int64)
            m = (t >= r['fromMs']) & (t < r['toMs'])
            out[r['name']] = {
                'rows': len(got),
                'inTimeOrder': bool((np.diff(gt) >= 0).all()),
                'got': stats(got['sym'].astype(str).to_numpy(), np.rint(got['price'].to_numpy() * 100).astype(np.int64), got['size'].to_numpy().astype(np.int64)),
                'want': stats(names[m], cents[m], size[m]),
            }
        try:
            q('1+1')
            out['freeForm'] = 'evaluated'
        except kx.QError as e:
            out['freeForm'] = 'refused: ' + str(e)
    try:
        with kx.SyncQConnection(host, port, username=spec['user'], password='not-' + spec['password'], no_ctx=True) as q:
            q('getData', {'table': kx.SymbolAtom('trade')})
            out['badPassword'] = 'accepted'
    except Exception as e:  # noqa: BLE001 -- PyKX raises its own or a socket error, either is a refusal
        out['badPassword'] = 'refused: ' + type(e).__name__
    return out


def ask(host, port, asks):
    out = []
    with kx.SyncQConnection(host, port, no_ctx=True) as q:
        for a in asks:
            arg = {'table': kx.SymbolAtom(a['table']), 'startTime': ts_atom(a['fromMs']), 'endTime': ts_atom(a['toMs'])}
            if a.get('syms'):
                arg['syms'] = kx.SymbolVector(a['syms'])
            try:
                got = q('getData', arg).pd()
            except kx.QError as e:
                out.append({'name': a['name'], 'error': str(e)})
                continue
            out.append({'name': a['name'], 'rows': len(got), 'syms': sorted(set(map(str, got['sym']))), 'head': got.head(3).astype(str).to_dict('records')})
    return out


if __name__ == '__main__':
    cmd, host, port, arg = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
    print(json.dumps({'feed': feed, 'query': query, 'ask': ask}[cmd](host, port, arg)))
