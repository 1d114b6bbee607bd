import { Writable } from 'node:stream';
import winston from 'winston';
import { createLogger, isSecretKey, redact } from '../../operator/src/runtime/log.ts';

const capture = () => {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      cb();
    },
  });
  return { lines, transport: new winston.transports.Stream({ stream }) };
};

describe('logging', () => {
  test('JSON lines with child fields; credentials redacted at any depth', () => {
    const { lines, transport } = capture();
    const log = createLogger({ level: 'debug', transports: [transport] });
    log.child({ cluster: 'ns/c1' }).info('calling AWS', {
      secretAccessKey: 'AKIA/secret',
      request: { headers: { Authorization: 'Bearer abc.def', 'x-amz-security-token': 'tok' }, secretName: 'kdb-licence-ref' },
      token: 'x',
    });
    log.warn('header was Bearer eyJhbGciOi.payload.sig in the message');
    expect(lines[0]).toMatchObject({
      level: 'info',
      message: 'calling AWS',
      cluster: 'ns/c1',
      secretAccessKey: '[REDACTED]',
      token: '[REDACTED]',
      request: { headers: { Authorization: '[REDACTED]', 'x-amz-security-token': '[REDACTED]' }, secretName: 'kdb-licence-ref' },
    });
    expect(typeof lines[0]!.timestamp).toBe('string');
    expect(lines[1]!.message).toBe('header was Bearer [REDACTED] in the message');
  });

  test('level from options; debug dropped at info', () => {
    const { lines, transport } = capture();
    const log = createLogger({ level: 'info', transports: [transport] });
    log.debug('hidden');
    log.info('shown');
    expect(lines.map((l) => l.message)).toEqual(['shown']);
  });

  test('secret key matcher', () => {
    for (const k of ['token', 'Authorization', 'password', 'AWS_SECRET_ACCESS_KEY', 'sessionToken', 'clientKey', 'KDB_LICENSE_B64', 'credentials'])
      expect([k, isSecretKey(k)]).toEqual([k, true]);
    for (const k of ['secretName', 'tokenFile', 'cluster', 'key', 'reason'])
      expect([k, isSecretKey(k)]).toEqual([k, false]);
    expect(redact(new Error('Basic dXNlcjpwYXNz failed'))).toMatchObject({ message: 'Basic [REDACTED] failed' });
  });
});
