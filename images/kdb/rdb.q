/ rdb.q - RDB of an auto-scaling pool: subscribes to its pool, replays its window from the
/ log (live messages wait in the socket meanwhile: q is single-threaded), applies live
/ messages in order, rolls at the roll threshold, flushes its slice at end of day, and
/ writes the status file (operator/src/api/rdb-status.ts) with one line via .j.j + rename.
/ env: KDB_RDB_NAME KDB_POOL KDB_TP_HOST KDB_TP_PORT KDB_TABLES KDB_SYMS KDB_ROLL_THRESHOLD
/      KDB_MEMORY_LIMIT_BYTES KDB_BASELINE_BYTES KDB_STATUS_FILE KDB_STAGING_DIR KDB_HDB_DIR KDB_REPLACES
/      KDB_REPLACES_DAY
\l common.q

.rdb.name:`$.c.need`KDB_RDB_NAME;
.rdb.pool:`$.c.need`KDB_POOL;
.rdb.tp:`$":",.c.env[`KDB_TP_HOST;"127.0.0.1"],":",.c.env[`KDB_TP_PORT;"5010"];
.rdb.tabs:.c.list`KDB_TABLES;
.rdb.syms:.c.list`KDB_SYMS;
.rdb.rollPct:.c.float[`KDB_ROLL_THRESHOLD;"80"];
.rdb.limit:.c.long[`KDB_MEMORY_LIMIT_BYTES;""];
.rdb.baseline:.c.long[`KDB_BASELINE_BYTES;string 150*1024*1024];
.rdb.statusFile:.c.env[`KDB_STATUS_FILE;"/var/run/kdb/status.json"];
.rdb.staging:.c.need`KDB_STAGING_DIR;
.rdb.replaces:`$getenv`KDB_REPLACES;
/ The day of the window a replacement owes (the lost RDB's last report, from the operator); 0Nd:
/ the current day, and once that day's window is written.
.rdb.replacesDay:.c.isoDay`KDB_REPLACES_DAY;
if[null .rdb.replaces; .rdb.replacesDay:0Nd];

.rdb.schema:.c.schema[];
.rdb.tables:$[count .rdb.tabs; .rdb.tabs inter key .rdb.schema; key .rdb.schema];
{x set .rdb.schema x} each .rdb.tables;
.rdb.rb:.rdb.tables!.c.rowBytes each .rdb.schema .rdb.tables;

/ Until assigned, a replacement's day is the day of the window it owes (what it reports if lost before then).
.rdb.state:`queued; .rdb.day:.z.D^.rdb.replacesDay; .rdb.firstI:0; .rdb.lastI:0N; .rdb.lastProcessed:0;
.rdb.holding:0b; .rdb.flushed:(); .rdb.h:0Ni; .rdb.done:0b;

/ Deterministic memory: baseline + rows x bytes per row by column type (same rule as the TypeScript RDB),
/ so the roll threshold behaves the same everywhere; .Q.w[] is logged beside it.
.rdb.used:{.rdb.baseline+sum .rdb.rb*count each value each .rdb.tables};
.rdb.rows:{.rdb.tables!count each value each .rdb.tables};

/ Days go out as YYYY-MM-DD (.c.day): the agent refuses q's 2026.03.02 form (operator/src/api/rdb-status.ts).
.rdb.status:{
  w:`firstI`lastI`lastProcessed!(.rdb.firstI;$[null .rdb.lastI;(::);.rdb.lastI];.rdb.lastProcessed);
  d:`version`name`pool`state`memory`window`rows`day`flushed`updatedAt!(1;.rdb.name;.rdb.pool;.rdb.state;
    `usedBytes`limitBytes!(.rdb.used[];.rdb.limit);w;.rdb.rows[];.c.day .rdb.day;.rdb.flushed;.c.iso .z.p);
  .c.writeLines[.rdb.statusFile;enlist .j.j d]};
.rdb.set:{.rdb.state:x; .rdb.status[]};

.rdb.clear:{{delete from x} each .rdb.tables; .Q.gc[]};
.rdb.apply:{[t;x]
  if[not t in .rdb.tables; :()];
  r:flip cols[t]!x;
  if[count .rdb.syms; r:select from r where sym in .rdb.syms];
  t insert r};

/ Past the roll threshold: stop taking updates and tell the tickerplant the last message applied.
.rdb.check:{if[.rdb.used[] >= .rdb.limit*.rdb.rollPct%100; .rdb.roll[]]};
.rdb.roll:{.rdb.lastI:.rdb.lastProcessed; .rdb.set`rolled; neg[.rdb.h](`.u.roll;.rdb.name;.rdb.lastI)};

/ Live messages from the tickerplant carry their number i; only the next one is applied.
.rdb.upd:{[t;x;i]
  if[not .rdb.state=`live; :()];
  if[i<=.rdb.lastProcessed; :()];
  if[i<>1+.rdb.lastProcessed; -2 "gap: message ",string[i]," after ",string .rdb.lastProcessed; hclose .rdb.h; :()];
  .rdb.apply[t;x]; .rdb.lastProcessed:i; .rdb.check[]};

/ Replay (from;to]: -11! calls upd for messages 1..to; message number = counter after the increment,
/ kept iff it is > from. (The paper's code kept i > start while counting from zero and lost one per roll.)
.rdb.replay:{[f;from;to;mayRoll]
  if[to<=from; :()];
  .rdb.ri:0; .rdb.from:from; .rdb.mayRoll:mayRoll;
  upd::{[t;x] .rdb.ri+:1; if[.rdb.ri<=.rdb.from; :()]; if[not .rdb.state=`replaying; :()];
    .rdb.apply[t;x]; .rdb.lastProcessed:.rdb.ri; if[.rdb.mayRoll; .rdb.check[]]};
  -11!(to;hsym `$f)};

.rdb.assign:{[a]
  if[.rdb.holding and not .rdb.day=a`day; .rdb.eod[.rdb.day;a`day]];
  .rdb.day:a`day;
  if[`queued=a`role; .rdb.clear[]; .rdb.holding:0b; .rdb.firstI:0; .rdb.lastI:0N; .rdb.lastProcessed:0; :.rdb.set`queued];
  if[.rdb.holding and not .rdb.firstI=a`firstI; .rdb.clear[]; .rdb.holding:0b];
  if[not .rdb.holding; .rdb.lastProcessed:a`firstI];
  .rdb.holding:1b; .rdb.firstI:a`firstI;
  .rdb.lastI:$[`live=a`role; 0N; a`lastI];
  .rdb.set`replaying;
  .rdb.replay[a`logPath;.rdb.lastProcessed;$[`live=a`role;a`replayTo;a`lastI];`live=a`role];
  / A window of a day already ended (its RDB was lost before it flushed): flush it now. A missing
  / key indexes to a null of another type, so the keys are tested before they are compared.
  before:(`rolled=a`role) and $[`currentDay in key a; a[`currentDay]>a`day; 0b];
  if[before and 1b~a`thenCurrentDay; :.rdb.thenToday[a`day;a`currentDay]];
  if[`replaying=.rdb.state; .rdb.set $[`live=a`role;`live;`rolled]];
  if[before; :.rdb.eod[a`day;a`currentDay]];
  / A replacement for a lost RDB that held nothing of the day (a live one lost right after end of
  / day, say) writes its empty slice now, so its server is handed back today, not at end of day.
  if[(not null .rdb.replaces) and (`rolled=a`role) and a[`lastI]=a`firstI; .rdb.eod[a`day;a`day]]};

/ The replacement of a live RDB lost around end of day, before it flushed: the finished day's
/ window is written as that day's slice, then it subscribes again (no replaces-day) for what the
/ lost RDB held of the current day. It reports replaying, never flushed, in between: to the
/ operator flushed means "holds nothing and is done", and it would take it for a spare.
.rdb.thenToday:{[d;nd]
  path:.rdb.writeSlice[d;.rdb.firstI;.rdb.lastProcessed^.rdb.lastI];
  .rdb.flushed,:enlist `day`rows`path!(.c.day d;sum count each value each .rdb.tables;path);
  .rdb.clear[]; .rdb.holding:0b; .rdb.replacesDay:0Nd;
  .rdb.day:nd; .rdb.firstI:0; .rdb.lastI:0N; .rdb.lastProcessed:0;
  .rdb.set`replaying;
  .rdb.subscribe .rdb.h};

/ End of day: the finished day's rows go to <staging>/<day>/<name>.kdb (one file: a dictionary of
/ tables, syms not enumerated so RDBs never race on a shared sym file), written temp + sync + rename.
/ The live RDB never reports `flushed`: to the operator that means "holds nothing and is done", and
/ the pool's live RDB would be deleted and its server terminated in that moment. It goes
/ live -> flushing -> live (the next day), reporting the flush in `flushed`, as the TypeScript RDB does.
/ Windows close as lastI, else the last message applied: lastProcessed^lastI (x^y fills a null y with x).
/ The slice carries pool, window and subscription (tables, syms; empty = all) as the TypeScript
/ slice does (images/sim/src/rdb/flush.ts), so merge.q takes each window of a pool once.
.rdb.writeSlice:{[d;f;l]
  dir:.rdb.staging,"/",.c.day d; system "mkdir -p ",dir;
  path:dir,"/",string[.rdb.name],".kdb";
  .c.setAtomic[path;`day`rdb`pool`window`subscription`tables!(d;.rdb.name;.rdb.pool;(f;l);`tables`syms!(.rdb.tabs;.rdb.syms);.rdb.tables!value each .rdb.tables)];
  path};
.rdb.leave:{.rdb.holding:0b; .rdb.done:1b; if[not null .rdb.h; hclose .rdb.h; .rdb.h:0Ni]};
.rdb.eod:{[d;nd]
  was:.rdb.state;
  if[(was=`flushed) or .rdb.done; :()];
  goesOn:was in `live`replaying;
  if[.rdb.holding and d=.rdb.day;
    .rdb.set`flushing;
    path:.rdb.writeSlice[d;.rdb.firstI;.rdb.lastProcessed^.rdb.lastI];
    n:sum count each value each .rdb.tables;
    .rdb.flushed,:enlist `day`rows`path!(.c.day d;n;path);
    .rdb.clear[];
    if[not goesOn; .rdb.lastI:.rdb.lastProcessed^.rdb.lastI; .rdb.set`flushed]];
  / A queued RDB holds nothing: it flushes an empty slice (0;0], reports flushed and leaves the
  / pool so its server is scaled in (the TypeScript RDB does the same); tick.q drops it on close.
  $[goesOn; [.rdb.day:nd; .rdb.firstI:0; .rdb.lastI:0N; .rdb.lastProcessed:0; .rdb.set`live];
    was=`queued; [path:.rdb.writeSlice[d;0;0]; .rdb.flushed,:enlist `day`rows`path!(.c.day d;0;path); .rdb.lastI:0; .rdb.set`flushed; .rdb.leave[]];
    .rdb.leave[]]};

/ Connect, subscribe (synchronous: the tickerplant answers with role and window), retry on loss.
.rdb.held:{$[.rdb.holding; `day`state`firstI`lastI`lastProcessed!(.rdb.day;.rdb.state;.rdb.firstI;.rdb.lastI;.rdb.lastProcessed); ()]};
/ The handle becomes ours only once the tickerplant took the subscription: a refusal (a replacement
/ while the lost RDB is "still connected") closes it, and the next tick subscribes again, as the
/ TypeScript RDB reconnects. Setting .rdb.h first left it set and the RDB queued forever. A
/ replacement subscribing again on its handle (.rdb.thenToday) is refused the same way.
.rdb.subscribe:{[h]
  a:@[h;(`.u.sub;.rdb.name;.rdb.pool;.rdb.tabs;.rdb.syms;.rdb.replaces;.rdb.replacesDay;.rdb.held[]);{(`subscribeRefused;x)}];
  if[`subscribeRefused~first a; -2 "tickerplant refused the subscription: ",last a; hclose h; .rdb.h:0Ni; :()];
  .rdb.h:h;
  .rdb.assign a};
.rdb.connect:{
  if[.rdb.done or not null .rdb.h; :()];
  h:@[hopen;(.rdb.tp;2000);0Ni];
  if[null h; :()];
  .rdb.subscribe h};
.z.pc:{[w] if[w=.rdb.h; .rdb.h:0Ni]};
.z.ts:{.rdb.connect[]; .rdb.status[]};

/ The query API (api.q): getData and purview over what this RDB holds; nothing else a client
/ sends is evaluated. Async messages are taken from the tickerplant's handle only.
.kdb.tables:{.rdb.tables};
.kdb.empty:{0#value x};
.kdb.parts:{enlist value x};
.kdb.purviewOf:{
  f:$[count .rdb.flushed; ([] day:"D"$.rdb.flushed@\:`day; rows:`long$.rdb.flushed@\:`rows); ([] day:`date$(); rows:`long$())];
  `kind`name`pool`state`day`firstI`lastI`lastProcessed`subscription`tables`flushed!(`rdb;.rdb.name;.rdb.pool;.rdb.state;.rdb.day;
    `long$.rdb.firstI;`long$.rdb.lastI;`long$.rdb.lastProcessed;`tables`syms!(.rdb.tabs;.rdb.syms);.kdb.ranges .rdb.tables;f)};
\l api.q
.z.ps:{if[.z.w=.rdb.h; value x]};

.rdb.status[];
\t 1000
