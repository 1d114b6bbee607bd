// The fault injector's pure parts: naming calls from the wire and deciding
// which to fault. (The SDK-level behaviour is in test/integration/stack-faults.)
import { describe, expect, it } from '@jest/globals';
import { errorReply, parseCall, serviceFromAuthorization } from '../stack/aws-protocol.ts';
import { createCallLog, createFaultPlan, FaultsSchema } from '../stack/fault-plan.ts';

const auth = (service: string) =>
  `AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/${service}/aws4_request, SignedHeaders=host, Signature=abc`;
const form = { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' };

describe('parseCall', () => {
  it('reads the service from the credential scope, with familiar names', () => {
    expect(serviceFromAuthorization(auth('autoscaling'))).toBe('autoscaling');
    expect(serviceFromAuthorization(auth('elasticfilesystem'))).toBe('efs');
    expect(serviceFromAuthorization(undefined)).toBeUndefined();
  });

  it('names an Auto Scaling query call and picks its parameters', () => {
    const body =
      'Action=TerminateInstanceInAutoScalingGroup&Version=2011-01-01&InstanceId=i-1&ShouldDecrementDesiredCapacity=true';
    const call = parseCall({ method: 'POST', url: '/', headers: { ...form, authorization: auth('autoscaling'), 'amz-sdk-request': 'attempt=2; max=3' } }, body);
    expect(call).toEqual({
      service: 'autoscaling',
      operation: 'TerminateInstanceInAutoScalingGroup',
      protocol: 'query',
      params: { InstanceId: 'i-1', ShouldDecrementDesiredCapacity: true },
      attempt: 2,
    });
  });

  it('gathers member lists (Auto Scaling) and numbered lists (EC2)', () => {
    const a = parseCall(
      { method: 'POST', url: '/', headers: { ...form, authorization: auth('autoscaling') } },
      'Action=SetInstanceProtection&InstanceIds.member.1=i-1&InstanceIds.member.2=i-2&AutoScalingGroupName=g&ProtectedFromScaleIn=false',
    );
    expect(a.params).toEqual({ InstanceIds: ['i-1', 'i-2'], AutoScalingGroupName: 'g', ProtectedFromScaleIn: false });
    const e = parseCall({ method: 'POST', url: '/', headers: { ...form, authorization: auth('ec2') } }, 'Action=TerminateInstances&InstanceId.1=i-9');
    expect(e).toMatchObject({ service: 'ec2', protocol: 'ec2', operation: 'TerminateInstances', params: { InstanceIds: ['i-9'] } });
  });

  it('maps EFS REST paths to operation names', () => {
    const h = { authorization: auth('elasticfilesystem') };
    expect(parseCall({ method: 'GET', url: '/2015-02-01/file-systems?FileSystemId=fs-1', headers: h }, '')).toMatchObject({
      service: 'efs',
      operation: 'DescribeFileSystems',
      protocol: 'rest-json',
      params: { FileSystemId: 'fs-1' },
    });
    expect(parseCall({ method: 'POST', url: '/2015-02-01/access-points', headers: h }, '').operation).toBe('CreateAccessPoint');
    expect(parseCall({ method: 'DELETE', url: '/2015-02-01/access-points/fsap-1', headers: h }, '')).toMatchObject({
      operation: 'DeleteAccessPoint',
      params: { AccessPointId: 'fsap-1' },
    });
  });

  it('names JSON-protocol calls from X-Amz-Target', () => {
    const call = parseCall(
      { method: 'POST', url: '/', headers: { 'x-amz-target': 'AWSCognitoIdentityProviderService.ListUsers', authorization: auth('cognito-idp') } },
      '{"MaxRecords":5}',
    );
    expect(call).toMatchObject({ service: 'cognito-idp', operation: 'ListUsers', protocol: 'json', params: { MaxRecords: 5 } });
  });
});

describe('errorReply', () => {
  it('speaks each protocol: query XML, EC2 XML, JSON with x-amzn-ErrorType', () => {
    const q = errorReply('query', 'throttle', 'r1');
    expect(q.status).toBe(400);
    expect(q.body).toContain('<Code>Throttling</Code>');
    expect(q.body).toContain('<Type>Sender</Type>');
    const e = errorReply('ec2', 'throttle', 'r2');
    expect(e.body).toContain('<Response><Errors><Error><Code>RequestLimitExceeded</Code>');
    const j = errorReply('rest-json', 'throttle', 'r3');
    expect(j.headers['x-amzn-errortype']).toBe('ThrottlingException');
    expect(errorReply('query', 'error', 'r4', 500).status).toBe(500);
  });
});

describe('fault plan', () => {
  it('injects by rate, only where the filter matches, up to maxInjections', () => {
    const plan = createFaultPlan();
    plan.set(FaultsSchema.parse({ throttleRate: 0.3, errorRate: 0.3, operations: ['SetDesiredCapacity'], maxInjections: 2, latencyMs: 5 }));
    expect(plan.decide('autoscaling', 'DescribeAutoScalingGroups', 0)).toEqual({ inject: null, latencyMs: 0 });
    expect(plan.decide('autoscaling', 'SetDesiredCapacity', 0.1)).toEqual({ inject: 'throttle', latencyMs: 5 });
    expect(plan.decide('autoscaling', 'SetDesiredCapacity', 0.9)).toEqual({ inject: null, latencyMs: 5 });
    expect(plan.decide('autoscaling', 'SetDesiredCapacity', 0.5)).toEqual({ inject: 'error', latencyMs: 5 });
    expect(plan.decide('autoscaling', 'SetDesiredCapacity', 0.1).inject).toBeNull();
    expect(plan.current().injectedSoFar).toBe(2);
  });

  it('refuses rates that add up past 1', () => {
    expect(FaultsSchema.safeParse({ throttleRate: 0.6, errorRate: 0.6 }).success).toBe(false);
    expect(FaultsSchema.safeParse({ bogus: 1 }).success).toBe(false);
  });

  it('numbers calls across resets so a saved seq stays meaningful', () => {
    const log = createCallLog(2);
    const rec = { time: '', service: 's', operation: 'o', params: {}, status: 200, injected: null, durationMs: 0, attempt: 1 };
    log.add(rec);
    log.add(rec);
    log.add(rec);
    expect(log.since(0).map((r) => r.seq)).toEqual([2, 3]);
    log.reset();
    expect(log.add(rec).seq).toBe(4);
    expect(log.since(3).map((r) => r.seq)).toEqual([4]);
  });
});
