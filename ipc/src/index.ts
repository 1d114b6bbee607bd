// kdb+ IPC codec: the wire format q speaks to its clients and peers.
export * from './types.ts';
export { IpcDecodeError, IpcEncodeError, type DecodeReason } from './errors.ts';
export { NULL, INF, isNull, isInfinite, type NullableType } from './nulls.ts';
export { decodeMessage, decodeValue, DEFAULT_MAX_DEPTH, type DecodeOptions } from './decode.ts';
export { encodeMessage, encodeValue, type EncodeOptions } from './encode.ts';
export { compress, decompress, COMPRESSION_THRESHOLD } from './compress.ts';
export { parseHeader, HEADER_SIZE, MIN_MESSAGE_SIZE, DEFAULT_MAX_MESSAGE_SIZE, type Header } from './header.ts';
export { FrameSplitter, type FrameSplitterOptions } from './frame.ts';
export {
  CAPABILITY,
  DEFAULT_MAX_HANDSHAKE,
  encodeClientHello,
  parseClientHello,
  encodeServerHello,
  HandshakeReader,
  type ClientHello,
} from './handshake.ts';
export { countOf } from './count.ts';
export * as q from './build.ts';
export { atom, vector } from './build.ts';
export * from './temporal.ts';
export { serveIpcConnection, createIpcServer, listen, type IpcServeOptions, type IpcPeer, type IpcServerEvent } from './server.ts';
export { IpcClient, QRemoteError, IpcConnectionError, type IpcConnectOptions } from './client.ts';
export { parseCredentials, credentialCheck, CredentialsError, type Authenticate } from './credentials.ts';
