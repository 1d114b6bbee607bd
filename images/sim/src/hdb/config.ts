import { z } from 'zod';
import { bindHost, ConfigError } from '../config.ts';

type Env = Record<string, string | undefined>;

export interface HdbConfig {
  host: string;
  port: number;
  hdbDir: string;
}

/** KDB_HDB_DIR (required: where the merge writes), KDB_HDB_PORT (5012), POD_IP (bind address). */
export const hdbConfig = (env: Env): HdbConfig => {
  const dir = env.KDB_HDB_DIR;
  if (dir === undefined || dir === '') throw new ConfigError('KDB_HDB_DIR is required (the folder the merge writes day partitions to)');
  const raw = env.KDB_HDB_PORT === undefined || env.KDB_HDB_PORT === '' ? '5012' : env.KDB_HDB_PORT;
  const port = z.coerce.number().int().min(1).max(65535).safeParse(raw);
  if (!port.success) throw new ConfigError(`KDB_HDB_PORT is invalid (${JSON.stringify(raw)}): a TCP port 1..65535`);
  return { host: bindHost(env), port: port.data, hdbDir: dir };
};
