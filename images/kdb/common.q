/ common.q - shared by tick.q, rdb.q and merge.q: env config, schema, day names, atomic file writes.
/ Message windows: the tickerplant numbers messages 1,2,3,... per day; a window (firstI;lastI]
/ holds the messages i with firstI < i <= lastI (the same rule as images/sim/src/window.ts).

.c.fail:{-2 "config error: ",x; exit 2};
.c.env:{[k;d] v:getenv k; $[count v;v;d]};
.c.need:{[k] v:getenv k; if[not count v; .c.fail string[k]," is required"]; v};
.c.long:{[k;d] v:.c.env[k;d]; r:"J"$v; if[null r; .c.fail string[k]," is invalid (",v,")"]; r};
.c.float:{[k;d] v:.c.env[k;d]; r:"F"$v; if[null r; .c.fail string[k]," is invalid (",v,")"]; r};
.c.list:{[k] v:getenv k; $[count v; `$"," vs v; `symbol$()]};
.c.flag:{[k] .c.env[k;"0"] in ("1";"true")};
/ A trading day as YYYY-MM-DD (the form the operator writes, "D"$ reads it); 0Nd when unset.
.c.isoDay:{[k] v:getenv k; if[not count v; :0Nd]; d:"D"$v;
  if[(null d) or not v like "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"; .c.fail string[k]," is invalid (",v,"): a trading day, YYYY-MM-DD"]; d};

/ YYYY-MM-DD as in file names and the status file (q prints dates as YYYY.MM.DD)
.c.day:{ssr[string x;".";"-"]};
.c.iso:{(ssr[string `datetime$x;".";"-"] 10),"T",(11_string `datetime$x),"Z"}; / UTC only when TZ=UTC; good enough for updatedAt

/ Column types of KDB_SCHEMA: every q type name the KdbCluster API accepts (operator/src/api/kdbcluster.ts
/ ColumnType), the default schema's time:timespan among them.
.c.types:`boolean`guid`byte`short`int`long`real`float`char`symbol`timestamp`month`date`datetime`timespan`minute`second`time`string!"bgxhijefcspmdznuvtC";
.c.empty:{$[x="C";();x$()]};
.c.default:`trade`quote!(
  ([] time:`timestamp$(); sym:`symbol$(); price:`float$(); size:`long$());
  ([] time:`timestamp$(); sym:`symbol$(); bid:`float$(); ask:`float$(); bsize:`long$(); asize:`long$()));
.c.schema:{
  s:getenv `KDB_SCHEMA;
  if[not count s; :.c.default];
  d:@[.j.k;s;{.c.fail "KDB_SCHEMA is not JSON: ",x}];
  (`$d@\:`name)!{c:x`columns; flip (`$c@\:`name)!.c.empty each .c.types `$c@\:`type} each d};

/ Bytes per value by type for the deterministic memory account: images/sim/src/rdb/memory.ts
/ BYTES_PER_VALUE, 40 a value and 80 for text (string, char, guid map to its string type).
.c.bytes:"bgxhijefcspmdznuvtC"!40 80 40 40 40 40 40 40 80 40 40 40 40 40 40 40 40 40 80;
.c.rowBytes:{sum .c.bytes (0!meta x)`t};

/ Replace a file whole: write a temp file beside it, flush it to disk, rename.
.c.writeLines:{[path;lines] tmp:path,".tmp.",string .z.i; (hsym `$tmp) 0: lines; system "sync ",tmp; system "mv -f ",tmp," ",path;};
.c.setAtomic:{[path;obj] tmp:path,".tmp.",string .z.i; (hsym `$tmp) set obj; system "sync ",tmp; system "mv -f ",tmp," ",path;};
