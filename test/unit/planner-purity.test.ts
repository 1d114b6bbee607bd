import { describe, expect, test } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The planner is pure by construction: this keeps it so as others edit it. */
const dir = fileURLToPath(new URL('../../operator/src/planner/', import.meta.url));
const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));

describe('planner purity', () => {
  test('there are planner modules', () => {
    expect(files.length).toBeGreaterThan(5);
  });

  test.each(files)('%s imports only the API and the planner', (file) => {
    const src = readFileSync(dir + file, 'utf8');
    const specifiers = [...src.matchAll(/^\s*(?:import|export)[^'"]*from\s+'([^']+)'/gm)].map((m) => m[1]);
    for (const s of specifiers) expect(s).toMatch(/^(\.\/[\w-]+\.ts|\.\.\/api\/[\w-]+\.ts|zod)$/);
  });

  test.each(files)('%s reads no clock and no randomness', (file) => {
    const src = readFileSync(dir + file, 'utf8');
    expect(src).not.toMatch(/Date\.now|new Date\(\)|Math\.random|process\.|performance\./);
  });
});

describe('names agree with the builders', () => {
  test('planner rdbPodName is specs/names.ts rdbPodName', async () => {
    const planner = await import('../../operator/src/planner/rdbs.ts');
    const specs = await import('../../operator/src/specs/names.ts');
    const c = { metadata: { name: 'markets', namespace: 'kdb' } };
    expect(planner.rdbPodName('markets', 'main', 7)).toBe(specs.rdbPodName(c as never, 'main', 7));
    expect(planner.ordinalOf('markets', 'main', specs.rdbPodName(c as never, 'main', 12))).toBe(12);
    expect(planner.NODE_ANNOTATIONS).toEqual(specs.DO_NOT_DISRUPT_NODE);
  });
});
