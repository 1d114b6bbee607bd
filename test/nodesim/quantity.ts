// Kubernetes resource.Quantity parsing, enough for cpu/memory limits.
const binary: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const decimal: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/** The quantity's value in base units (bytes, cores). */
export const parseQuantity = (q: string | number): number => {
  if (typeof q === 'number') return q;
  const m = /^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$/.exec(q.trim());
  if (!m) throw new Error(`bad quantity ${q}`);
  const value = Number(m[1]);
  const suffix = m[2] ?? '';
  const mult = binary[suffix] ?? decimal[suffix];
  if (mult === undefined) throw new Error(`bad quantity suffix ${q}`);
  return value * mult;
};
