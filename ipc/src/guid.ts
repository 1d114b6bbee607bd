// Guids travel as their 16 bytes in text order, whatever the message's endianness.

const HEX = '0123456789abcdef';

export function guidToText(b: Uint8Array, at: number): string {
  let s = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
    const c = b[at + i]!;
    s += HEX[c >> 4]! + HEX[c & 15]!;
  }
  return s;
}

const GUID_TEXT = /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/;

/** Parses 32 hex digits, with or without the 8-4-4-4-12 hyphens; undefined if it is not a guid. */
export function guidToBytes(text: string): Uint8Array | undefined {
  if (!GUID_TEXT.test(text)) return undefined;
  return Uint8Array.from(Buffer.from(text.replaceAll('-', ''), 'hex'));
}
