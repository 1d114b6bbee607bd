// One-line JSON logs on stderr, which up.sh sends to .stack/logs/nodesim.log.
type Level = 'debug' | 'info' | 'warn' | 'error';
const debugOn = process.env.KDB_SIM_DEBUG === '1';

const write = (level: Level, msg: string, fields?: Record<string, unknown>): void => {
  if (level === 'debug' && !debugOn) return;
  const line: Record<string, unknown> = { t: new Date().toISOString(), level, msg, ...fields };
  process.stderr.write(`${JSON.stringify(line)}\n`);
};

export const log = {
  debug: (msg: string, f?: Record<string, unknown>) => write('debug', msg, f),
  info: (msg: string, f?: Record<string, unknown>) => write('info', msg, f),
  warn: (msg: string, f?: Record<string, unknown>) => write('warn', msg, f),
  error: (msg: string, f?: Record<string, unknown>) => write('error', msg, f),
};

export const errMsg = (e: unknown): string => {
  if (e && typeof e === 'object') {
    const o = e as { code?: unknown; body?: unknown; message?: unknown };
    if (o.code !== undefined && o.body !== undefined) return `HTTP ${String(o.code)}: ${String(o.body).slice(0, 300)}`;
    if (typeof o.message === 'string') return o.message;
  }
  return String(e);
};
