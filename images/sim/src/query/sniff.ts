// One port, two protocols: the RDB's query port has answered HTTP (curl,
// the tests, the agent's e2e checks) and now also answers kdb+ IPC, as the
// q RDB does on the same port. The first bytes tell them apart: a kdb+
// client opens with its handshake "user:password", a capability byte and a
// NUL; an HTTP client with a request line ending in a newline, and never
// sends a NUL. Whichever comes first decides.

import type http from 'node:http';
import net from 'node:net';

/** Bytes read before deciding; a request line longer than this is HTTP (a kdb+ handshake is at most 1 KiB). */
const MAX_SNIFF = 8192;

export type Protocol = 'kdb' | 'http';

/** Which protocol the bytes so far are, or undefined when they do not tell yet. */
export function sniffProtocol(head: Uint8Array): Protocol | undefined {
  for (let i = 0; i < head.length; i++) {
    if (head[i] === 0) return 'kdb';
    if (head[i] === 0x0a) return 'http';
  }
  return head.length >= MAX_SNIFF ? 'http' : undefined;
}

/**
 * A TCP server that hands each connection to `kdb` (with the bytes read so
 * far) or to the HTTP server, by its first bytes.
 */
export function createSniffingServer(httpServer: http.Server, kdb: (socket: net.Socket, head: Buffer) => void): net.Server {
  return net.createServer((socket) => {
    socket.setNoDelay(true);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const p = sniffProtocol(head);
      if (p === undefined) return;
      socket.off('data', onData);
      if (p === 'kdb') return kdb(socket, head);
      // Put the bytes back and let the HTTP server read the connection from its start.
      socket.pause();
      socket.unshift(head);
      httpServer.emit('connection', socket);
      socket.resume();
    };
    socket.on('data', onData);
    socket.on('error', () => {});
  });
}
