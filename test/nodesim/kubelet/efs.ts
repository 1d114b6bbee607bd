// EFS volumes as local folders: one folder per file system under
// .stack/efs/<fs-id>/, shared by every node and pod as EFS is; an access
// point's root is its RootDirectory.Path below it (looked up in moto).
import { mkdirSync } from 'node:fs';
import { join, normalize } from 'node:path';
import { efs } from '../../lib/aws.ts';
import { errMsg, log } from '../log.ts';

export class EfsPaths {
  private readonly root: string;
  private readonly client: efs.EFSClient;
  private readonly apRoots = new Map<string, string>();

  constructor(efsRoot: string, motoUrl: string, region: string) {
    this.root = efsRoot;
    this.client = new efs.EFSClient({
      region,
      endpoint: motoUrl,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      maxAttempts: 2,
    });
  }

  /** volumeHandle forms of the EFS CSI driver: fs-x, fs-x:/path, fs-x::fsap-y, fs-x:/path:fsap-y. */
  async resolve(volumeHandle: string): Promise<string> {
    const [fsId, subPath = '', apId = ''] = volumeHandle.split(':');
    if (!fsId || !/^fs-[0-9a-zA-Z]+$/.test(fsId)) throw new Error(`bad EFS volumeHandle ${volumeHandle}`);
    let dir = join(this.root, fsId);
    if (apId) dir = join(dir, await this.accessPointRoot(apId));
    // The driver resolves the sub path inside the access point root.
    if (subPath) dir = join(dir, normalize(`/${subPath}`));
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  private async accessPointRoot(apId: string): Promise<string> {
    const cached = this.apRoots.get(apId);
    if (cached !== undefined) return cached;
    let root = `/${apId}`;
    try {
      const out = await this.client.send(new efs.DescribeAccessPointsCommand({ AccessPointId: apId }));
      const path = out.AccessPoints?.[0]?.RootDirectory?.Path;
      if (path) root = normalize(`/${path}`);
    } catch (e) {
      log.warn('EFS access point lookup failed; using a folder per access point', { apId, error: errMsg(e) });
    }
    this.apRoots.set(apId, root);
    return root;
  }

  destroy(): void {
    this.client.destroy();
  }
}
