// The agent runs beside every RDB, so what its entry point loads is paid on
// every server (bench/agent-memory.ts: client-node alone is about 80 MB).
// Node itself resolves the graph here, so type-only imports (erased) and
// re-exports count exactly as they do at run time.
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Every module URL Node resolves while loading `entry`; the entry fails after its imports (no pod env). */
const loadedBy = (entry: string): string[] => {
  const probe = `
    import { registerHooks } from 'node:module';
    import { writeSync } from 'node:fs';
    const seen = new Set();
    registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); seen.add(r.url); return r; } });
    process.on('exit', () => writeSync(1, JSON.stringify([...seen])));
    await import(${JSON.stringify(join(REPO, entry))}).catch(() => undefined);
  `;
  // No POD_NAME and no KUBERNETES_SERVICE_HOST: main() refuses to start once every static import is in.
  // It then exits non-zero; what it loaded is on stdout either way.
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { cwd: REPO, env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8' });
  if (!run.stdout.startsWith('[')) throw new Error(`the import probe printed nothing: ${run.stderr}`);
  return JSON.parse(run.stdout) as string[];
};

const packagesOf = (urls: string[]): string[] =>
  [...new Set(urls.flatMap((u) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1] ?? []))].sort();

describe('the agent entry point loads no heavy package', () => {
  const urls = loadedBy('operator/src/agent/main.ts');

  test('the probe saw the whole graph (the transport and the agent loop are in it)', () => {
    expect(urls).toEqual(expect.arrayContaining([expect.stringMatching(/operator\/src\/kube\/in-cluster\.ts$/), expect.stringMatching(/operator\/src\/agent\/agent\.ts$/)]));
  });

  test('neither @kubernetes/client-node nor winston; zod only (the report schema)', () => {
    expect(packagesOf(urls)).toEqual(['zod']);
  });

  test('nothing of the operator beyond the agent, the API server client, logging and the report schema', () => {
    const ours = urls.filter((u) => u.includes('/operator/src/')).map((u) => u.replace(/^.*\/operator\/src\//, ''));
    expect(ours.filter((p) => !/^(agent|kube|runtime|api)\//.test(p))).toEqual([]);
    expect(ours).not.toContain('kube/client.ts');
    expect(ours).not.toContain('kube/index.ts');
    expect(ours).not.toContain('runtime/log.ts');
  });

  test('the probe does see client-node where it is loaded (kube/client-node-transport.ts)', () => {
    expect(packagesOf(loadedBy('operator/src/kube/client-node-transport.ts'))).toContain('@kubernetes/client-node');
  });
});

describe('the operator entry point loads client-node only for a kubeconfig that needs it', () => {
  const urls = loadedBy('operator/src/main.ts');

  test('the probe saw the whole operator (its reconciler and its AWS clients are in it)', () => {
    expect(urls).toEqual(expect.arrayContaining([expect.stringMatching(/operator\/src\/controllers\/kdbcluster\//), expect.stringMatching(/operator\/src\/aws\/clients\.ts$/)]));
    expect(packagesOf(urls)).toEqual(expect.arrayContaining(['winston', 'prom-client', 'zod']));
  });

  test('no @kubernetes/client-node and no kube/client-node-transport.ts at start (about 80 MB resident)', () => {
    expect(packagesOf(urls)).not.toContain('@kubernetes/client-node');
    expect(urls.filter((u) => u.endsWith('/kube/client-node-transport.ts'))).toEqual([]);
  });
});
