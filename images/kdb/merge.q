/ merge.q - end-of-day merge of the slices the RDBs of a day flushed, into the HDB partition:
/ each table sorted by sym then time (xasc is stable, so message order holds within a sym and
/ time), parted on sym, syms enumerated once here. The marker .complete is written last;
/ with it present a second run changes nothing. Refuses when fewer slices than expected.
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
slices:slices iasc first each slices@\:`window;
tabs:distinct raze key each slices@\:`tables;
{[t] t set `sym`time xasc raze {x[`tables;y]}[;t] each slices; .Q.dpft[hsym `$hdb;d;`sym;t]} each tabs;
marker 0: enlist .j.j `day`slices`tables!(.c.day d;string files;tabs!count each value each tabs);
-1 "merged ",string[count files]," slices of ",.c.day[d]," into ",hdb;
exit 0
