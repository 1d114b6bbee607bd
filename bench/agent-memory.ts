/**
 * What the agent beside every RDB costs in memory, and the idle reference
 * RDB beside it: both are paid on every server.
 *   node bench/agent-memory.ts     (BENCH_RUNS=5, BENCH_WARMUP_MS=5000, BENCH_SAMPLE_MS=8000)
 *
 * The agent runs against a tiny HTTPS API server of this file's own (a
 * self-signed certificate from openssl, one pod to GET and PATCH) while a
 * status file changes every 200 ms (memory one whole percent up each time,
 * so every change is a write, and a state change every few seconds). After
 * a warm-up, its VmRSS is sampled every 250 ms; a run's figure is the median
 * sample, the figure printed the median of runs. A run counts only if the
 * agent kept writing while it was sampled.
 *
 * Agents measured: the Go agent RDB pods run (`/kdb-agent`, here the
 * binary test/stack/agent.sh builds to agent/bin/kdb-agent), then the
 * TypeScript ones: `node operator/src/main.ts agent` (the operator's client
 * and winston, through a kubeconfig; it loaded @kubernetes/client-node until
 * 2026-12-03, and now talks node:https as the operator does), and the pod's
 * agent `node operator/src/agent/main.ts` (node:https, in-cluster token):
 * plain, with the Node flags of its container command (specs/rdb.ts), and as
 * the pod runs it, with those flags and a warm compile cache; then the same
 * on type-stripped JavaScript, for what Node's TypeScript stripper costs.
 * Also: a bare Node process (the floor), each import alone, and the idle
 * reference RDB (images/sim, started by its entrypoint.sh as its pod does).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT_COMPILE_CACHE, AGENT_NODE_FLAGS } from '../operator/src/specs/rdb.ts';
import { DataPlane, HOST } from '../test/dataplane/harness.ts';
import { fmt, freePort, median, REPO, runs } from './lib.ts';

const RUNS = runs();
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 5000);
const SAMPLE_MS = Number(process.env.BENCH_SAMPLE_MS ?? 8000);
const NS = 'bench';
const POD = 'rdb-0';
const TOKEN = 'bench-token-not-a-secret';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (kb: number) => `${(kb / 1024).toFixed(1)} MB`;

/** Resident set in kB, as the kernel (and a container's memory limit) counts it. */
const vmRssKb = (pid: number): number => {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]);
};

const dir = mkdtempSync(join(tmpdir(), 'kdb-agent-bench-'));
const saDir = join(dir, 'serviceaccount');
mkdirSync(saDir);
execFileSync('openssl', [
  'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
  '-keyout', join(dir, 'key.pem'), '-out', join(saDir, 'ca.crt'), '-subj', `/CN=${HOST}`, '-addext', `subjectAltName=IP:${HOST}`,
], { stdio: 'ignore' });
writeFileSync(join(saDir, 'token'), TOKEN);

// --- the API server: one pod, merge patch of metadata, strategic merge of status conditions (merged by type)
interface Pod {
  apiVersion: 'v1';
  kind: 'Pod';
  metadata: { name: string; namespace: string; resourceVersion: string; annotations: Record<string, string> };
  status: { conditions: Array<{ type: string }> };
}
let pod: Pod;
let writes = 0;
let refused = 0;
const resetPod = () => {
  pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: POD, namespace: NS, resourceVersion: '1', annotations: {} }, status: { conditions: [] } };
};
resetPod();
const podPath = `/api/v1/namespaces/${NS}/pods/${POD}`;
const server = https.createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(saDir, 'ca.crt')) }, (req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (c: string) => (body += c));
  req.on('end', () => {
    const reply = (code: number, obj: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(obj));
    };
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      refused++;
      return reply(401, { kind: 'Status', reason: 'Unauthorized', message: 'bad token' });
    }
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && path === podPath) return reply(200, pod);
    if (req.method === 'PATCH' && (path === podPath || path === `${podPath}/status`)) {
      const patch = JSON.parse(body) as { metadata?: { annotations?: Record<string, string> }; status?: { conditions?: Array<{ type: string }> } };
      Object.assign(pod.metadata.annotations, patch.metadata?.annotations);
      for (const c of patch.status?.conditions ?? []) {
        const i = pod.status.conditions.findIndex((x) => x.type === c.type);
        if (i >= 0) pod.status.conditions[i] = c;
        else pod.status.conditions.push(c);
      }
      pod.metadata.resourceVersion = String(Number(pod.metadata.resourceVersion) + 1);
      writes++;
      return reply(200, pod);
    }
    reply(404, { kind: 'Status', reason: 'NotFound', message: `${req.method} ${path}` });
  });
});
await new Promise<void>((r) => server.listen(0, HOST, r));
const apiPort = (server.address() as AddressInfo).port;

const kubeconfig = join(dir, 'kubeconfig');
writeFileSync(
  kubeconfig,
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'bench', cluster: { server: `https://${HOST}:${apiPort}`, 'certificate-authority': join(saDir, 'ca.crt') } }],
    users: [{ name: 'bench', user: { token: TOKEN } }],
    contexts: [{ name: 'bench', context: { cluster: 'bench', user: 'bench', namespace: NS } }],
    'current-context': 'bench',
  }),
);

// --- the RDB side: a status file written as the RDB writes it (temp file + rename)
const statusFile = join(dir, 'kdb', 'status.json');
mkdirSync(join(dir, 'kdb'));
const LIMIT = 1024 ** 3;
let tick = 0;
const writeStatus = () => {
  tick++;
  const states = ['queued', 'live', 'live', 'live'] as const;
  const state = states[Math.floor(tick / 20) % states.length]!;
  const status = {
    version: 1,
    name: POD,
    pool: 'pool1',
    state,
    memory: { usedBytes: Math.floor(((tick % 70) + 5) * LIMIT * 0.01), limitBytes: LIMIT },
    window: { firstI: 0, lastI: null, lastProcessed: tick * 100 },
    rows: { trade: tick * 60, quote: tick * 40 },
    day: '2026-03-02',
    flushed: [],
    updatedAt: new Date().toISOString(),
  };
  writeFileSync(`${statusFile}.tmp`, JSON.stringify(status));
  renameSync(`${statusFile}.tmp`, statusFile);
};
writeStatus();
const writer = setInterval(writeStatus, 200);

/**
 * The same agent as plain JavaScript (types stripped here, `.ts` imports
 * renamed): what Node's own type stripper costs a process that loads .ts.
 * Measured only, not shipped: the image runs the .ts sources.
 */
const jsRoot = join(dir, 'js');
for (const sub of ['agent', 'kube', 'runtime', 'api']) {
  const from = join(REPO, 'operator/src', sub);
  mkdirSync(join(jsRoot, 'operator/src', sub), { recursive: true });
  for (const f of readdirSync(from).filter((n) => n.endsWith('.ts'))) {
    const js = stripTypeScriptTypes(readFileSync(join(from, f), 'utf8')).replace(/(from\s+'\.{1,2}\/[^']+)\.ts'/g, "$1.js'");
    writeFileSync(join(jsRoot, 'operator/src', sub, f.replace(/\.ts$/, '.js')), js);
  }
}
writeFileSync(join(jsRoot, 'package.json'), JSON.stringify({ type: 'module' }));
symlinkSync(join(REPO, 'node_modules'), join(jsRoot, 'node_modules'));

interface Variant {
  name: string;
  /** The program; node when unset. */
  exec?: string;
  argv: string[];
  env: Record<string, string>;
}
const baseEnv = { PATH: process.env.PATH ?? '', POD_NAME: POD, POD_NAMESPACE: NS, KDB_STATUS_FILE: statusFile, LOG_LEVEL: 'warn' };
const inCluster = { KUBERNETES_SERVICE_HOST: HOST, KUBERNETES_SERVICE_PORT: String(apiPort), KDB_SERVICE_ACCOUNT_DIR: saDir };
// The image ships a compile cache the agent's first start finds (images/operator/Dockerfile): warm one the same way.
const compileCache = join(dir, AGENT_COMPILE_CACHE);
// Without a pod's env it stops once its imports are in, as the image's build step does.
spawnSync(process.execPath, [...AGENT_NODE_FLAGS, 'operator/src/agent/main.ts'], { cwd: REPO, env: { PATH: baseEnv.PATH, NODE_COMPILE_CACHE: compileCache }, stdio: 'ignore' });
if (readdirSync(compileCache).length === 0) throw new Error(`no compile cache written to ${compileCache}`);
// The Go agent, built (or found current) as make test and make demo build it.
execFileSync('bash', [join(REPO, 'test/stack/agent.sh')], { cwd: REPO, stdio: 'inherit' });
const goAgent = join(REPO, 'agent/bin/kdb-agent');
const GO_VARIANT = 'Go, as RDB pods run it: /kdb-agent (agent/bin/kdb-agent)';
const variants: Variant[] = [
  { name: GO_VARIANT, exec: goAgent, argv: [], env: { ...baseEnv, ...inCluster } },
  { name: 'old: node operator/src/main.ts agent', argv: ['operator/src/main.ts', 'agent'], env: { ...baseEnv, KUBECONFIG: kubeconfig } },
  { name: 'new: node operator/src/agent/main.ts', argv: ['operator/src/agent/main.ts'], env: { ...baseEnv, ...inCluster } },
  {
    name: `new, pod command: node ${AGENT_NODE_FLAGS.join(' ')} operator/src/agent/main.ts`,
    argv: [...AGENT_NODE_FLAGS, 'operator/src/agent/main.ts'],
    env: { ...baseEnv, ...inCluster },
  },
  {
    name: `new, as the pod runs it: the pod command with the image's compile cache (NODE_COMPILE_CACHE)`,
    argv: [...AGENT_NODE_FLAGS, 'operator/src/agent/main.ts'],
    env: { ...baseEnv, ...inCluster, NODE_COMPILE_CACHE: compileCache },
  },
  {
    name: `the pod command on type-stripped JavaScript (not shipped): node ${AGENT_NODE_FLAGS.join(' ')} agent/main.js`,
    argv: [...AGENT_NODE_FLAGS, join(jsRoot, 'operator/src/agent/main.js')],
    env: { ...baseEnv, ...inCluster },
  },
];

const stop = async (child: ChildProcess) => {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
};

/** Median VmRSS of one process after the warm-up; `busy` says whether the agent kept writing meanwhile. */
const sampleRss = async (child: ChildProcess, label: string): Promise<number> => {
  await sleep(WARMUP_MS);
  const samples: number[] = [];
  for (let t = 0; t < SAMPLE_MS; t += 250) {
    if (child.exitCode !== null) throw new Error(`${label} exited (${child.exitCode})`);
    samples.push(vmRssKb(child.pid!));
    await sleep(250);
  }
  return median(samples);
};

const measureAgent = async (v: Variant): Promise<number> => {
  resetPod();
  let out = '';
  const child = spawn(v.exec ?? process.execPath, v.argv, { cwd: REPO, env: v.env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => (out = (out + String(d)).slice(-4000)));
  child.stderr!.on('data', (d) => (out = (out + String(d)).slice(-4000)));
  try {
    // Steady state starts at its first write: a start on a loaded machine has taken seconds.
    const started = writes;
    for (let t = 0; writes === started; t += 50) {
      if (child.exitCode !== null || t > 60_000) throw new Error(`${v.name} never wrote (${refused} refused): ${out}`);
      await sleep(50);
    }
    const before = writes;
    const rss = await sampleRss(child, v.name).catch((e: Error) => {
      throw new Error(`${e.message}: ${out}`);
    });
    const perSecond = ((writes - before) * 1000) / (WARMUP_MS + SAMPLE_MS);
    if (perSecond < 1) throw new Error(`${v.name} wrote ${writes - before} times while measured: not reporting (${refused} refused): ${out}`);
    return rss;
  } finally {
    await stop(child);
  }
};

const results = new Map<string, number[]>();
for (let r = 0; r < RUNS; r++) {
  // Interleaved, so a change in machine load hits every variant alike.
  for (const v of variants) {
    const w0 = writes;
    const rss = await measureAgent(v);
    (results.get(v.name) ?? results.set(v.name, []).get(v.name)!).push(rss);
    console.log(`run ${r + 1}/${RUNS} ${v.name}: ${mb(rss)} (${writes - w0} API writes)`);
  }
}
clearInterval(writer);

// --- the floor and the imports, each alone in a fresh process
const importRss = (spec: string | undefined): number => {
  const read = `setTimeout(() => console.log(/^VmRSS:\\s+(\\d+)/m.exec(process.getBuiltinModule('node:fs').readFileSync('/proc/self/status', 'utf8'))[1]), 1500);`;
  const code = `${spec ? `await import(${JSON.stringify(spec)});` : ''} ${read}`;
  const xs: number[] = [];
  for (let r = 0; r < RUNS; r++) xs.push(Number(execFileSync(process.execPath, ['--input-type=module', '-e', code], { cwd: REPO, encoding: 'utf8' }).trim()));
  return median(xs);
};
const bare = importRss(undefined);
const imports: Array<[string, string]> = [
  ['a .ts file without imports (kube/resources.ts): Node\'s type stripper', `${REPO}/operator/src/kube/resources.ts`],
  ['node:https', 'node:https'],
  ['zod', 'zod'],
  ['winston', 'winston'],
  ['@kubernetes/client-node', '@kubernetes/client-node'],
  ['operator/src/api/rdb-status.ts (zod + the stripper)', `${REPO}/operator/src/api/rdb-status.ts`],
  ['operator/src/kube/index.ts (the operator client)', `${REPO}/operator/src/kube/index.ts`],
];
const importFigures = imports.map(([label, spec]) => [label, importRss(spec)] as const);

// --- the idle reference RDB, started as its pod starts it (images/sim/entrypoint.sh: heap caps from the limit),
// as it is and with a warm compile cache (what the agent's image does; the sim image does not, yet)
const rdbIdle: number[] = [];
const rdbIdleCached: number[] = [];
const rdbStates = new Set<string>();
{
  const dp = new DataPlane();
  const rdbCache = join(dir, 'rdb-compile-cache');
  let n = 0;
  const idleRdb = async (extra: Record<string, string>, measure: boolean): Promise<number> => {
    const name = `idle-${n++}`;
    const rdbStatus = join(dp.dir, 'status', `${name}.json`);
    const rdb = spawn('sh', [join(REPO, 'images/sim/entrypoint.sh'), 'rdb'], {
      cwd: REPO,
      env: {
        PATH: process.env.PATH ?? '',
        KDB_RDB_NAME: name,
        KDB_POOL: 'pool1',
        KDB_TP_HOST: HOST,
        KDB_TP_PORT: String(dp.tpPort),
        KDB_MEMORY_LIMIT_BYTES: String(LIMIT),
        KDB_STATUS_FILE: rdbStatus,
        KDB_HDB_DIR: dp.hdbDir,
        KDB_STAGING_DIR: dp.stagingDir,
        KDB_QUERY_PORT: String(await freePort()),
        KDB_LOG_LEVEL: 'warn',
        ...extra,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    try {
      if (!measure) {
        for (let t = 0; !readdirSync(join(dp.dir, 'status')).includes(`${name}.json`); t += 50) {
          if (t > 60_000) throw new Error('the RDB wrote no status file');
          await sleep(50);
        }
        return 0;
      }
      const rss = await sampleRss(rdb, 'idle RDB');
      rdbStates.add((JSON.parse(readFileSync(rdbStatus, 'utf8')) as { state: string }).state);
      return rss;
    } finally {
      await stop(rdb);
    }
  };
  try {
    await dp.startTickerplant();
    mkdirSync(join(dp.dir, 'status'), { recursive: true });
    await idleRdb({ NODE_COMPILE_CACHE: rdbCache }, false);
    for (let r = 0; r < RUNS; r++) {
      rdbIdle.push(await idleRdb({}, true));
      rdbIdleCached.push(await idleRdb({ NODE_COMPILE_CACHE: rdbCache }, true));
      console.log(`run ${r + 1}/${RUNS} idle reference RDB (1 GiB limit): ${mb(rdbIdle.at(-1)!)}, with a warm compile cache ${mb(rdbIdleCached.at(-1)!)}`);
    }
  } finally {
    await dp.close();
  }
}

server.close();
rmSync(dir, { recursive: true, force: true });

console.log(`\nresident memory, median of ${RUNS} runs (each the median of ${SAMPLE_MS / 250} samples after ${WARMUP_MS} ms)`);
const [goRss, oldRss, newRss, flagsRss, podRss, jsRss] = variants.map((v) => median(results.get(v.name)!));
for (const v of variants) console.log(`  ${mb(median(results.get(v.name)!)).padStart(9)}  agent, ${v.name}`);
console.log(`  Go/TypeScript as the pod ran it: ${(goRss! / podRss!).toFixed(2)}; Go/operator-client agent: ${(goRss! / oldRss!).toFixed(2)}; Go/bare node: ${(goRss! / bare).toFixed(2)}`);
console.log(`  TypeScript new/old: ${(newRss! / oldRss!).toFixed(2)}; as the pod ran it/old: ${(podRss! / oldRss!).toFixed(2)}; the type stripper at steady state: ${mb(flagsRss! - jsRss!)}`);
console.log(`  ${mb(median(rdbIdle)).padStart(9)}  idle reference RDB (${[...rdbStates].join('/')}, connected to a tickerplant, no data, 1 GiB limit)`);
console.log(`  ${mb(median(rdbIdleCached)).padStart(9)}  the same RDB with a warm compile cache (NODE_COMPILE_CACHE)`);
console.log(`\nimports alone in a fresh node (bare node: ${mb(bare)})`);
for (const [label, kb] of importFigures) console.log(`  +${mb(kb - bare).padStart(8)}  ${label}`);
console.log(`(${fmt(writes)} API writes served in all)`);
