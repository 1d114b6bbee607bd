/ hdb.q - the HDB: serves the days merge.q wrote (<hdb>/<day>/<table>/, complete ones: .complete
/ written last) through the query API (api.q), the same as the TypeScript reference
/ (images/sim/src/hdb/hdb.ts). The partitions are real splayed kdb+ partitions, so the folder is
/ loaded as a database; a day merged later is seen after .kdb.reload (on the timer).
/ env: KDB_HDB_DIR KDB_QUERY_ROW_LIMIT
\l common.q

.hdb.dir:.c.need`KDB_HDB_DIR;
.hdb.days:{d:"D"$ssr[;"-";"."] each string key hsym `$.hdb.dir; d:d where not null d; asc d where {not ()~key hsym `$.hdb.dir,"/",(.c.day x),"/.complete"} each d};
.hdb.tablesOf:{[d] t:key hsym `$.hdb.dir,"/",.c.day d; t where {[d;t] not ()~key hsym `$.hdb.dir,"/",(.c.day d),"/",string[t],"/.d"}[d] each t};
/ A day's table, read from its splayed folder (the folder names are YYYY-MM-DD, not q's par.txt form).
.hdb.read:{[d;t] get hsym `$.hdb.dir,"/",(.c.day d),"/",string t};

.kdb.tables:{distinct raze .hdb.tablesOf each .hdb.days[]};
.kdb.empty:{[t] d:last .hdb.days[] where t in/: .hdb.tablesOf each .hdb.days[]; 0#.hdb.read[d;t]};
.kdb.parts:{[t] .hdb.read[;t] each .hdb.days[] where t in/: .hdb.tablesOf each .hdb.days[]};
.kdb.purviewOf:{
  ds:.hdb.days[];
  r:raze {[d] ts:.hdb.tablesOf d; update day:d from ([] table:ts; rows:{count .hdb.read[x;y]}[d] each ts;
    firstTime:{min exec time from .hdb.read[x;y]}[d] each ts; lastTime:{max exec time from .hdb.read[x;y]}[d] each ts)} each ds;
  `kind`days`tables!(`hdb;ds;$[count r; `day xcols r; ([] day:`date$(); table:`symbol$(); rows:`long$(); firstTime:`timestamp$(); lastTime:`timestamp$())])};
\l api.q
.z.ps:{};
