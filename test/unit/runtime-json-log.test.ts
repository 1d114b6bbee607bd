import { Writable } from 'node:stream';
import winston from 'winston';
import { createJsonLog, sortedJson } from '../../operator/src/runtime/json-log.ts';
import { createLogger } from '../../operator/src/runtime/log.ts';

const NOW = Date.parse('2026-03-02T14:30:00.000Z');

/** The agent's lean logger must write the operator's line format: one parser reads both. */
describe('JSON line logger (the agent)', () => {
  const winstonLines = (fn: (log: ReturnType<typeof createLogger>) => void): string[] => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString().trimEnd());
        cb();
      },
    });
    fn(createLogger({ level: 'info', defaultMeta: { component: 'agent', pod: 'ns/p' }, transports: [new winston.transports.Stream({ stream })] }));
    return lines;
  };

  test('the same line as winston for the same call (timestamp aside), credentials redacted', () => {
    const meta = { state: 'live', memoryPercent: 42, rows: 10, nested: { b: 1, a: [1, { password: 'x', z: 2, y: 1 }] }, token: 'abc', note: 'Bearer abc.def' };
    const lean: string[] = [];
    createJsonLog({ level: 'info', defaultMeta: { component: 'agent', pod: 'ns/p' }, write: (l) => lean.push(l.trimEnd()), now: () => NOW }).info('reported RDB state', meta);
    const stamp = (l: string) => l.replace(/"timestamp":"[^"]+"/, '"timestamp":"T"');
    expect(lean.map(stamp)).toEqual(winstonLines((log) => log.info('reported RDB state', meta)).map(stamp));
    expect(JSON.parse(lean[0]!)).toMatchObject({ token: '[REDACTED]', note: 'Bearer [REDACTED]', timestamp: '2026-03-02T14:30:00.000Z', level: 'info' });
  });

  test('levels: debug dropped at info, warn kept at warn', () => {
    const lines: string[] = [];
    const log = createJsonLog({ level: 'warn', write: (l) => lines.push(l), now: () => NOW });
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    expect(lines.map((l) => (JSON.parse(l) as { message: string }).message)).toEqual(['w', 'e']);
    expect(lines.every((l) => l.endsWith('}\n'))).toBe(true);
  });

  test('sorted keys at every depth, arrays kept in order', () => {
    expect(sortedJson({ b: 1, a: { d: [3, { f: 1, e: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[3,{"e":2,"f":1}]},"b":1}');
  });
});
