import type { Quantity } from './kdbcluster.ts';

/** Kubernetes resource.Quantity, the same pattern the API server uses for int-or-string quantities. */
export const QUANTITY =
  /^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$/;

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/**
 * A Kubernetes quantity as a number of base units (bytes for memory), rounded
 * up as the kubelet does: the RDB's memory limit in bytes (KDB_MEMORY_LIMIT_BYTES)
 * must match what the container actually gets.
 */
export const quantityToNumber = (q: Quantity): number => {
  if (typeof q === 'number') return q;
  if (!QUANTITY.test(q)) throw new Error(`not a Kubernetes quantity: ${JSON.stringify(q)}`);
  const m = /^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(.*)$/.exec(q);
  const num = Number(m?.[1]);
  const suffix = m?.[2] ?? '';
  if (suffix in BINARY) return Math.ceil(num * (BINARY[suffix] ?? 1));
  if (suffix in DECIMAL) return Math.ceil(num * (DECIMAL[suffix] ?? 1));
  return Math.ceil(num * 10 ** Number(suffix.slice(1))); // e/E exponent
};

/** quantityToNumber for input that may not be a quantity at all (validation: a bad one has its own error). */
export const quantityOrUndefined = (q: unknown): number | undefined => {
  if (typeof q === 'number') return Number.isFinite(q) ? q : undefined;
  if (typeof q !== 'string' || !QUANTITY.test(q)) return undefined;
  return quantityToNumber(q);
};
