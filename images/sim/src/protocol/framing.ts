/**
 * Wire format: length-prefixed frames over TCP.
 *   u32 LE  length of what follows (type byte + body)
 *   u8      frame type
 *   body
 * UPDATE (feed -> tickerplant): body = JSON {"t": table, "c": [[col], ...]} (columnar rows)
 * PUBLISH (tickerplant -> RDB): body = f64 LE message number i, then the update JSON exactly as logged
 * CONTROL (both ways): body = JSON {op: ...} (see messages.ts)
 * Columnar JSON keeps parsing to one JSON.parse per message of many rows, and the
 * tickerplant can log and forward the bytes it received without re-encoding them.
 */
export const FrameType = { UPDATE: 1, PUBLISH: 2, CONTROL: 3 } as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

export const MAX_FRAME_BYTES = 256 * 1024 * 1024;

export interface Frame {
  type: number;
  body: Buffer;
}

export const encodeFrame = (type: number, body: Uint8Array): Buffer => {
  const out = Buffer.allocUnsafe(5 + body.length);
  out.writeUInt32LE(body.length + 1, 0);
  out[4] = type;
  out.set(body, 5);
  return out;
};

export const encodeControl = (msg: object): Buffer => encodeFrame(FrameType.CONTROL, Buffer.from(JSON.stringify(msg)));

export const encodeUpdate = (table: string, columns: unknown[][]): Buffer =>
  encodeFrame(FrameType.UPDATE, Buffer.from(JSON.stringify({ t: table, c: columns })));

/** Header of a PUBLISH frame; the update body follows it unchanged. */
export const publishHeader = (i: number, bodyLength: number): Buffer => {
  const h = Buffer.allocUnsafe(13);
  h.writeUInt32LE(bodyLength + 9, 0);
  h[4] = FrameType.PUBLISH;
  h.writeDoubleLE(i, 5);
  return h;
};

export class FrameError extends Error {}

/** Splits a byte stream into frames; keeps at most one partial frame. */
export class FrameReader {
  private pending: Buffer | null = null;

  push(chunk: Buffer): Frame[] {
    let buf = chunk;
    if (this.pending) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    const frames: Frame[] = [];
    let off = 0;
    while (buf.length - off >= 5) {
      const len = buf.readUInt32LE(off);
      if (len < 1 || len > MAX_FRAME_BYTES) throw new FrameError(`bad frame length ${len}`);
      if (buf.length - off - 4 < len) break;
      frames.push({ type: buf[off + 4]!, body: buf.subarray(off + 5, off + 4 + len) });
      off += 4 + len;
    }
    if (off < buf.length) this.pending = buf.subarray(off);
    return frames;
  }
}

export const parseControl = (body: Buffer): { op: string; [k: string]: unknown } => {
  const msg = JSON.parse(body.toString('utf8')) as unknown;
  if (typeof msg !== 'object' || msg === null || typeof (msg as { op?: unknown }).op !== 'string')
    throw new FrameError('control message without op');
  return msg as { op: string };
};
