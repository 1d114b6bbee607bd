import { parseArgs, UsageError } from '../../kubectl-kdb/src/args.ts';
import { main } from '../../kubectl-kdb/src/main.ts';

const fails = (argv: string[], message: RegExp): void => {
  expect(() => parseArgs(argv)).toThrow(UsageError);
  expect(() => parseArgs(argv)).toThrow(message);
};

test('commands parse with their flags', () => {
  expect(parseArgs(['status', 'demo', '-n', 'kdb', '-o', 'json'])).toEqual({ kind: 'status', cluster: 'demo', namespace: 'kdb', output: 'json' });
  expect(parseArgs(['status', 'demo', '--namespace=kdb'])).toEqual({ kind: 'status', cluster: 'demo', namespace: 'kdb', output: 'table' });
  expect(parseArgs(['hibernate', 'on', 'demo'])).toEqual({ kind: 'hibernate', value: 'on', cluster: 'demo' });
  expect(parseArgs(['release', 'demo', '--yes'])).toEqual({ kind: 'release', cluster: 'demo', yes: true });
  expect(parseArgs(['release', 'demo'])).toEqual({ kind: 'release', cluster: 'demo', yes: false });
  expect(parseArgs(['report', 'demo', '-o', '/tmp/r'])).toEqual({ kind: 'report', cluster: 'demo', dir: '/tmp/r' });
  expect(parseArgs(['eod', '--help'])).toEqual({ kind: 'help', topic: 'eod' });
  expect(parseArgs([])).toEqual({ kind: 'help' });
});

test('bad input names what was wrong', () => {
  fails(['frobnicate'], /unknown command "frobnicate"/);
  fails(['status'], /status needs a cluster name/);
  fails(['status', 'a', 'b'], /takes one a cluster name, got: a b/);
  fails(['status', 'demo', '-o', 'yaml'], /-o yaml/);
  fails(['status', 'demo', '-n'], /-n needs a value/);
  fails(['status', 'demo', '--frob'], /unknown flag --frob/);
  fails(['eod', 'demo', '--yes'], /--yes does not apply to eod/);
  fails(['hibernate', 'maybe', 'demo'], /hibernate takes on or off, not "maybe"/);
  fails(['hibernate', 'on'], /takes one cluster name, got none/);
  fails(['status', 'Demo_1'], /cluster "Demo_1" is not a valid Kubernetes name/);
});

test('main prints usage errors on stderr with exit code 2, help with 0', async () => {
  const err: string[] = [];
  const out: string[] = [];
  expect(await main(['hibernate', 'sideways', 'demo'], { out: (l) => out.push(l), err: (l) => err.push(l) })).toBe(2);
  expect(err).toEqual(['error: hibernate takes on or off, not "sideways": kubectl kdb hibernate on|off <cluster>']);
  expect(await main(['release', '--help'], { out: (l) => out.push(l), err: (l) => err.push(l) })).toBe(0);
  expect(out.join('\n')).toMatch(/Usage: kubectl kdb release <cluster>/);
});

test('no kubeconfig is a clear error, not a stack trace', async () => {
  const err: string[] = [];
  const code = await main(['status', 'demo', '--kubeconfig', '/nonexistent/kubeconfig'], { out: () => undefined, err: (l) => err.push(l) });
  expect(code).toBe(1);
  expect(err[0]).toMatch(/^error: no usable kubeconfig .*set KUBECONFIG, pass --kubeconfig/);
});
