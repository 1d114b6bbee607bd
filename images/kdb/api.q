/ api.q - the read-only query API of the q RDB and HDB, the same as the TypeScript reference
/ (images/sim/src/query/request.ts, gateway/README.md): getData[dict] and purview[] (also
/ .kdb.getData, .kdb.purview). A sync message is only ever a call of one of these by name:
/ h(`getData;`table`startTime`endTime!(`trade;2026.03.02D10:00;2026.03.02D10:05)). A q string,
/ another name, a lambda or a bad argument is answered with a kdb+ error; nothing is evaluated.
/ The loading script defines .kdb.parts[t] (the tables to select from) and .kdb.purviewOf[].
/ env: KDB_QUERY_ROW_LIMIT (1000000)

.kdb.rowLimit:.c.long[`KDB_QUERY_ROW_LIMIT;"1000000"];
.kdb.keys:`table`startTime`startTS`endTime`endTS`syms`columns;
.kdb.how:"call a named function: h(`getData;`table`startTime`endTime!(`trade;2026.03.02D10:00;2026.03.02D10:05)) or h(`.kdb.purview;::)";

/ A bound: a timestamp, or a date (its midnight); absent, 0Np and +-0Wp: none (n is the value to use then).
.kdb.bound:{[d;a;b;n]
  if[(a in key d) and b in key d; '"getData: give ",string[a]," or ",string[b],", not both"];
  k:$[a in key d;a;b in key d;b;`];
  if[null k; :n];
  v:d k;
  if[-14h=type v; v:`timestamp$v];
  if[not -12h=type v; '"getData: ",string[k]," must be a timestamp (e.g. 2026.03.02D10:00:00) or a date"];
  $[(null v) or v in -0W 0Wp; n; v]};
.kdb.syms:{[d;k] if[not k in key d; :`symbol$()]; v:d k; if[not type[v] in -11 11h; '"getData: ",string[k]," must be a symbol or a symbol vector"]; (),v};

.kdb.getData:{[d]
  if[not 99h=type d; '"getData takes a dictionary (`table`startTime`endTime`syms`columns!...)"];
  if[not 11h=type key d; '"getData: the dictionary keys must be symbols (`table`startTime...)"];
  if[count k:(key d) except .kdb.keys; '"getData: unknown key `",string[first k],"; the keys are table, startTime (or startTS), endTime (or endTS), syms, columns"];
  if[not `table in key d; '"getData: `table is required"];
  t:d`table; if[10h=type t; t:`$t];
  if[not -11h=type t; '"getData: table must be a symbol"];
  if[not t in .kdb.tables[]; '"getData: unknown table ",string[t],"; this server holds ",", " sv string .kdb.tables[]];
  s:.kdb.bound[d;`startTime;`startTS;-0Wp]; e:.kdb.bound[d;`endTime;`endTS;0Wp];
  if[e<s; '"getData: endTime is before startTime"];
  ss:.kdb.syms[d;`syms]; cs:.kdb.syms[d;`columns];
  if[count[cs]>count distinct cs; '"getData: columns lists a column twice"];
  c:cols .kdb.empty t;
  if[count bad:cs except c; '"getData: table ",string[t]," has no column ",string[first bad],"; its columns are ",", " sv string c];
  w:$[count ss; {[s;e;ss;x] select from x where time>=s, time<e, sym in ss}[s;e;ss]; {[s;e;x] select from x where time>=s, time<e}[s;e]];
  r:raze w each .kdb.parts t;
  if[.kdb.rowLimit<n:count r; '"getData: ",string[n]," rows of ",string[t]," match, above the row limit of ",string[.kdb.rowLimit],"; ask for a shorter time range or fewer syms"];
  / iasc is stable: rows of one time keep the order they were stored in.
  r:r iasc r`time;
  $[count cs; cs#r; c#r]};

.kdb.purview:{[x] .kdb.purviewOf[]};
/ Per table: rows, first and last time held.
.kdb.times:{raze {exec time from x} each .kdb.parts x};
.kdb.ranges:{[ts] ([] table:ts; rows:{sum count each .kdb.parts x} each ts; firstTime:{min .kdb.times x} each ts; lastTime:{max .kdb.times x} each ts)};

.kdb.fns:`getData`.kdb.getData`purview`.kdb.purview!(.kdb.getData;.kdb.getData;.kdb.purview;.kdb.purview);
.kdb.call:{[x]
  if[10h=abs type x; '"free-form q is not evaluated here: ",.kdb.how];
  if[-11h=type x; x:enlist x];
  if[not type[x] in 0 11h; '"not a function call: ",.kdb.how];
  f:first x; if[10h=type f; f:`$f];
  if[not -11h=type f; '"only named functions are called here: ",.kdb.how];
  if[not f in key .kdb.fns; '"unknown function \"",string[f],"\": this server answers getData and purview (also as .kdb.getData, .kdb.purview)"];
  a:1_x; if[1<count a; '"",string[f]," takes one argument, got ",string count a];
  .kdb.fns[f] $[count a; first a; (::)]};
.z.pg:{.kdb.call x};
