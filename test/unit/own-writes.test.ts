// Read-your-own-writes for KdbCluster status (controllers/kdbcluster/own-writes.ts):
// the answer to our last write stands in for the informer's copy only while
// that copy is still the version we wrote over.
import { describe, expect, test } from '@jest/globals';
import { OwnWrites } from '../../operator/src/controllers/kdbcluster/own-writes.ts';
import type { KubeObject } from '../../operator/src/kube/index.ts';

const obj = (rv: string, uid = 'u1', extra: object = {}): KubeObject =>
  ({ apiVersion: 'kdb-operator.dev/v1alpha1', kind: 'KdbCluster', metadata: { name: 'markets', namespace: 'trading', uid, resourceVersion: rv }, spec: {}, ...extra }) as KubeObject;

describe('OwnWrites', () => {
  test('while the informer still shows the version written over, the answer is used', () => {
    const w = new OwnWrites();
    const answer = obj('11', 'u1', { status: { pools: [{ name: 'main', scaleIns: [] }] } });
    w.note('trading/markets', ['10'], answer);
    expect(w.freshest('trading/markets', obj('10'))).toBe(answer);
    expect(w.freshest('trading/markets', obj('10'))).toBe(answer);
  });

  test('once the informer shows anything else (our write, or anyone\'s later one), the informer wins and the answer is dropped', () => {
    const w = new OwnWrites();
    w.note('k', ['10'], obj('11'));
    const later = obj('12');
    expect(w.freshest('k', later)).toBe(later);
    expect(w.size).toBe(0);
    // Even if the informer were to show the old version again afterwards, the dropped answer stays dropped.
    const old = obj('10');
    expect(w.freshest('k', old)).toBe(old);
  });

  test('a pass that wrote twice: the informer at the first write is older than the second\'s answer', () => {
    const w = new OwnWrites();
    const answer = obj('12');
    w.note('k', ['10', '11', '12'], answer);
    expect(w.freshest('k', obj('11'))).toBe(answer);
    expect(w.freshest('k', obj('10'))).toBe(answer);
    const delivered = obj('12');
    expect(w.freshest('k', delivered)).toBe(delivered);
  });

  test('a cluster deleted and re-created under the same name is not mistaken for ours', () => {
    const w = new OwnWrites();
    w.note('k', ['10'], obj('11', 'u1'));
    const other = obj('10', 'u2');
    expect(w.freshest('k', other)).toBe(other);
  });

  test('gone from the informer: gone', () => {
    const w = new OwnWrites();
    w.note('k', ['10'], obj('11'));
    expect(w.freshest('k', undefined)).toBeUndefined();
    expect(w.size).toBe(0);
  });

  test('nothing is kept for no write, a partial answer, or an answer at the version read', () => {
    const w = new OwnWrites();
    w.note('a', ['10'], undefined);
    w.note('b', [undefined], obj('11'));
    w.note('c', ['10'], { metadata: { resourceVersion: '11' } } as KubeObject);
    w.note('d', ['10'], obj('10'));
    expect(w.size).toBe(0);
  });
});
