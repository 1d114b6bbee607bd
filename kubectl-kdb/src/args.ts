// Command line of `kubectl kdb`: argv in, one typed command out, or a
// UsageError that says what was wrong and what to type instead.

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface Common {
  /** Absent: the kubeconfig context's namespace. */
  namespace?: string;
  kubeconfig?: string;
  context?: string;
}

export type Command =
  | { kind: 'help'; topic?: CommandName }
  | ({ kind: 'status'; cluster: string; output: 'table' | 'json' } & Common)
  | ({ kind: 'eod'; cluster: string } & Common)
  | ({ kind: 'hibernate'; cluster: string; value: 'on' | 'off' } & Common)
  | ({ kind: 'release'; cluster: string; yes: boolean } & Common)
  | ({ kind: 'report'; cluster: string; dir?: string } & Common);

export type CommandName = 'status' | 'eod' | 'hibernate' | 'release' | 'report';
const COMMANDS: readonly CommandName[] = ['status', 'eod', 'hibernate', 'release', 'report'];

const COMMON_FLAGS = '  -n, --namespace NS   namespace of the KdbCluster (default: the kubeconfig context\'s)\n' +
  '      --kubeconfig F   kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)\n' +
  '      --context C      kubeconfig context\n';

export const HELP: Record<CommandName | 'main', string> = {
  main:
    'kubectl kdb: operate KdbClusters (kdb-operator.dev)\n\n' +
    'Usage: kubectl kdb <command> [flags]\n\n' +
    'Commands:\n' +
    '  status <cluster> [-o json]     pools, RDBs, conditions, wind-down and pending changes\n' +
    '  eod <cluster>                  end the trading day now (once)\n' +
    '  hibernate on|off <cluster>     hibernate the cluster, or run it again\n' +
    '  release <cluster> [--yes]      hand back the servers of a deleted or stuck cluster (dry run without --yes)\n' +
    '  report <cluster> [-o dir]      write a support bundle: resource, events, pods, operator logs\n\n' +
    'Run `kubectl kdb <command> --help` for its flags.\n',
  status:
    'Usage: kubectl kdb status <cluster> [-n ns] [-o json]\n\n' +
    'Prints the pool table, the RDB table, conditions not in their usual state,\n' +
    'the wind-down step and pending changes. -o json prints one JSON object.\n\n' + COMMON_FLAGS +
    '  -o, --output json    one JSON object instead of tables\n',
  eod:
    'Usage: kubectl kdb eod <cluster> [-n ns]\n\n' +
    'Sets the annotation kdb-operator.dev/end-of-day to now (RFC 3339). The operator\n' +
    'records the request in status.endOfDayRequest and ends the day once.\n\n' + COMMON_FLAGS,
  hibernate:
    'Usage: kubectl kdb hibernate on|off <cluster> [-n ns]\n\n' +
    'on: write the day down, hand back every RDB server, stop the tickerplant.\noff: run again.\n\n' + COMMON_FLAGS,
  release:
    'Usage: kubectl kdb release <cluster> [-n ns] [--yes]\n\n' +
    'For a deleted or stuck cluster: unprotects and terminates (with decrement), one by one,\n' +
    'the protected instances of the Auto Scaling groups tagged kdb-operator.dev/owner=<ns>/<cluster>,\n' +
    'refusing any whose node hosts an RDB of the cluster that still holds data; then removes the\n' +
    'owner tag if nothing of the cluster is left. Without --yes it only prints the plan.\n' +
    'AWS region and endpoint come from AWS_REGION (or AWS_DEFAULT_REGION) and AWS_ENDPOINT_URL.\n\n' +
    COMMON_FLAGS + '      --yes            do it (default: dry run)\n',
  report:
    'Usage: kubectl kdb report <cluster> [-n ns] [-o dir]\n\n' +
    'Writes cluster.json, events.json, pods.json and operator-logs/<pod>.log into dir\n' +
    '(default: kdb-report-<cluster>-<time>). No Secret is read.\n\n' + COMMON_FLAGS +
    '  -o, --output DIR     directory to write\n',
};

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

const checkName = (what: string, v: string): string => {
  if (!DNS_SUBDOMAIN.test(v) || v.length > 253) {
    throw new UsageError(`${what} "${v}" is not a valid Kubernetes name (lower-case letters, digits, '-', '.')`);
  }
  return v;
};

/** Split argv into positionals and flags; every flag this tool knows takes a value except --yes and --help. */
const tokens = (argv: readonly string[], cmd: CommandName): { positional: string[]; flags: Map<string, string | true> } => {
  const valued: Record<string, string> = { '-n': 'namespace', '--namespace': 'namespace', '-o': 'output', '--output': 'output', '--kubeconfig': 'kubeconfig', '--context': 'context' };
  const bare: Record<string, string> = { '--yes': 'yes', '-y': 'yes', '-h': 'help', '--help': 'help' };
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const flag = eq > 0 ? a.slice(0, eq) : a;
    if (valued[flag] !== undefined) {
      const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined || v === '') throw new UsageError(`${flag} needs a value (see kubectl kdb ${cmd} --help)`);
      flags.set(valued[flag], v);
    } else if (bare[flag] !== undefined) {
      flags.set(bare[flag], true);
    } else if (a.startsWith('-') && a !== '-') {
      throw new UsageError(`unknown flag ${flag} for ${cmd} (see kubectl kdb ${cmd} --help)`);
    } else positional.push(a);
  }
  return { positional, flags };
};

const str = (flags: Map<string, string | true>, k: string): string | undefined => {
  const v = flags.get(k);
  return typeof v === 'string' ? v : undefined;
};

export const parseArgs = (argv: readonly string[]): Command => {
  const [first, ...rest] = argv;
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    const topic = first === 'help' ? rest[0] : undefined;
    if (topic !== undefined && !COMMANDS.includes(topic as CommandName)) throw new UsageError(`unknown command "${topic}"; commands: ${COMMANDS.join(', ')}`);
    return topic === undefined ? { kind: 'help' } : { kind: 'help', topic: topic as CommandName };
  }
  if (!COMMANDS.includes(first as CommandName)) throw new UsageError(`unknown command "${first}"; commands: ${COMMANDS.join(', ')}`);
  const cmd = first as CommandName;
  const { positional, flags } = tokens(rest, cmd);
  if (flags.has('help')) return { kind: 'help', topic: cmd };

  const allowed: Record<CommandName, string[]> = {
    status: ['output'],
    eod: [],
    hibernate: [],
    release: ['yes'],
    report: ['output'],
  };
  for (const k of flags.keys()) {
    if (['namespace', 'kubeconfig', 'context'].includes(k) || allowed[cmd].includes(k)) continue;
    throw new UsageError(`${k === 'yes' ? '--yes' : `--${k}`} does not apply to ${cmd} (see kubectl kdb ${cmd} --help)`);
  }
  const ns = str(flags, 'namespace');
  const common: Common = {
    ...(ns !== undefined ? { namespace: checkName('namespace', ns) } : {}),
    ...(str(flags, 'kubeconfig') !== undefined ? { kubeconfig: str(flags, 'kubeconfig') as string } : {}),
    ...(str(flags, 'context') !== undefined ? { context: str(flags, 'context') as string } : {}),
  };

  const one = (expected: string): string => {
    if (positional.length === 0) throw new UsageError(`${cmd} needs ${expected} (usage: ${HELP[cmd].split('\n')[0]?.replace('Usage: ', '')})`);
    if (positional.length > 1) throw new UsageError(`${cmd} takes one ${expected}, got: ${positional.join(' ')}`);
    return checkName('cluster', positional[0] as string);
  };

  switch (cmd) {
    case 'status': {
      const o = str(flags, 'output');
      if (o !== undefined && o !== 'json') throw new UsageError(`-o ${o}: status prints tables, or one JSON object with -o json`);
      return { kind: 'status', cluster: one('a cluster name'), output: o === 'json' ? 'json' : 'table', ...common };
    }
    case 'eod':
      return { kind: 'eod', cluster: one('a cluster name'), ...common };
    case 'hibernate': {
      const [value, ...names] = positional;
      if (value !== 'on' && value !== 'off') {
        throw new UsageError(
          value === undefined ? 'hibernate needs on or off and a cluster: kubectl kdb hibernate on|off <cluster>'
            : `hibernate takes on or off, not "${value}": kubectl kdb hibernate on|off <cluster>`,
        );
      }
      if (names.length !== 1) throw new UsageError(`hibernate ${value} takes one cluster name, got ${names.length === 0 ? 'none' : names.join(' ')}`);
      return { kind: 'hibernate', value, cluster: checkName('cluster', names[0] as string), ...common };
    }
    case 'release':
      return { kind: 'release', cluster: one('a cluster name'), yes: flags.get('yes') === true, ...common };
    case 'report': {
      const dir = str(flags, 'output');
      return { kind: 'report', cluster: one('a cluster name'), ...(dir !== undefined ? { dir } : {}), ...common };
    }
  }
};
