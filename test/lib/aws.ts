// The only test folder that imports the AWS SDK.
import * as autoscaling from '@aws-sdk/client-auto-scaling';
import * as cloudformation from '@aws-sdk/client-cloudformation';
import * as ec2 from '@aws-sdk/client-ec2';
import * as efs from '@aws-sdk/client-efs';
import { PORTS } from './stack.ts';

export { autoscaling, cloudformation, ec2, efs };

const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };

/** Client options for the fault injector (what the operator sees) or moto directly. */
export const awsClientConfig = (via: 'injector' | 'moto' = 'injector') => ({
  region: process.env.AWS_REGION ?? 'us-east-1',
  endpoint: `http://127.0.0.1:${via === 'moto' ? PORTS.moto : PORTS.awsEndpoint}`,
  credentials,
});

/** Client options for moto itself, honouring KDB_MOTO_URL (what the node simulator and test setup use). */
export const motoClientConfig = () => ({
  ...awsClientConfig('moto'),
  endpoint: process.env.KDB_MOTO_URL ?? awsClientConfig('moto').endpoint,
});
