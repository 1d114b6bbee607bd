// A growable little-endian byte buffer for the encoder.

export class Writer {
  private buf: Buffer;
  private dv: DataView;
  pos = 0;

  constructor(initial = 256) {
    this.buf = Buffer.allocUnsafe(initial);
    this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
    this.dv = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
  }

  i16(v: number): void {
    this.ensure(2);
    this.dv.setInt16(this.pos, v, true);
    this.pos += 2;
  }

  i32(v: number): void {
    this.ensure(4);
    this.dv.setInt32(this.pos, v, true);
    this.pos += 4;
  }

  i64(v: bigint): void {
    this.ensure(8);
    this.dv.setBigInt64(this.pos, v, true);
    this.pos += 8;
  }

  f32(v: number): void {
    this.ensure(4);
    this.dv.setFloat32(this.pos, v, true);
    this.pos += 4;
  }

  f64(v: number): void {
    this.ensure(8);
    this.dv.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Writes UTF-8 text and answers how many bytes it took. */
  utf8(s: string): number {
    const n = Buffer.byteLength(s, 'utf8');
    this.ensure(n);
    this.buf.write(s, this.pos, n, 'utf8');
    this.pos += n;
    return n;
  }

  setU32(at: number, v: number): void {
    this.dv.setUint32(at, v, true);
  }

  /** The bytes written so far (a view; valid until the next write). */
  view(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
