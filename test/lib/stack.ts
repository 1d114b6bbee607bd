import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the local stack keeps its state (see docs/contracts.md). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const stackDir = (): string => process.env.KDB_STACK_DIR ?? join(repoRoot, '.stack');

export interface NodeGroupInfo {
  asgName: string;
  instanceType: string;
  launchTemplateName: string;
}
export interface StackAws {
  region: string;
  clusterName: string;
  vpcId: string;
  subnetIds: string[];
  efsFileSystemId: string;
  nodeGroups: Record<'system' | 'tickerplant' | 'rdb', NodeGroupInfo>;
}

export const readStackAws = (): StackAws =>
  JSON.parse(readFileSync(join(stackDir(), 'aws.json'), 'utf8')) as StackAws;

export const PORTS = {
  etcd: 23790,
  etcdPeer: 23800,
  apiserver: 16443,
  moto: 15000,
  awsEndpoint: 14566,
  faultsControl: 14567,
} as const;

/** The static bearer token of a user in <stack>/tokens.csv (admin, nodesim, kdb-norights, ...). */
export const stackToken = (user: string): string => {
  const line = readFileSync(join(stackDir(), 'tokens.csv'), 'utf8')
    .split('\n')
    .find((l) => l.split(',')[1] === user);
  if (!line) throw new Error(`no token for ${user} in ${join(stackDir(), 'tokens.csv')}`);
  return line.split(',')[0]!;
};
