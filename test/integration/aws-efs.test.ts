// The EFS facade against real moto.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { Aws, CallEvent } from '../../operator/src/aws/index.ts';
import { awsTestEnv, operatorAws, testFileSystem, uniqueName, type AwsTestEnv } from './aws-env.ts';

let env: AwsTestEnv;
let aws: Aws;
let events: CallEvent[];
let fsId: string;
const created: string[] = [];

beforeAll(async () => {
  env = await awsTestEnv();
  await env.faults?.clear();
  ({ aws, events } = operatorAws(env));
  fsId = await testFileSystem(env);
}, 30_000);

beforeEach(() => {
  events.length = 0;
});

afterAll(async () => {
  for (const id of created) await aws.efs.deleteAccessPoint(id).catch(() => undefined);
  aws?.destroy();
  env?.destroy();
});

describe('Efs', () => {
  it('describes the file system, and a missing one as not found', async () => {
    expect(await aws.efs.describeFileSystem(fsId)).toEqual({ found: true, id: fsId, lifeCycleState: 'available' });
    expect(await aws.efs.describeFileSystem('fs-0000000000000000')).toEqual({ found: false, id: 'fs-0000000000000000' });
  });

  it('ensures one access point per cluster and path, idempotently', async () => {
    const clusterKey = `${uniqueName('ns')}/cluster`;
    const input = { fileSystemId: fsId, clusterKey, rootPath: `/kdb/${clusterKey}/tplog`, posixUser: { uid: 1000, gid: 1000 } };
    const first = await aws.efs.ensureAccessPoint(input);
    created.push(first.accessPoint.id);
    expect(first.created).toBe(true);
    expect(first.accessPoint).toMatchObject({
      fileSystemId: fsId,
      rootPath: input.rootPath,
      clusterKey,
      posixUser: { uid: 1000, gid: 1000 },
    });
    expect(first.accessPoint.id).toMatch(/^fsap-/);

    const second = await aws.efs.ensureAccessPoint(input);
    expect(second).toEqual({ accessPoint: first.accessPoint, created: false });
    expect(events.filter((e) => e.operation === 'CreateAccessPoint')).toHaveLength(1);

    // Another path of the same cluster is another access point.
    const hdb = await aws.efs.ensureAccessPoint({ ...input, rootPath: `/kdb/${clusterKey}/hdb` });
    created.push(hdb.accessPoint.id);
    expect(hdb.created).toBe(true);
    expect(hdb.accessPoint.id).not.toBe(first.accessPoint.id);
    expect((await aws.efs.listAccessPoints(fsId, clusterKey)).map((a) => a.id).sort()).toEqual(
      [first.accessPoint.id, hdb.accessPoint.id].sort(),
    );
  });

  it('deletes an access point; deleting it again is done, not an error', async () => {
    const clusterKey = `${uniqueName('ns')}/gone`;
    const { accessPoint } = await aws.efs.ensureAccessPoint({
      fileSystemId: fsId,
      clusterKey,
      rootPath: '/kdb/gone',
      posixUser: { uid: 1000, gid: 1000 },
    });
    expect(await aws.efs.deleteAccessPoint(accessPoint.id)).toEqual({ id: accessPoint.id, deleted: true });
    expect(await aws.efs.deleteAccessPoint(accessPoint.id)).toEqual({ id: accessPoint.id, deleted: false });
    expect(await aws.efs.listAccessPoints(fsId, clusterKey)).toEqual([]);
    expect(await aws.efs.deleteAccessPoint('fsap-00000000000000000')).toEqual({ id: 'fsap-00000000000000000', deleted: false });
  });
});
