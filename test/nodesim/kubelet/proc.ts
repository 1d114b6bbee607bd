// Reads the process table from /proc: a container is its process group plus
// every descendant of its first process, so a child that moved to its own
// group is still counted (and killed) with its container.
import { readdirSync, readFileSync } from 'node:fs';

const PAGE = 4096;

interface ProcEntry {
  pid: number;
  ppid: number;
  pgrp: number;
  rssBytes: number;
}

export const readProcs = (): ProcEntry[] => {
  const out: ProcEntry[] = [];
  for (const name of readdirSync('/proc')) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // comm may contain spaces and parentheses: fields start after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.push({
      pid: Number(name),
      ppid: Number(rest[1]),
      pgrp: Number(rest[2]),
      rssBytes: Number(rest[21]) * PAGE,
    });
  }
  return out;
};

/** pids of the container whose first process (and process group leader) is rootPid. */
export const containerPids = (rootPid: number, procs: ProcEntry[] = readProcs()): ProcEntry[] => {
  const children = new Map<number, ProcEntry[]>();
  for (const p of procs) {
    const list = children.get(p.ppid);
    if (list) list.push(p);
    else children.set(p.ppid, [p]);
  }
  const found = new Map<number, ProcEntry>();
  for (const p of procs) if (p.pgrp === rootPid || p.pid === rootPid) found.set(p.pid, p);
  const stack = [...found.values()];
  while (stack.length > 0) {
    const p = stack.pop()!;
    for (const c of children.get(p.pid) ?? []) {
      if (!found.has(c.pid)) {
        found.set(c.pid, c);
        stack.push(c);
      }
    }
  }
  return [...found.values()];
};

export const signalContainer = (rootPid: number, signal: NodeJS.Signals): void => {
  for (const p of containerPids(rootPid)) {
    try {
      process.kill(p.pid, signal);
    } catch {
      // already gone
    }
  }
};
