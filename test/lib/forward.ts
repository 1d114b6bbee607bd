// A fixed address for a pod whose IP changes when it is replaced: what a
// Service's ClusterIP and kube-proxy give a client on EKS, which the node
// simulator does not (pods get loopback IPs, and nothing routes ClusterIPs).
// Each connection goes to the pod's address at the time it is made; when the
// pod's side closes, so does the client's, as a dead endpoint's would.
import { createServer, connect, type Socket } from 'node:net';

export interface Forward {
  host: string;
  port: number;
  close: () => Promise<void>;
}

export const forwardTo = async (target: () => Promise<{ host: string; port: number }>): Promise<Forward> => {
  const open = new Set<Socket>();
  const server = createServer((client) => {
    open.add(client);
    client.pause();
    client.on('close', () => open.delete(client));
    client.on('error', () => client.destroy());
    target()
      .then(({ host, port }) => {
        const upstream = connect({ host, port });
        open.add(upstream);
        upstream.on('close', () => {
          open.delete(upstream);
          client.destroy();
        });
        upstream.on('error', () => upstream.destroy());
        client.on('close', () => upstream.destroy());
        upstream.on('connect', () => {
          client.pipe(upstream);
          upstream.pipe(client);
          client.resume();
        });
      })
      .catch(() => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('forward: the server has no TCP address');
  return {
    host: '127.0.0.1',
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
};
