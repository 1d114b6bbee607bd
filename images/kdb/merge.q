/ merge.q - end-of-day merge of the slices the RDBs of a day flushed, into the HDB partition:
/ each table sorted by sym then time (xasc is stable, so message order holds within a sym and
/ time), parted on sym, syms enumerated once here. The marker .complete is written last;
/ with it present a second run changes nothing. Refuses when fewer slices than expected, and
/ takes each message window of a pool once (below).
/ usage: q merge.q -day 2025.03.03 [-expect N]    env: KDB_STAGING_DIR KDB_HDB_DIR
/ (the operator's merge Job gives the day as KDB_MERGE_DAY=YYYY-MM-DD instead of -day)
\l common.q
a:.Q.opt .z.x;
if[(not `day in key a) and count getenv`KDB_MERGE_DAY; a[`day]:enlist getenv`KDB_MERGE_DAY];
if[not `day in key a; .c.fail "-day YYYY.MM.DD (or env KDB_MERGE_DAY) is required"];
d:"D"$first a`day;
staging:.c.need`KDB_STAGING_DIR; hdb:.c.need`KDB_HDB_DIR;
dir:staging,"/",.c.day d;
files:asc f where (f:key hsym `$dir) like "*.kdb";
if[(`expect in key a) and (count files)<>"J"$first a`expect;
  -2 "day ",.c.day[d],": expected ",(first a`expect)," slices in ",dir,", found ",string count files,"; not merging an incomplete day"; exit 2];
if[0=count files; -2 "day ",.c.day[d],": no slices in ",dir; exit 2];
marker:hsym `$hdb,"/",string[d],"/.complete";
if[not ()~key marker; -1 "day ",.c.day[d]," already complete"; exit 0];
slices:{get hsym `$dir,"/",string x} each files;
F:string files; W:{"j"$x`window} each slices; P:slices@\:`pool; N:{count each x`tables} each slices;
/ Slices written before they carried a subscription (tables, syms) keep all their rows and hide none.
SUB:{$[`subscription in key x; x`subscription; (::)]} each slices;
fail:{-2 "day ",.c.day[d],": ",x,"; not merging"; exit 2};
win:{"(",string[x 0],", ",string[x 1],"]"};

/ Each message window of a pool once (the same rules as images/sim/src/merge/windows.ts): of the windows
/ that start at one message the widest is taken, one lying inside a taken window is left out (a lost
/ RDB and its replacement, or its partitioned process's prefix); a gap, a window overlapping another
/ without lying inside it, one window with two row counts, or more rows inside than around are refused.
choose:{[p;ix]
  ix:ix idesc W[ix;1]; ix:ix iasc W[ix;0];
  t:`long$(); at:0; i:0;
  while[i<count ix;
    s:ix i; f:W[s;0]; l:W[s;1];
    $[l<=f; [if[0<sum N s; fail "pool ",string[p],": ",F[s]," has an empty window but holds rows"]];
      f>at; fail "pool ",string[p],": no slice holds messages ",win[(at;f)]," (before ",F[s],")";
      f=at; [t,:s; at:l];
      [h:first t where (W[t;0]<=f) and l<=W[t;1];
        if[null h; fail "pool ",string[p],": the window of ",F[s]," ",win[W s]," overlaps another without lying inside it"];
        if[(W[s]~W h) and not N[s]~N h; fail "pool ",string[p],": ",F[s]," and ",F[h]," hold the same window ",win[W s]," with different row counts"];
        if[any N[s]>N h; fail "pool ",string[p],": ",F[s]," lies inside ",F[h]," but holds more rows"]]];
    i+:1];
  (t;at)};
pools:asc distinct P;
res:{choose[x;where P=x]} each pools;
ends:last each res; lastI:max ends;
if[any sh:ends<lastI; fail "pool ",string[first pools where sh],": its slices end at message ",string[first ends where sh],", short of the day's ",string[lastI],": a hole"];
keep:raze first each res;
keep:keep iasc string P keep; keep:keep iasc W[keep;0];

/ Pools that overlap (one removed from the spec drains beside the pools that split its feed): a row of a
/ table and sym goes in from the first pool by name that subscribes to it.
psub:pools!{first SUB where P=x} each pools;
covers:{[t;p] k:psub p; $[(::)~k; 0b; (0=count k`tables) or t in k`tables]};
rowsOf:{[t;s]
  r:slices[s;`tables;t];
  if[(::)~psub P s; :r];
  e:pools where (pools<P s) and covers[t] each pools;
  if[not count e; :r];
  ss:(psub e)@\:`syms;
  $[any 0=count each ss; 0#r; select from r where not sym in raze ss]};
tabs:distinct raze key each slices@\:`tables;
proto:{[t] 0#first {x[`tables;y]}[;t] each slices where {y in key x`tables}[;t] each slices};
{[t] t set `sym`time xasc raze (enlist proto t),{[t;s] $[t in key slices[s;`tables]; rowsOf[t;s]; ()]}[t] each keep; .Q.dpft[hsym `$hdb;d;`sym;t]} each tabs;
marker 0: enlist .j.j `day`slices`tables`merged`lastI!(.c.day d;F;tabs!count each value each tabs;F keep;lastI);
-1 "merged ",string[count keep]," of ",string[count files]," slices of ",.c.day[d]," into ",hdb;
exit 0
