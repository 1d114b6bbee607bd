// The gateway process: kdb+ IPC on KDB_GATEWAY_PORT (5000), getData and
// purview over every RDB and the HDB. Run: node gateway/src/main.ts
// (env: see config.ts and the README's gateway section).

import { ConfigError } from '../../images/sim/src/config.ts';
import { handlerIpcOptions, listenIpc } from '../../images/sim/src/query/serve.ts';
import { makeLogger } from '../../images/sim/src/util/logger.ts';
import { gatewayConfig } from './config.ts';
import { Gateway } from './gateway.ts';

const log = makeLogger('gateway');
try {
  const cfg = gatewayConfig(process.env);
  const gw = new Gateway(cfg);
  const server = await listenIpc(handlerIpcOptions(gw.handler(), process.env, log), cfg.port, cfg.host);
  log.info('gateway serving', { host: cfg.host, port: cfg.port, rdbs: cfg.rdbs, rdbService: cfg.rdbService, hdb: cfg.hdb, rowLimit: cfg.rowLimit });
  const stop = () => {
    server.close();
    gw.close();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
} catch (e) {
  process.stderr.write(e instanceof ConfigError ? `config error: ${e.message}\n` : `${(e as Error).stack ?? String(e)}\n`);
  process.exit(2);
}
