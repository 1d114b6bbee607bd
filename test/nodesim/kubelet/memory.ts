// The OOM killer stand-in: one /proc scan per interval for all containers
// with a memory limit; a container whose processes together hold more
// resident memory than its limit is killed with SIGKILL, as the kernel's
// cgroup OOM killer would, and reported OOMKilled.
import { containerPids, readProcs, signalContainer } from './proc.ts';

interface Watched {
  rootPid: number;
  limitBytes: number;
  onOOM: (rssBytes: number) => void;
}

export class MemoryWatch {
  private readonly watched = new Map<number, Watched>();
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs: number) {
    this.timer = setInterval(() => this.check(), intervalMs);
    this.timer.unref();
  }

  add(rootPid: number, limitBytes: number, onOOM: (rssBytes: number) => void): void {
    this.watched.set(rootPid, { rootPid, limitBytes, onOOM });
  }

  remove(rootPid: number): void {
    this.watched.delete(rootPid);
  }

  /** Resident bytes of a container's processes now. */
  static rssOf(rootPid: number): number {
    return containerPids(rootPid).reduce((sum, p) => sum + p.rssBytes, 0);
  }

  private check(): void {
    if (this.watched.size === 0) return;
    const procs = readProcs();
    for (const w of [...this.watched.values()]) {
      const rss = containerPids(w.rootPid, procs).reduce((sum, p) => sum + p.rssBytes, 0);
      if (rss > w.limitBytes) {
        this.watched.delete(w.rootPid);
        signalContainer(w.rootPid, 'SIGKILL');
        w.onOOM(rss);
      }
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
