import type { QValue } from './types.ts';

/** Row count of a column or list-like value, or undefined for an atom and the like. */
export function countOf(v: QValue): number | undefined {
  switch (v.kind) {
    case 'vector':
      // A char vector counts bytes on the wire, which UTF-8 text may have more of than characters.
      return v.type === 'char' ? Buffer.byteLength(v.values, 'utf8') : v.values.length;
    case 'list':
      return v.values.length;
    case 'table':
      return v.data.length === 0 ? 0 : countOf(v.data[0]!);
    case 'keyedTable':
      return countOf(v.keys);
    case 'dict':
      return countOf(v.keys);
    default:
      return undefined;
  }
}
