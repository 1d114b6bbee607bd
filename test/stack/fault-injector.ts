// The AWS endpoint the operator talks to on the local stack: a proxy in front
// of moto that can throttle, fail or delay calls and records every call.
//
//   node test/stack/fault-injector.ts [--port 14566] [--control-port 14567]
//        [--upstream http://127.0.0.1:15000] [--log <stack>/logs/aws-calls.jsonl]
//
// Control API (docs/contracts.md, client in test/lib/faults.ts):
//   PUT /faults {throttleRate, errorRate, errorStatus, latencyMs, operations,
//                services, maxInjections}      DELETE /faults    GET /faults
//   GET /calls?since=<seq>   DELETE /calls   GET /healthz
import { createWriteStream, mkdirSync } from 'node:fs';
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { errorReply, needsBody, parseCall } from './aws-protocol.ts';
import type { ParsedCall } from './aws-protocol.ts';
import { createCallLog, createFaultPlan, FaultsSchema } from './fault-plan.ts';
import { PORTS, stackDir } from '../lib/stack.ts';

const { values: opts } = parseArgs({
  options: {
    port: { type: 'string', default: String(PORTS.awsEndpoint) },
    'control-port': { type: 'string', default: String(PORTS.faultsControl) },
    upstream: { type: 'string', default: process.env.KDB_MOTO_URL ?? `http://127.0.0.1:${PORTS.moto}` },
    log: { type: 'string', default: join(stackDir(), 'logs', 'aws-calls.jsonl') },
  },
});

const upstream = new URL(opts.upstream);
const upstreamAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const plan = createFaultPlan();
const calls = createCallLog();
mkdirSync(dirname(opts.log), { recursive: true });
const jsonl = createWriteStream(opts.log, { flags: 'a' });

// Connection-level headers belong to each hop, not to the request.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'upgrade']);
const forwardHeaders = (h: http.IncomingHttpHeaders): http.OutgoingHttpHeaders =>
  Object.fromEntries(Object.entries(h).filter(([k]) => !HOP_BY_HOP.has(k)));

const readBody = (req: http.IncomingMessage, limit = 8 * 1024 * 1024): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new Error(`request body over ${limit} bytes`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const record = (call: ParsedCall, started: number, status: number, injected: 'throttle' | 'error' | null): void => {
  const rec = calls.add({
    time: new Date(started).toISOString(),
    service: call.service,
    operation: call.operation,
    params: call.params,
    status,
    injected,
    durationMs: Date.now() - started,
    attempt: call.attempt,
  });
  // Only the parsed call goes to the log: never headers (they carry credentials).
  jsonl.write(`${JSON.stringify(rec)}\n`);
};

const proxy = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
  const started = Date.now();
  const head = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers };
  // Query protocols name the operation in the form body, so those (small)
  // bodies are read first; every other body streams straight through.
  const body = needsBody(head) ? await readBody(req) : null;
  const call = parseCall(head, body?.toString('utf8') ?? '');
  const decision = plan.decide(call.service, call.operation);
  if (decision.latencyMs > 0) await delay(decision.latencyMs);

  if (decision.inject) {
    if (!body) req.resume(); // drain the unread body so the connection stays usable
    const reply = errorReply(call.protocol, decision.inject, randomUUID(), plan.current().errorStatus ?? 503);
    res.writeHead(reply.status, { ...reply.headers, 'content-length': Buffer.byteLength(reply.body) });
    res.end(reply.body);
    record(call, started, reply.status, decision.inject);
    return;
  }

  const upReq = http.request({
    host: upstream.hostname,
    port: upstream.port,
    method: head.method,
    path: head.url,
    headers: forwardHeaders(req.headers),
    agent: upstreamAgent,
  });
  upReq.on('response', (upRes) => {
    const headers = forwardHeaders(upRes.headers);
    res.writeHead(upRes.statusCode ?? 502, headers);
    upRes.pipe(res);
    upRes.on('end', () => record(call, started, upRes.statusCode ?? 502, null));
  });
  upReq.on('error', (err) => {
    if (!res.headersSent) {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`fault injector: upstream ${opts.upstream} failed: ${err.message}\n`);
    } else res.destroy(err);
    record(call, started, 502, null);
  });
  if (body) upReq.end(body);
  else req.pipe(upReq);
};

const json = (res: http.ServerResponse, status: number, value: unknown): void => {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
};

const control = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
  const url = new URL(req.url ?? '/', 'http://control');
  const route = `${req.method} ${url.pathname}`;
  switch (route) {
    case 'GET /healthz':
      return json(res, 200, { ok: true, upstream: opts.upstream, lastSeq: calls.lastSeq() });
    case 'GET /faults':
      return json(res, 200, plan.current());
    case 'PUT /faults': {
      let raw: unknown;
      try {
        raw = JSON.parse((await readBody(req, 64 * 1024)).toString('utf8') || '{}');
      } catch {
        return json(res, 400, { error: 'body is not JSON' });
      }
      const parsed = FaultsSchema.safeParse(raw);
      if (!parsed.success) return json(res, 400, { error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
      plan.set(parsed.data);
      return json(res, 200, plan.current());
    }
    case 'DELETE /faults':
      plan.clear();
      return json(res, 200, plan.current());
    case 'GET /calls': {
      const since = Number(url.searchParams.get('since') ?? '0');
      if (!Number.isFinite(since)) return json(res, 400, { error: 'since must be a number' });
      return json(res, 200, calls.since(since));
    }
    case 'DELETE /calls':
      calls.reset();
      return json(res, 200, { lastSeq: calls.lastSeq() });
    default:
      return json(res, 404, { error: `no route ${route}` });
  }
};

const serve = (name: string, port: number, handler: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>): http.Server => {
  const server = http.createServer((req, res) => {
    handler(req, res).catch((err: Error) => {
      if (!res.headersSent) json(res, 500, { error: err.message });
      else res.destroy(err);
    });
  });
  server.keepAliveTimeout = 65_000;
  server.on('error', (err: NodeJS.ErrnoException) => {
    console.error(`fault injector: ${name} port 127.0.0.1:${port}: ${err.code === 'EADDRINUSE' ? 'already in use' : err.message}`);
    process.exit(1);
  });
  server.listen(port, '127.0.0.1', () => console.log(`fault injector: ${name} on 127.0.0.1:${port}`));
  return server;
};

const servers = [
  serve('AWS proxy', Number(opts.port), proxy),
  serve('control API', Number(opts['control-port']), control),
];
console.log(`fault injector: forwarding to ${opts.upstream}, call log ${opts.log}`);

const stop = (): void => {
  for (const s of servers) s.close();
  upstreamAgent.destroy();
  jsonl.end(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
