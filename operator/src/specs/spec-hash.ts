import { createHash } from 'node:crypto';

/**
 * A short digest of a pod template, so the operator can tell "the running
 * pods were built from this spec" without diffing them field by field. Keys
 * are sorted first: two templates that say the same thing hash the same
 * whatever order the builder wrote them in. The operator's own version and
 * image are never part of a template, so an operator upgrade alone changes
 * no hash and restarts nothing.
 */
export const templateHash = (template: unknown): string =>
  createHash('sha256')
    .update(
      JSON.stringify(template, (_k, v: unknown) =>
        v && typeof v === 'object' && !Array.isArray(v)
          ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
          : v,
      ),
    )
    .digest('hex')
    .slice(0, 16);
