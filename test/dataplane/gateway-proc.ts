/** The gateway runs from its own entry point (gateway/src/main.ts), spawned beside the harness's processes. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from './harness.ts';

export interface GatewayProc {
  kill(): Promise<void>;
  output(): string;
  running(): boolean;
}

export const startGateway = (env: Record<string, string>): GatewayProc => {
  const child = spawn(process.execPath, [join(REPO, 'gateway/src/main.ts')], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += String(d)));
  child.stderr!.on('data', (d) => (out += String(d)));
  const exited = new Promise((r) => child.once('exit', r));
  return {
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    output: () => out,
    running: () => child.exitCode === null && child.signalCode === null,
  };
};
