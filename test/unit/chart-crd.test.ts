import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');

test('the Helm chart ships the generated CRD unchanged', () => {
  const generated = readFileSync(join(root, 'crds/kdbclusters.kdb-operator.dev.yaml'), 'utf8');
  const inChart = readFileSync(join(root, 'charts/kdb-operator/crds/kdbclusters.yaml'), 'utf8');
  expect(inChart).toBe(generated);
});
