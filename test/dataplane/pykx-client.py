"""PyKX (KX's own Python client, unlicensed mode: IPC and serialization only)
against a reference RDB's query port: prints what it got as one JSON line."""
import json
import os
import sys

os.environ.setdefault('PYKX_UNLICENSED', 'true')
import pykx as kx  # noqa: E402

port = int(sys.argv[1])
out = {}
# no_ctx: PyKX otherwise probes the server with q expressions of its own,
# which this server (named functions only) refuses.
with kx.SyncQConnection('127.0.0.1', port, no_ctx=True) as q:
    purview = q('purview', None).py()
    out['purview'] = {str(k): (v if isinstance(v, (int, float, str, bool)) or v is None else str(v)) for k, v in purview.items()}
    for table in ('trade', 'quote'):
        t = q('getData', {'table': kx.SymbolAtom(table)}).pd()
        out[table] = {'rows': len(t), 'columns': list(t.columns), 'syms': sorted(set(map(str, t['sym'])))}
    aapl = q('getData', {'table': kx.SymbolAtom('trade'), 'syms': kx.SymbolVector(['AAPL'])}).pd()
    out['aaplRows'] = len(aapl)
    out['aaplSyms'] = sorted(set(map(str, aapl['sym'])))
    try:
        q('1+1')
        out['freeForm'] = 'evaluated'
    except kx.QError as e:
        out['freeForm'] = 'refused: ' + str(e)
print(json.dumps(out))
