import { parseLogPath, tailLines } from '../nodesim/kubelet/logs.ts';

describe('the node simulator\'s containerLogs endpoint', () => {
  test('tailLines keeps the last n lines and the final newline', () => {
    expect(tailLines('a\nb\nc\n', 2)).toBe('b\nc\n');
    expect(tailLines('a\nb\nc', 2)).toBe('b\nc');
    expect(tailLines('a\nb\n', 5)).toBe('a\nb\n');
    expect(tailLines('a\nb\n', 0)).toBe('');
    expect(tailLines('', 3)).toBe('');
  });

  test('parseLogPath takes namespace, pod and container names only', () => {
    expect(parseLogPath('/containerLogs/kdb-system/kdb-operator-7d9-x2/operator')).toEqual({ namespace: 'kdb-system', pod: 'kdb-operator-7d9-x2', container: 'operator' });
    for (const bad of ['/containerLogs/ns/pod', '/containerLogs/ns/pod/c/extra', '/containerLogs/ns/%2e%2e/c', '/containerLogs/ns/..%2fetc/c', '/containerLogs/NS/pod/c', '/logs/ns/pod/c', '/containerLogs/ns/a..b/c']) {
      expect(parseLogPath(bad)).toBeUndefined();
    }
  });
});
