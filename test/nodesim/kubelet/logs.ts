// The kubelet's containerLogs endpoint, so `kubectl logs` (and `kubectl kdb
// report`) work on the local stack: the API server proxies pods/log to
// https://<node InternalIP>:10250/containerLogs/<ns>/<pod>/<container>. Every
// node's 127.20.x.y is loopback, so one wildcard listener serves them all,
// from the files the pod processes write (.stack/logs/pods). The API server
// runs without --kubelet-certificate-authority and without a kubelet client
// certificate, so any certificate does and no caller is checked: this is a
// loopback test stack, never a kubelet.
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';

const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
/** Bytes read back from the end of a file to find its last N lines: enough for the 5,000 lines a report asks for. */
const TAIL_WINDOW = 8 << 20;

/** The last `n` lines of `text` (a trailing newline ends the last line, it does not start another). */
export const tailLines = (text: string, n: number): string => {
  if (n <= 0) return '';
  const lines = text.split('\n');
  const last = lines.at(-1) === '' ? lines.length - 1 : lines.length;
  return lines.slice(Math.max(0, last - n)).join('\n');
};

/** `/containerLogs/<ns>/<pod>/<container>` to its parts, or undefined for anything else (no `..`, no slashes). */
export const parseLogPath = (path: string): { namespace: string; pod: string; container: string } | undefined => {
  const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(path);
  if (!m) return undefined;
  const [namespace, pod, container] = [m[1]!, m[2]!, m[3]!].map(decodeURIComponent) as [string, string, string];
  return [namespace, pod, container].every((x) => NAME.test(x) && !x.includes('..')) ? { namespace, pod, container } : undefined;
};

export const startLogServer = (o: { podLogsDir: string; pkiDir: string; port: number; host?: string }): Promise<Server> => {
  const server = createServer(
    { cert: readFileSync(join(o.pkiDir, 'apiserver.crt')), key: readFileSync(join(o.pkiDir, 'apiserver.key')) },
    (req, res) => {
      const url = new URL(req.url ?? '/', 'https://kubelet');
      const ref = req.method === 'GET' ? parseLogPath(url.pathname) : undefined;
      if (!ref) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: this kubelet stand-in serves GET /containerLogs/<ns>/<pod>/<container> only\n');
        return;
      }
      const file = join(o.podLogsDir, `${ref.namespace}_${ref.pod}_${ref.container}.log`);
      if (!existsSync(file)) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end(`no log for container ${ref.container} of pod ${ref.namespace}/${ref.pod}\n`);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      const tail = url.searchParams.get('tailLines');
      if (tail !== null && /^\d+$/.test(tail)) {
        const size = statSync(file).size;
        const start = Math.max(0, size - TAIL_WINDOW);
        const chunks: Buffer[] = [];
        createReadStream(file, { start })
          .on('data', (c) => chunks.push(c as Buffer))
          .on('end', () => res.end(tailLines(Buffer.concat(chunks).toString('utf8'), Number(tail))))
          .on('error', (e) => res.destroy(e));
        return;
      }
      // follow is not supported: the log as it is now, then the end.
      createReadStream(file).on('error', (e) => res.destroy(e)).pipe(res);
    },
  );
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host ?? '0.0.0.0', () => resolve(server));
  });
};
