import { sameData } from '../data.ts';
import type { Violation } from '../rules.ts';

export interface PolicyStatement {
  Sid?: string;
  Effect?: unknown;
  Action?: unknown;
  NotAction?: unknown;
  Resource?: unknown;
  NotResource?: unknown;
  Condition?: unknown;
  [other: string]: unknown;
}

export interface PolicyDocument {
  Version?: string;
  Statement: PolicyStatement[];
}

/** The README's stand-in for the cluster name in the policy's tag condition. */
export const CLUSTER_PLACEHOLDER = 'YOUR-CLUSTER';

const HEADING = /^#+\s.*IAM policy for the operator/m;

/**
 * The IAM policy JSON block under the README's "IAM policy for the operator"
 * heading: the one policy document the template and the docs must agree on.
 */
export const readmePolicy = (readme: string): PolicyDocument => {
  const heading = HEADING.exec(readme);
  if (!heading) throw new Error('README.md: no heading "IAM policy for the operator"; the policy check reads its ```json block');
  const rest = readme.slice(heading.index);
  const block = /```json\n([\s\S]*?)\n```/.exec(rest);
  if (!block) throw new Error('README.md: no ```json block after "IAM policy for the operator"');
  const doc = JSON.parse(block[1]!) as PolicyDocument;
  if (!Array.isArray(doc.Statement)) throw new Error('README.md: the IAM policy block has no Statement list');
  return doc;
};

const list = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

const substitute = (v: unknown, placeholder: string, value: unknown): unknown => {
  if (v === placeholder) return value;
  if (Array.isArray(v)) return v.map((x) => substitute(x, placeholder, value));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substitute(x, placeholder, value)]));
  return v;
};

/**
 * Violations of `actual` against the README's policy, statement by Sid:
 * same Effect, Resource and Condition (the placeholder cluster name read as
 * `clusterName`, e.g. `{ Ref: 'ClusterName' }`), the same set of actions, and
 * no statement the README does not have.
 */
export const comparePolicy = (expected: PolicyDocument, actual: unknown, where: string, clusterName: unknown): Violation[] => {
  const out: Violation[] = [];
  const v = (message: string): void => {
    out.push({ rule: 'iam-policy', where, message });
  };
  const statements = (actual as PolicyDocument | undefined)?.Statement;
  if (!Array.isArray(statements)) {
    v('the policy document has no Statement list; copy the README\'s "IAM policy for the operator"');
    return out;
  }
  const bySid = new Map<string, PolicyStatement>();
  for (const s of statements) {
    if (typeof s?.Sid !== 'string') v('a statement has no Sid; every statement must be one of the README\'s, named by its Sid');
    else bySid.set(s.Sid, s);
  }
  const known = new Set(expected.Statement.map((s) => s.Sid));
  for (const sid of bySid.keys()) if (!known.has(sid)) v(`statement ${sid} is not in the README's policy; remove it or add it to the README with the call that needs it`);
  for (const want of expected.Statement) {
    const sid = want.Sid ?? '';
    const got = bySid.get(sid);
    if (!got) {
      v(`statement ${sid} of the README's policy is missing`);
      continue;
    }
    for (const field of ['NotAction', 'NotResource'] as const) {
      if (got[field] !== undefined) v(`statement ${sid} uses ${field}; the README's policy names its actions and resources`);
    }
    if (got.Effect !== want.Effect) v(`statement ${sid}: Effect is ${JSON.stringify(got.Effect)}, the README has ${JSON.stringify(want.Effect)}`);
    if (!sameData(list(got.Resource), list(want.Resource))) {
      v(`statement ${sid}: Resource is ${JSON.stringify(got.Resource)}, the README has ${JSON.stringify(want.Resource)}`);
    }
    const gotActions = new Set(list(got.Action).map(String));
    const wantActions = new Set(list(want.Action).map(String));
    const extra = [...gotActions].filter((a) => !wantActions.has(a));
    const missing = [...wantActions].filter((a) => !gotActions.has(a));
    if (extra.length > 0) v(`statement ${sid} allows ${extra.join(', ')}, which the README's policy does not`);
    if (missing.length > 0) v(`statement ${sid} lacks ${missing.join(', ')} of the README's policy`);
    const wantCondition = substitute(want.Condition, CLUSTER_PLACEHOLDER, clusterName);
    if (!sameData(got.Condition, wantCondition)) {
      v(`statement ${sid}: Condition is ${JSON.stringify(got.Condition)}, must be ${JSON.stringify(wantCondition)}`);
    }
  }
  return out;
};
