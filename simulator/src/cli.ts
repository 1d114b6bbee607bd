import { QUANTITY } from '../../operator/src/api/quantity.ts';
import { simCluster, type SimConfig } from './simulate.ts';
import { loadProfile } from './profile.ts';

/**
 * The command line: every bad value is refused with the flag it came from,
 * before anything runs. Pool settings are also checked by the operator's own
 * schema (simCluster), whose message is given with the flag.
 */
export interface CliOptions {
  config: Partial<SimConfig>;
  sweep?: 'paper';
  out?: string;
  help: boolean;
}

export class CliError extends Error {
  override readonly name = 'CliError';
}

export const USAGE = `usage: npm run simulate -- [options]
  --day-gb N          data in the trading day, GiB (default 16)
  --rdb-memory Q      memory of each RDB and its server, a Kubernetes quantity (default 4Gi)
  --scale P           scaleThreshold, percent (default 60)
  --roll P            rollThreshold, percent (default 80)
  --lead-time-s M:SD  server lead time (launch to queued RDB), mean:sd seconds, normal (default 90:30)
  --profile FILE      volume profile JSON: [{"hour": 6, "share": 1.3}, ...] or {"6": 1.3, ...} (default: the paper's)
  --seed N            seed of the lead-time draws (default 1)
  --idle-mb N         idle RDB process, MiB, counted in its memory (default 150, the paper's)
  --max-rdbs N        pool maxRdbs and ASG MaxSize (default 1000)
  --policy P          pool scale-out policy, threshold or predictive (rdbPools[].scaleOut.policy; default threshold)
  --lead-time-margin X  predictive only: rdbPools[].scaleOut.leadTimeMargin (default 1.5)
  --schedule HH:MM-HH:MM  market hours, Monday to Friday (rdbPools[].schedule): off hours the pool may hold no RDB (default: none)
  --single-server-gb N  the one server the day is compared with (default: smallest power of two holding the day under --roll)
  --step-s N          world step while data flows (default 5)
  --flush-mib-s N     end-of-day slice write rate (default 100)
  --day YYYY-MM-DD    trading day (default 2026-03-02)
  --sweep paper       the paper's configurations, as a table
  --out DIR           write simulation.json and simulation.png (sweep: sweep.json and one PNG per row) there`;

const number = (flag: string, v: string, o: { int?: boolean; min?: number; max?: number; above?: number } = {}): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new CliError(`${flag}: not a number: ${JSON.stringify(v)}`);
  if (o.int && !Number.isInteger(n)) throw new CliError(`${flag}: must be a whole number, got ${v}`);
  if (o.min !== undefined && n < o.min) throw new CliError(`${flag}: must be at least ${o.min}, got ${v}`);
  if (o.above !== undefined && n <= o.above) throw new CliError(`${flag}: must be above ${o.above}, got ${v}`);
  if (o.max !== undefined && n > o.max) throw new CliError(`${flag}: must be at most ${o.max}, got ${v}`);
  return n;
};

const FLAGS = new Set(['--day-gb', '--rdb-memory', '--scale', '--roll', '--lead-time-s', '--profile', '--seed', '--idle-mb', '--max-rdbs', '--policy', '--lead-time-margin', '--schedule', '--single-server-gb', '--step-s', '--flush-mib-s', '--day', '--sweep', '--out']);

/** Which flag a schema field came from, so its message names the flag. */
const FIELD_FLAG: [RegExp, string][] = [
  [/scaleThreshold/, '--scale'],
  [/rollThreshold/, '--roll'],
  [/memory/, '--rdb-memory'],
  [/maxRdbs/, '--max-rdbs'],
  [/scaleOut\.policy/, '--policy'],
  [/leadTimeMargin/, '--lead-time-margin'],
  [/schedule/, '--schedule'],
];

export const parseArgs = (argv: readonly string[]): CliOptions => {
  const c: Partial<SimConfig> = {};
  const opts: CliOptions = { config: c, help: false };
  for (let k = 0; k < argv.length; k++) {
    const raw = argv[k]!;
    if (raw === '--help' || raw === '-h') {
      opts.help = true;
      continue;
    }
    const eq = raw.indexOf('=');
    const flag = raw.startsWith('--') && eq > 0 ? raw.slice(0, eq) : raw;
    if (!FLAGS.has(flag)) throw new CliError(`${flag}: unknown option (see --help)`);
    let v: string;
    if (eq > 0 && raw.startsWith('--')) v = raw.slice(eq + 1);
    else {
      const next = argv[k + 1];
      if (next === undefined || next.startsWith('--')) throw new CliError(`${flag}: needs a value`);
      v = next;
      k++;
    }
    switch (flag) {
      case '--day-gb':
        c.dayGb = number(flag, v, { above: 0, max: 1e6 });
        break;
      case '--rdb-memory':
        if (!QUANTITY.test(v) || v.startsWith('-')) throw new CliError(`${flag}: must be a Kubernetes quantity such as 4Gi or 512Mi, got ${JSON.stringify(v)}`);
        c.rdbMemory = v;
        break;
      case '--scale':
        c.scale = number(flag, v, { int: true, min: 1, max: 99 });
        break;
      case '--roll':
        c.roll = number(flag, v, { int: true, min: 1, max: 99 });
        break;
      case '--lead-time-s': {
        const m = /^([^:]+)(?::([^:]+))?$/.exec(v);
        if (!m) throw new CliError(`${flag}: want mean:sd in seconds such as 90:30, got ${JSON.stringify(v)}`);
        c.leadTime = { meanS: number(flag, m[1]!, { above: 0, max: 86_400 }), sdS: m[2] === undefined ? 0 : number(flag, m[2], { min: 0, max: 86_400 }) };
        break;
      }
      case '--profile':
        try {
          c.profile = loadProfile(v);
        } catch (e) {
          throw new CliError((e as Error).message);
        }
        break;
      case '--seed':
        c.seed = number(flag, v, { int: true, min: 0, max: 2 ** 32 - 1 });
        break;
      case '--idle-mb':
        c.idleMb = number(flag, v, { min: 0 });
        break;
      case '--max-rdbs':
        c.maxRdbs = number(flag, v, { int: true, min: 1, max: 1000 });
        break;
      case '--policy':
        if (v !== 'threshold' && v !== 'predictive') throw new CliError(`${flag}: must be threshold or predictive, got ${JSON.stringify(v)}`);
        c.policy = v;
        break;
      case '--lead-time-margin':
        c.leadTimeMargin = number(flag, v, { above: 1, max: 10 });
        break;
      case '--schedule': {
        const m = /^(\d{2}:\d{2})-(\d{2}:\d{2})$/.exec(v);
        if (!m) throw new CliError(`${flag}: must be market hours HH:MM-HH:MM such as 06:00-16:00, got ${JSON.stringify(v)}`);
        c.schedule = { open: m[1]!, close: m[2]! };
        break;
      }
      case '--single-server-gb':
        c.singleServerGb = number(flag, v, { above: 0 });
        break;
      case '--step-s':
        c.stepS = number(flag, v, { above: 0, max: 3600 });
        break;
      case '--flush-mib-s':
        c.flushMiBs = number(flag, v, { above: 0 });
        break;
      case '--day':
        if (!/^\d{4}-\d{2}-\d{2}$/.test(v) || Number.isNaN(Date.parse(`${v}T00:00:00Z`))) throw new CliError(`${flag}: must be a day YYYY-MM-DD, got ${JSON.stringify(v)}`);
        c.day = v;
        break;
      case '--sweep':
        if (v !== 'paper') throw new CliError(`${flag}: the only sweep is "paper", got ${JSON.stringify(v)}`);
        opts.sweep = 'paper';
        break;
      case '--out':
        opts.out = v;
        break;
    }
  }
  // The pool as the operator would take it: its own schema's rules (scale below roll, memory floor).
  if (!opts.help) {
    try {
      simCluster({
        rdbMemory: c.rdbMemory ?? '4Gi',
        scale: c.scale ?? 60,
        roll: c.roll ?? 80,
        maxRdbs: c.maxRdbs ?? 1000,
        policy: c.policy ?? 'threshold',
        ...(c.leadTimeMargin !== undefined ? { leadTimeMargin: c.leadTimeMargin } : {}),
        ...(c.schedule ? { schedule: c.schedule } : {}),
      });
    } catch (e) {
      const msg = (e as Error).message;
      // formatFieldErrors gives "field: message; ...": the flags are the fields', not every word of the messages.
      const fields = msg.split('; ').map((part) => part.split(': ')[0] ?? '');
      const flags = FIELD_FLAG.filter(([re]) => fields.some((f) => re.test(f))).map(([, f]) => f);
      throw new CliError(`${flags.length > 0 ? flags.join(', ') : 'options'}: ${msg}`);
    }
  }
  return opts;
};
