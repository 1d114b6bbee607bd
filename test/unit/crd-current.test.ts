import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { CRD_PATH, buildCrd, openApiSchema, renderCrd } from '../../scripts/gen-crd.ts';
import { NotStructuralError, toStructural } from '../../scripts/crd/structural.ts';
import { crossFieldRules, transitionRules } from '../../operator/src/api/rules.ts';

type Node = { [k: string]: unknown };

const walk = (node: unknown, path: string, visit: (n: Node, path: string) => void): void => {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) return;
  const n = node as Node;
  visit(n, path);
  for (const [name, child] of Object.entries((n.properties as Node | undefined) ?? {})) walk(child, `${path}.${name}`, visit);
  if (n.items) walk(n.items, `${path}[]`, visit);
  if (n.additionalProperties && typeof n.additionalProperties === 'object') walk(n.additionalProperties, `${path}{}`, visit);
};

describe('generated CRD', () => {
  test('the committed CRD is what the schema generates (run `npm run gen:crd`)', () => {
    expect(readFileSync(CRD_PATH, 'utf8')).toBe(renderCrd());
  });

  test('generation is deterministic', () => {
    expect(renderCrd()).toBe(renderCrd());
  });

  test('the committed file parses back to the same object and says it is generated', () => {
    const text = readFileSync(CRD_PATH, 'utf8');
    expect(text.startsWith('# GENERATED')).toBe(true);
    expect(parse(text)).toEqual(buildCrd());
  });

  test('is structural: a type on every node, int-or-string only in its allowed shape, no refs', () => {
    const problems: string[] = [];
    walk(openApiSchema(), '', (n, p) => {
      if (n['x-kubernetes-int-or-string'] === true) {
        if ('type' in n) problems.push(`${p}: int-or-string with a type`);
        expect(n.anyOf).toEqual([{ type: 'integer' }, { type: 'string' }]);
        return;
      }
      if (typeof n.type !== 'string') problems.push(`${p}: no type`);
      for (const bad of ['$ref', '$defs', 'oneOf', 'allOf', 'anyOf', 'not', 'nullable', 'propertyNames', '$schema']) {
        if (bad in n) problems.push(`${p}: ${bad}`);
      }
      if ('additionalProperties' in n && ('properties' in n || n.additionalProperties === false)) {
        problems.push(`${p}: additionalProperties beside properties or false`);
      }
    });
    expect(problems).toEqual([]);
  });

  test('every string and list a CEL rule can walk is bounded (keeps CEL cost within budget)', () => {
    const unbounded: string[] = [];
    walk(openApiSchema().properties && (openApiSchema().properties as Node).spec, 'spec', (n, p) => {
      if (n.type === 'array' && typeof n.maxItems !== 'number') unbounded.push(p);
      if (n.type === 'string' && typeof n.maxLength !== 'number' && !n.enum && !n.pattern) unbounded.push(p);
      // A CEL rule on an int-or-string quantity parses the string: the API server counts its cost from maxLength.
      if (n['x-kubernetes-int-or-string'] === true && n['x-kubernetes-validations'] && typeof n.maxLength !== 'number') unbounded.push(p);
    });
    expect(unbounded).toEqual([]);
  });

  test('names, printer columns, status subresource and CEL rules', () => {
    const crd = buildCrd() as any;
    expect(crd.metadata.name).toBe('kdbclusters.kdb-operator.dev');
    expect(crd.spec.names).toMatchObject({ kind: 'KdbCluster', plural: 'kdbclusters', shortNames: ['kdb'] });
    expect(crd.spec.names.categories).not.toContain('all');
    const v = crd.spec.versions[0];
    expect(v.name).toBe('v1alpha1');
    expect(v.subresources).toEqual({ status: {} });
    expect(v.additionalPrinterColumns.map((c: any) => c.name)).toEqual(['Phase', 'Live', 'RDBs', 'Desired', 'Merged', 'Age']);
    const spec = v.schema.openAPIV3Schema.properties.spec;
    const pools = spec.properties.rdbPools;
    expect(pools['x-kubernetes-validations'][0].rule).toContain('exists_one');
    expect(pools.items['x-kubernetes-validations'].map((r: any) => r.rule)).toEqual([
      'self.scaleThreshold < self.rollThreshold',
      'self.minRdbs <= self.maxRdbs',
      transitionRules.poolAutoScalingGroupName.cel,
    ]);
    for (const rule of [...pools['x-kubernetes-validations'], ...pools.items['x-kubernetes-validations']]) {
      expect(rule.message).toMatch(/rdbPools\[\]\.\w+ (must|cannot)/);
    }
    expect(pools.items.properties.scaleThreshold).toMatchObject({ type: 'integer', minimum: 1, maximum: 99, default: 60 });
    expect(spec.properties.storage.properties.efs.properties.fileSystemId.pattern).toBe('^fs-[0-9a-f]{8,40}$');
  });

  test('every rule of api/rules.ts is in the CRD exactly once, with its message', () => {
    const found: { rule: string; message: string }[] = [];
    const collect = (n: unknown): void => {
      if (Array.isArray(n)) return n.forEach(collect);
      if (typeof n !== 'object' || n === null) return;
      for (const [k, v] of Object.entries(n)) {
        if (k === 'x-kubernetes-validations') found.push(...(v as { rule: string; message: string }[]));
        else collect(v);
      }
    };
    collect(openApiSchema());
    const rules = [...Object.values(crossFieldRules), ...Object.values(transitionRules)];
    for (const r of rules) {
      expect(found.filter((f) => f.rule === r.cel && f.message === r.message)).toHaveLength(1);
    }
    // transition rules share one expression (self == oldSelf), so count by message
    expect(new Set(found.map((f) => f.message)).size).toBe(rules.length);
    expect(found).toHaveLength(rules.length);
  });

  test('transition rules are the only rules reading oldSelf, and every one does', () => {
    for (const r of Object.values(transitionRules)) expect(r.cel).toContain('oldSelf');
    for (const r of Object.values(crossFieldRules)) expect(r.cel).not.toContain('oldSelf');
  });

  test('the CRD stays small: the time zone list costs about 10 kB', () => {
    expect(renderCrd().length).toBeLessThan(64 * 1024);
  });

  test.each([
    ['a nullable field', { type: ['string', 'null'] }],
    ['a union', { anyOf: [{ type: 'string' }, { type: 'boolean' }] }],
    ['a $ref', { $ref: '#/$defs/x' }],
    ['an untyped node', { description: 'x' }],
  ])('the post-processor refuses %s', (_what, schema) => {
    expect(() => toStructural({ type: 'object', properties: { f: schema } })).toThrow(NotStructuralError);
  });
});
