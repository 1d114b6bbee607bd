/ tick.q - kdb+tick-style tickerplant with the subscriber queue of each pool (KX white paper
/ "Auto scaling for a kdb+ realtime database"), plus what the paper left open: a persisted
/ subscriber table, replacement RDBs and explicit window bounds. Protocol = the TypeScript
/ reference in images/sim/src (see images/kdb/README.md).
/ env: KDB_TP_PORT KDB_LOG_DIR KDB_STATE_DIR KDB_SCHEMA KDB_EOD_TIME KDB_TZ (via TZ) KDB_BATCH_MS KDB_TRUNCATE_CORRUPT_LOG
\l common.q

.u.logDir:.c.need`KDB_LOG_DIR;
.u.stateFile:(.c.need`KDB_STATE_DIR),"/subscribers.kdb";
.u.eodT:"U"$.c.env[`KDB_EOD_TIME;"00:00"];
if[null .u.eodT; .c.fail "KDB_EOD_TIME is invalid (expected HH:MM)"];
.u.batchMs:.c.long[`KDB_BATCH_MS;"0"];
.u.truncate:.c.flag`KDB_TRUNCATE_CORRUPT_LOG;
.u.t:.c.schema[];

/ The trading day: the local date, or the next once the end-of-day time has passed (00:00 = midnight).
.u.tday:{$[(.u.eodT=00:00) or (`minute$.z.T)<.u.eodT; .z.D; .z.D+1]};

/ Subscriber table (persisted). lastI is null while live. Handles and what was sent are not persisted.
.u.subs:([] name:`symbol$(); pool:`symbol$(); tabs:(); syms:(); state:`symbol$(); arrivedAt:`timestamp$();
  liveAt:`timestamp$(); rolledAt:`timestamp$(); firstI:`long$(); lastI:`long$(); replaces:`symbol$(); replacedBy:`symbol$());
.u.h:(`symbol$())!`int$();     / RDB name -> connection
.u.sent:(`symbol$())!`long$();  / RDB name -> highest message number given (replay end or last publish)
.u.pend:();                      / batching mode: (t;x;i) logged, not yet published

/ The windows of the day before stay one more day (.u.pd, .u.psubs): an RDB lost around end of
/ day, before it flushed, is replaced from that day's log.
.u.pd:0Nd; .u.psubs:0#.u.subs;
.u.save:{.c.setAtomic[.u.stateFile; `day`subs`pday`psubs!(.u.d;.u.subs;.u.pd;.u.psubs)]};
.u.load:{f:hsym `$.u.stateFile; if[()~key f; :0b]; s:get f; .u.d:s`day; .u.subs:s`subs;
  if[`psubs in key s; .u.pd:s`pday; .u.psubs:s`psubs]; 1b};
/ Kept: the rolled windows, and the live RDB's closed at n, the day's last message (0N: unknown,
/ not kept). The live RDB flushes the day only once it heard of its end, and can die in between.
.u.keepPrev:{[n]
  .u.pd:.u.d;
  .u.psubs:select from .u.subs where null replacedBy, (state=`rolled) or (state=`live) and (not null n) and n>=firstI;
  update state:`rolled, lastI:n, rolledAt:0Np from `.u.psubs where state=`live};

/ The log: one entry per update message; at start a corrupt tail stops us with the valid length.
.u.logOf:{[d] .u.logDir,"/tp-",.c.day[d],".log"};
.u.logPath:{.u.logOf .u.d};
/ Whole messages in day d's log (0N: no log): the day's last message, for a start after a missed end of day.
.u.logCount:{[d] f:hsym `$.u.logOf d; if[()~key f; :0N]; r:-11!(-2;f); $[-7h=type r; r; first r]};
.u.openLog:{
  f:hsym `$.u.L:.u.logPath[];
  if[()~key f; .[f;();:;()]];
  r:-11!(-2;f);
  if[-7h<>type r;
    $[.u.truncate;
      [-1 "truncating corrupt log ",.u.L," to ",string[r 1]," bytes (",string[r 0]," whole messages)"; system "truncate -s ",string[r 1]," ",.u.L];
      [-2 "tickerplant log ",.u.L," is corrupt after byte ",string[r 1]," (",string[r 0]," whole messages). Truncate to length ",string[r 1]," and restart: truncate -s ",string[r 1]," ",.u.L," (or set KDB_TRUNCATE_CORRUPT_LOG=1)"; exit 3]];
    r:r 0];
  .u.i:r; .u.l:hopen f};

/ Updates from feeds: time is stamped when the feed left it out; the message is checked
/ against the schema, logged, then counted, then published to the live RDB of each pool.
.u.check:{[t;x]
  if[not t in key .u.t; '"unknown table ",string t];
  c:cols .u.t t;
  if[(count c)=1+count x; x:enlist[count[first x]#.z.p],x];
  if[(count c)<>count x; '"table ",string[t]," has ",string[count c]," columns, got ",string count x];
  if[not 1=count distinct count each x; '"columns of different lengths"];
  if[0=count first x; '"an update needs at least one row"];
  if[not (exec t from meta .u.t t)~exec t from meta flip c!x; '"column types do not match the schema of ",string t];
  x};
/ The durability rule: nothing is published before the log is synced. Every update waits in
/ .u.pend; .u.commit (on the timer, before a window is handed out, at end of day) syncs the
/ log once for all of them, then publishes them: a group commit. q has no fsync, so the
/ sync is GNU coreutils' `sync FILE` (fsync of that one file; coreutils >= 8.24).
.u.fsync:{system "sync ",.u.L};
.u.commit:{.u.fsync[]; .u.flushPending[]};
upd:{[t;x]
  x:.u.check[t;x];
  .u.l enlist (`upd;t;x);
  .u.i+:1;
  .u.pend,:enlist (t;x;.u.i)};
.u.pub:{[t;x;i] .u.pubTo[t;x;i] each exec name from .u.subs where state=`live, null replacedBy};
.u.pubTo:{[t;x;i;n] if[null h:.u.h n; :()]; if[i<=.u.sent n; :()]; neg[h](`.rdb.upd;t;x;i); .u.sent[n]:i};
.u.flushPending:{if[count .u.pend; {.u.pub . x} each .u.pend; .u.pend:()]};
/ A malformed update from a feed (async) is refused with an error back to that feed; it never reached the log.
/ Async messages are calls by name only: a feed's (`.u.upd or `upd; table; data), an RDB's
/ (`.u.roll; name; lastI). Anything else, a q string included, is refused the same way, never evaluated.
.u.upd:{[t;x] upd[t;x]};
.u.async:`upd`.u.upd`.u.roll;
.u.onAsync:{if[not (0h=type x) and -11h=type first x; '"this port takes (`.u.upd; `table; data)"];
  if[not (first x) in .u.async; '"unknown function ",string[first x],": this port takes .u.upd"]; value x};
.z.ps:{@[.u.onAsync;x;{neg[.z.w](`.feed.error;x)}]};

/ The largest lastI of a pool: where its next live RDB starts.
.u.hw:{[p] 0^max exec lastI from .u.subs where pool=p, state=`rolled};
.u.row:{[n] first select from .u.subs where name=n, null replacedBy};

/ Who holds n's window in t now: n, or the end of the chain of replacements it started (the
/ operator names a window's first owner when a replacement is lost before it replayed; the debt
/ is still the owner's). ` when there is none, or while that holder (neither n nor the subscriber
/ s asking) is still connected: it is not lost. .u.by: whom x was replaced by (` if it holds).
.u.by:{[t;p;x] $[count select from t where pool=p, name=x, null replacedBy; `; first exec replacedBy from t where pool=p, name=x]};
.u.chainEnd:{[t;p;n]
  c:count[t] .u.by[t;p]\ n;
  if[not any null c; :`];
  h:last c except `;
  $[count select from t where pool=p, name=h, null replacedBy; h; `]};
.u.holderIn:{[t;p;n;s] h:.u.chainEnd[t;p;n]; $[(h in n,s) or null .u.h h; h; `]};

/ What an RDB is told: role and replay window. live: replay (replayFrom;replayTo] then take
/ publishes (all have i > replayTo). rolled: replay (replayFrom;lastI] and hold it.
.u.assignment:{[s;from]
  role:s`state; n:s`name;
  to:$[role=`live; .u.i; role=`rolled; s`lastI; 0];
  if[role=`live; .u.sent[n]:.u.i];
  / The window's messages are synced before it is handed out (a reader on another EFS client sees them).
  if[role<>`queued; .u.commit[]];
  `role`day`logPath`firstI`replayFrom`replayTo`lastI!(role;.u.d;.u.L;s`firstI;from;to;s`lastI)};
.u.tell:{[n;from] if[not null h:.u.h n; neg[h](`.rdb.assign;.u.assignment[.u.row n;from])]};

.u.makeLive:{[n;f] update state:`live, liveAt:.z.p, firstI:f, lastI:0N from `.u.subs where name=n, null replacedBy};

/ Roll: the live RDB holds (firstI;lastI]; the oldest queued RDB becomes live with (lastI;.u.i].
.u.rollAt:{[n;li]
  s:.u.row n;
  if[not `live=s`state; '"only the live RDB can roll"];
  if[(li<s`firstI) or li>.u.i; '"roll outside the window"];
  update state:`rolled, lastI:li, rolledAt:.z.p from `.u.subs where name=n, null replacedBy;
  q:exec name from .u.subs where pool=s`pool, state=`queued, null replacedBy;
  if[count q; .u.makeLive[first q;li]; .u.tell[first q;li]];
  };
.u.roll:{[n;li] .u.rollAt[n;li]; .u.save[]};

/ Roll on request (the operator, to move a pool onto a new spec; the reference's roll-live op):
/ q)h(`.u.rollLive;`pool;`rdb;`next) (next ` for the oldest queued one connected). Rolls rdb at
/ .u.sent, the last message handed to it, as a slow RDB's roll; its handle stays and it is told
/ it rolled. Only while rdb is still live (a repeat rolls nothing), and only onto a queued RDB
/ that is connected: with none, nothing changes, so the pool never goes without a live RDB.
/ Answers rolled, lastI, next and (not rolled) reason, as roll-live-done does.
.u.rollLive:{[p;n;nx]
  s:.u.row n; lv:first exec name from .u.subs where pool=p, state=`live, null replacedBy;
  no:{[lv;r;li] `rolled`lastI`next`reason!(0b;li;lv;r)}[lv];
  if[(null s`name) or p<>s`pool; :no["pool ",string[p]," has no RDB ",string[n]," today";0N]];
  if[not `live=s`state; :no[string[n]," is ",string[s`state],", not live: nothing rolled";s`lastI]];
  if[null .u.h n; :no[string[n]," is live but not connected: it is rolled when its connection goes, not on request";0N]];
  q:exec name from .u.subs where pool=p, state=`queued, null replacedBy;
  q:$[null nx; q where not null .u.h q; q inter enlist nx];
  if[not count q; :no["no queued RDB is connected: rolling ",string[n]," now would leave the pool with no live RDB; nothing rolled";0N]];
  if[null .u.h first q; :no[string[first q]," is queued but not connected: nothing rolled";0N]];
  li:(s`firstI)|.u.i&.u.sent n;
  update state:`rolled, lastI:li, rolledAt:.z.p from `.u.subs where name=n, null replacedBy;
  .u.makeLive[first q;li];
  / The new live RDB first: its assignment sets what was sent to it before pending updates go out.
  .u.tell[first q;li]; .u.tell[n;li];
  .u.save[];
  `rolled`lastI`next`reason!(1b;li;first q;"")};

/ Subscribe (a synchronous call, so registration and "current count + log path" are one
/ step no publish can fall into). rd: a replacement's day of the window it replaces (0Nd: the
/ current day). held: what the RDB already holds of this day, or ().
.u.sub:{[n;p;tabs;syms;rep;rd;held]
  .u.h[n]:.z.w;
  okHeld:(99h=type held) and (.u.d=held`day);
  if[okHeld and held[`lastProcessed]>.u.i;
    -2 "subscriber beyond the log refused: ",string[n]," holds messages up to ",string[held`lastProcessed],", the log ",.u.L," ends at ",string .u.i;
    '"WindowPastLog: ",string[n]," holds messages up to ",string[held`lastProcessed]," but the tickerplant log ends at ",string .u.i];
  if[not null (s:.u.row n)`name;
    if[okHeld and (`live=s`state) and (`rolled=held`state) and s[`firstI]=held`firstI; .u.rollAt[n;held`lastProcessed]; s:.u.row n];
    from:$[okHeld and s[`firstI]=held`firstI; s[`firstI]|held`lastProcessed; s`firstI];
    .u.save[]; :.u.assignment[s;from]];
  if[not null rep; :.u.replaceOn[n;p;tabs;syms;rep;rd]];
  `.u.subs insert (n;p;tabs;syms;`queued;.z.p;0Np;0Np;0;0N;`;`);
  if[not count select from .u.subs where pool=p, state=`live; .u.makeLive[n;.u.hw p]];
  .u.save[];
  s:.u.row n; .u.assignment[s;s`firstI]};

/ A replacement names the lost RDB and the day of its window (the lost RDB's last report): the
/ current day's is taken here, the day before's replayed from that day's log; an older one is gone.
.u.replaceOn:{[n;p;tabs;syms;rep;rd]
  if[(null rd) or rd>=.u.d; :.u.replace[n;p;tabs;syms;rep]];
  if[rd=.u.pd; :.u.replacePrev[n;p;tabs;syms;rep;rd]];
  '"subscriber ",string[n]," replaces ",string[rep],"'s window of ",.c.day[rd],", but the tickerplant keeps windows of ",$[null .u.pd;"no earlier day";.c.day .u.pd]," only (it is on ",.c.day[.u.d],"): that day's rows were not replayed"};

/ A replacement takes the window of the lost RDB's holder (a lost live RDB is rolled at the current count first).
.u.replace:{[n;p;tabs;syms;rep]
  if[null h:.u.holderIn[.u.subs;p;rep;n]; :.u.replacePrev[n;p;tabs;syms;rep;0Nd]];
  lost:.u.row h;
  if[(`live=lost`state) and not null .u.h h; '"subscriber ",string[h]," is still connected"];
  if[`live=lost`state; .u.rollAt[h;.u.i]; lost:.u.row h];
  update replacedBy:n from `.u.subs where name=h, null replacedBy;
  `.u.subs insert (n;p;tabs;syms;lost`state;.z.p;lost`liveAt;lost`rolledAt;lost`firstI;lost`lastI;h;`);
  .u.save[];
  .u.assignment[.u.row n;lost`firstI]};

/ A replacement for an RDB lost with a window of the day before: replay that day's log, then
/ flush it as that day's slice (currentDay tells the RDB the day is over). It joins no queue.
/ The live RDB at end of day went on live, so its replacement also owes what it held of the
/ current day: thenCurrentDay tells it to subscribe again (no replaces-day) once that slice is
/ written. Nothing of the day before but a holder today (rd was a guess): the current day's.
.u.replacePrev:{[n;p;tabs;syms;rep;rd]
  h:.u.holderIn[.u.psubs;p;rep;n];
  lost:first select from .u.psubs where name=h, pool=p, null replacedBy;
  if[(null h) or null lost`lastI;
    if[(not null rd) and not null .u.holderIn[.u.subs;p;rep;n]; :.u.replace[n;p;tabs;syms;rep]];
    .u.noHolder[p;rep]];
  update replacedBy:n from `.u.psubs where name=h, pool=p, null replacedBy;
  `.u.psubs insert (n;p;tabs;syms;`rolled;.z.p;lost`liveAt;lost`rolledAt;lost`firstI;lost`lastI;h;`);
  .u.save[];
  today:not null .u.holderIn[.u.subs;p;rep;n];
  `role`day`logPath`firstI`replayFrom`replayTo`lastI`currentDay`thenCurrentDay!(`rolled;.u.pd;.u.logOf .u.pd;lost`firstI;lost`firstI;lost`lastI;lost`lastI;.u.d;today)};
/ The refusal names the holder when the chain ends at one still connected.
.u.noHolder:{[p;rep]
  c:{x where not null .u.h x} (.u.chainEnd[;p;rep] each (.u.subs;.u.psubs)) except `;
  '"pool ",string[p]," has no subscriber ",string[rep]," to replace",$[count c;" (",string[first c]," holds its window and is still connected)";""]};

/ A live RDB that disconnects is rolled with what was sent to it; a queued one leaves the queue.
.z.pc:{[w]
  if[null n:first where .u.h=w; :()];
  .u.h _: n;
  s:.u.row n;
  if[`live=s`state; .u.rollAt[n;(s`firstI)|.u.i&.u.sent n]];
  if[`queued=s`state; delete from `.u.subs where name=n, null replacedBy];
  .u.save[]};

/ End of day: publish what is pending, tell every subscriber once, close the log, open the
/ next day's, reset the count. Rolled RDBs leave the table; the live one restarts at 0. The
/ day's windows, the live one's closed at the day's last message, stay as the day before's.
.u.end:{[nd]
  .u.commit[];
  {neg[x](`.rdb.eod;.u.d;y)}[;nd] each value .u.h;
  hclose .u.l;
  .u.keepPrev .u.i;
  delete from `.u.subs where (state=`rolled) or not null replacedBy;
  update firstI:0, lastI:0N from `.u.subs where state=`live;
  .u.h:(key[.u.h] inter exec name from .u.subs)#.u.h;
  .u.sent:(key .u.h)!count[.u.h]#0;
  .u.d:nd;
  .u.openLog[];
  .u.save[]};
/ Manual trigger: q)h".u.adminEnd[]" or the sim CLI's eod against the TypeScript tickerplant.
.u.adminEnd:{d:.u.d; .u.end .u.d+1; `day`nextDay!(.c.day d;.c.day .u.d)};

.z.ts:{if[count .u.pend; .u.commit[]]; if[.u.tday[]>.u.d; .u.end .u.tday[]]};

/ Start: restore the subscriber table, catch up on a missed end of day, validate the log.
.u.d:.u.tday[];
if[.u.load[]; if[.u.d<.u.tday[]; .u.keepPrev .u.logCount .u.d; delete from `.u.subs where (state=`rolled) or not null replacedBy; update firstI:0, lastI:0N from `.u.subs where state=`live; .u.d:.u.tday[]]];
.u.openLog[];
/ A log shorter than a window already handed out lost published messages. A -11! log numbers
/ messages by position, so q cannot go on above them in a new epoch as the reference does:
/ it refuses to start rather than hand those numbers out again.
if[.u.i<hw:0^max (exec firstI from .u.subs),exec lastI from .u.subs;
  -2 "tickerplant log ",.u.L," holds ",string[.u.i]," messages but windows up to ",string[hw]," were handed out: it lost published messages. Refusing to start rather than reuse their numbers";
  exit 4];
.u.save[];
/ Zero-latency mode still waits for a sync: the timer commits every 5 ms.
system "t ",string $[.u.batchMs>0; .u.batchMs; 5];
-1 "tickerplant up: day ",.c.day[.u.d],", ",string[.u.i]," messages in ",.u.L;
