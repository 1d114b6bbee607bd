import winston from 'winston';

/** Process logs (not the tickerplant log): one JSON line per event on stderr, never on the hot path. */
export type Logger = winston.Logger;

export const makeLogger = (component: string): Logger =>
  winston.createLogger({
    level: process.env.KDB_LOG_LEVEL ?? 'info',
    defaultMeta: { component },
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug', 'verbose', 'silly'] })],
  });
