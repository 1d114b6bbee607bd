// Runs one container as a local process group inside its own mount and UTS
// namespaces (see container-init.sh), with stdout/stderr appended to the
// pod log file the contracts name.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signalContainer } from './proc.ts';

const initScript = join(dirname(fileURLToPath(import.meta.url)), 'container-init.sh');

export interface Mount {
  kind: 'dir' | 'file';
  source: string;
  target: string;
  readOnly: boolean;
}

export interface ContainerSpec {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  hostname: string;
  mounts: Mount[];
  mountsFile: string;
  logFile: string;
  /** Host folders the process needs that a volume must not hide (see container-init.sh). */
  keep?: string[];
}

export interface Exit {
  exitCode: number;
  signal: NodeJS.Signals | null;
}

export interface RunningProcess {
  pid: number;
  exited: Promise<Exit>;
  signal(sig: NodeJS.Signals): void;
}

export const startContainer = (spec: ContainerSpec): RunningProcess => {
  // Shallow mounts first, so a volume mounted inside another one lands on top of it.
  const mounts = [...spec.mounts].sort((a, b) => a.target.split('/').length - b.target.split('/').length);
  for (const m of mounts) {
    if (/[\t\n]/.test(m.source + m.target)) throw new Error(`mount path with tab or newline: ${m.target}`);
  }
  for (const k of spec.keep ?? []) if (/[\t\n]/.test(k)) throw new Error(`kept path with tab or newline: ${k}`);
  mkdirSync(dirname(spec.mountsFile), { recursive: true });
  writeFileSync(
    spec.mountsFile,
    [
      ...mounts.map((m) => `${m.kind}\t${m.readOnly ? 'ro' : 'rw'}\t${m.source}\t${m.target}\n`),
      ...[...new Set(spec.keep ?? [])].map((k) => `keep\t-\t${k}\t-\n`),
    ].join(''),
  );
  mkdirSync(dirname(spec.logFile), { recursive: true });
  const out = openSync(spec.logFile, 'a');
  try {
    const child = spawn(
      'unshare',
      ['-m', '-u', '--propagation', 'private', '--', '/bin/sh', initScript, spec.mountsFile, spec.hostname, '--', ...spec.argv],
      // detached: its own session and process group, so signals reach the whole container.
      { cwd: spec.cwd, env: spec.env, detached: true, stdio: ['ignore', out, out] },
    );
    const pid = child.pid;
    const exited = new Promise<Exit>((resolve) => {
      child.on('error', () => resolve({ exitCode: 127, signal: null }));
      child.on('exit', (code, signal) => {
        // Leftover children of the container die with it, as they would with its PID namespace.
        if (pid !== undefined) signalContainer(pid, 'SIGKILL');
        resolve({ exitCode: code ?? 128 + (signal ? constants.signals[signal] : 9), signal });
      });
    });
    return {
      pid: pid ?? -1,
      exited,
      signal: (sig) => {
        if (pid === undefined) return;
        // SIGKILL also reaches descendants that left the group; other signals go to the
        // group once, since some programs treat a second SIGTERM as "stop now".
        if (sig === 'SIGKILL') return signalContainer(pid, sig);
        try {
          process.kill(-pid, sig);
        } catch {
          // group already empty
        }
      },
    };
  } finally {
    closeSync(out);
  }
};
