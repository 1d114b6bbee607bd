// Readiness and liveness probes against the pod's loopback IP: tcpSocket and
// httpGet (exec and grpc are not simulated and count as success).
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { V1Container, V1Probe } from '@kubernetes/client-node';

const portOf = (port: number | string, container: V1Container): number => {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  const p = container.ports?.find((x) => x.name === port);
  if (!p) throw new Error(`no container port named ${port}`);
  return p.containerPort;
};

const tcp = (host: string, port: number, timeoutMs: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });

const http = (scheme: string, host: string, port: number, path: string, headers: Record<string, string>, timeoutMs: number): Promise<boolean> =>
  new Promise((resolve) => {
    const req = (scheme === 'HTTPS' ? httpsRequest : httpRequest)(
      { host, port, path, method: 'GET', headers: { 'User-Agent': 'kube-probe/1.36', ...headers }, timeout: timeoutMs, rejectUnauthorized: false },
      (res) => {
        res.resume();
        resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
    req.end();
  });

export const probeOnce = async (probe: V1Probe, container: V1Container, podIP: string): Promise<boolean> => {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  try {
    if (probe.tcpSocket) return await tcp(probe.tcpSocket.host || podIP, portOf(probe.tcpSocket.port as number | string, container), timeoutMs);
    if (probe.httpGet) {
      const g = probe.httpGet;
      const headers: Record<string, string> = {};
      for (const h of g.httpHeaders ?? []) headers[h.name] = h.value;
      return await http(g.scheme ?? 'HTTP', g.host || podIP, portOf(g.port as number | string, container), g.path ?? '/', headers, timeoutMs);
    }
  } catch {
    return false;
  }
  return true;
};

/** Runs a probe on its period, reporting the result once thresholds are met. */
export class Prober {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private successes = 0;
  private failures = 0;
  private state: boolean | undefined;

  private readonly probe: V1Probe;
  private readonly container: V1Container;
  private readonly podIP: string;
  private readonly onResult: (ok: boolean) => void;

  constructor(probe: V1Probe, container: V1Container, podIP: string, onResult: (ok: boolean) => void) {
    this.probe = probe;
    this.container = container;
    this.podIP = podIP;
    this.onResult = onResult;
  }

  start(): void {
    this.schedule((this.probe.initialDelaySeconds ?? 0) * 1000);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    const ok = await probeOnce(this.probe, this.container, this.podIP);
    if (this.stopped) return;
    if (ok) {
      this.failures = 0;
      this.successes++;
      if (this.state !== true && this.successes >= (this.probe.successThreshold ?? 1)) {
        this.state = true;
        this.onResult(true);
      }
    } else {
      this.successes = 0;
      this.failures++;
      if (this.state !== false && this.failures >= (this.probe.failureThreshold ?? 3)) {
        this.state = false;
        this.onResult(false);
      }
    }
    this.schedule((this.probe.periodSeconds ?? 10) * 1000);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
