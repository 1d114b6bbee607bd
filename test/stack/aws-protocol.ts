// What the fault injector needs to know about AWS wire protocols: which
// service and operation a request is, a few of its parameters, and what a
// throttling or server error looks like in that protocol, so the SDK
// classifies an injected fault exactly as it would a real one. Pure: no I/O.

export type Protocol = 'query' | 'ec2' | 'json' | 'rest-json' | 'unknown';
export type FaultKind = 'throttle' | 'error';
export type ParamValue = string | number | boolean | string[];

export interface RequestHead {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface ParsedCall {
  service: string;
  operation: string;
  protocol: Protocol;
  params: Record<string, ParamValue>;
  /** The SDK's attempt number (amz-sdk-request: attempt=N; max=M), if sent. */
  attempt: number | null;
}

export interface ErrorReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const header = (h: RequestHead['headers'], name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

// Signing names differ from the names people use; report the familiar one.
const SERVICE_ALIASES: Record<string, string> = { elasticfilesystem: 'efs' };

/** Service from SigV4's credential scope: Credential=AKID/date/region/SERVICE/aws4_request. */
export const serviceFromAuthorization = (auth: string | undefined): string | undefined => {
  const m = auth?.match(/Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/);
  if (!m?.[1]) return undefined;
  return SERVICE_ALIASES[m[1]] ?? m[1];
};

/** True when the operation must be read from the body (query protocols). */
export const needsBody = (head: RequestHead): boolean =>
  head.method === 'POST' &&
  (header(head.headers, 'content-type') ?? '').startsWith('application/x-www-form-urlencoded');

// The parameters worth seeing in a call log of the operator's AWS traffic.
// Lists (X.member.N in Auto Scaling, X.N in EC2) are gathered under the plural.
const SCALAR_PARAMS = new Set([
  'AutoScalingGroupName',
  'InstanceId',
  'DesiredCapacity',
  'MinSize',
  'MaxSize',
  'HonorCooldown',
  'ShouldDecrementDesiredCapacity',
  'ProtectedFromScaleIn',
  'LifecycleHookName',
  'LifecycleActionResult',
  'LaunchTemplateName',
  'FileSystemId',
  'AccessPointId',
  'MaxRecords',
  'NextToken',
  'CreationToken',
]);
const LIST_PARAMS: Record<string, string> = {
  AutoScalingGroupNames: 'AutoScalingGroupNames',
  InstanceIds: 'InstanceIds',
  InstanceId: 'InstanceIds', // EC2: InstanceId.1, InstanceId.2
  ScalingProcesses: 'ScalingProcesses',
};

const coerce = (name: string, v: string): ParamValue => {
  if (/^(DesiredCapacity|MinSize|MaxSize|MaxRecords)$/.test(name) && /^-?\d+$/.test(v)) return Number(v);
  if (v === 'true') return true;
  if (v === 'false') return false;
  return v;
};

/** Picks the interesting parameters out of a flattened key/value list. */
export const pickParams = (entries: Iterable<[string, string]>): Record<string, ParamValue> => {
  const out: Record<string, ParamValue> = {};
  for (const [key, value] of entries) {
    if (SCALAR_PARAMS.has(key)) {
      out[key] = coerce(key, value);
      continue;
    }
    const m = key.match(/^([A-Za-z]+)(?:\.member)?\.\d+$/);
    const plural = m?.[1] ? LIST_PARAMS[m[1]] : undefined;
    if (plural) {
      const list = (out[plural] as string[] | undefined) ?? [];
      list.push(value);
      out[plural] = list;
    }
  }
  return out;
};

// EFS (REST-JSON) has no operation name on the wire: map method + path.
const EFS_ROUTES: Array<[string, RegExp, string]> = [
  ['GET', /^\/2015-02-01\/file-systems\/?$/, 'DescribeFileSystems'],
  ['POST', /^\/2015-02-01\/file-systems\/?$/, 'CreateFileSystem'],
  ['PUT', /^\/2015-02-01\/file-systems\/[^/]+\/?$/, 'UpdateFileSystem'],
  ['DELETE', /^\/2015-02-01\/file-systems\/[^/]+\/?$/, 'DeleteFileSystem'],
  ['GET', /^\/2015-02-01\/file-systems\/[^/]+\/lifecycle-configuration$/, 'DescribeLifecycleConfiguration'],
  ['PUT', /^\/2015-02-01\/file-systems\/[^/]+\/lifecycle-configuration$/, 'PutLifecycleConfiguration'],
  ['GET', /^\/2015-02-01\/file-systems\/[^/]+\/backup-policy$/, 'DescribeBackupPolicy'],
  ['PUT', /^\/2015-02-01\/file-systems\/[^/]+\/backup-policy$/, 'PutBackupPolicy'],
  ['GET', /^\/2015-02-01\/file-systems\/[^/]+\/policy$/, 'DescribeFileSystemPolicy'],
  ['PUT', /^\/2015-02-01\/file-systems\/[^/]+\/policy$/, 'PutFileSystemPolicy'],
  ['GET', /^\/2015-02-01\/mount-targets\/?$/, 'DescribeMountTargets'],
  ['POST', /^\/2015-02-01\/mount-targets\/?$/, 'CreateMountTarget'],
  ['DELETE', /^\/2015-02-01\/mount-targets\/[^/]+$/, 'DeleteMountTarget'],
  ['GET', /^\/2015-02-01\/mount-targets\/[^/]+\/security-groups$/, 'DescribeMountTargetSecurityGroups'],
  ['PUT', /^\/2015-02-01\/mount-targets\/[^/]+\/security-groups$/, 'ModifyMountTargetSecurityGroups'],
  ['GET', /^\/2015-02-01\/access-points\/?$/, 'DescribeAccessPoints'],
  ['POST', /^\/2015-02-01\/access-points\/?$/, 'CreateAccessPoint'],
  ['DELETE', /^\/2015-02-01\/access-points\/[^/]+$/, 'DeleteAccessPoint'],
  ['GET', /^\/2015-02-01\/resource-tags\/[^/]+$/, 'ListTagsForResource'],
  ['POST', /^\/2015-02-01\/resource-tags\/[^/]+$/, 'TagResource'],
  ['DELETE', /^\/2015-02-01\/resource-tags\/[^/]+$/, 'UntagResource'],
];

const restOperation = (method: string, path: string): string => {
  for (const [m, re, op] of EFS_ROUTES) if (m === method && re.test(path)) return op;
  return `${method} ${path}`;
};

const restParams = (path: string, query: URLSearchParams): Record<string, ParamValue> => {
  const params = pickParams(query.entries());
  const fs = path.match(/\/file-systems\/(fs-[^/]+)/)?.[1];
  if (fs) params['FileSystemId'] = fs;
  const ap = path.match(/\/access-points\/(fsap-[^/]+)/)?.[1];
  if (ap) params['AccessPointId'] = ap;
  return params;
};

const parseAttempt = (h: RequestHead['headers']): number | null => {
  const m = header(h, 'amz-sdk-request')?.match(/attempt=(\d+)/);
  return m?.[1] ? Number(m[1]) : null;
};

/**
 * Names the call. `body` is the form body for query protocols (see needsBody)
 * and the JSON body for JSON protocols when the caller has it; otherwise ''.
 */
export const parseCall = (head: RequestHead, body: string): ParsedCall => {
  const url = new URL(head.url, 'http://x');
  const signed = serviceFromAuthorization(header(head.headers, 'authorization'));
  const attempt = parseAttempt(head.headers);
  const target = header(head.headers, 'x-amz-target');
  if (target) {
    // awsJson: "Service_Version.Operation"
    const dot = target.lastIndexOf('.');
    let params: Record<string, ParamValue> = {};
    try {
      const json = body ? (JSON.parse(body) as Record<string, unknown>) : {};
      params = pickParams(
        Object.entries(json)
          .filter(([, v]) => ['string', 'number', 'boolean'].includes(typeof v))
          .map(([k, v]) => [k, String(v)]),
      );
    } catch {
      // not JSON: keep the name only
    }
    return { service: signed ?? target.slice(0, dot), operation: target.slice(dot + 1), protocol: 'json', params, attempt };
  }
  if (needsBody(head) || (head.method === 'GET' && url.searchParams.has('Action'))) {
    const form = needsBody(head) ? new URLSearchParams(body) : url.searchParams;
    const service = signed ?? 'unknown';
    return {
      service,
      operation: form.get('Action') ?? 'Unknown',
      protocol: service === 'ec2' ? 'ec2' : 'query',
      params: pickParams(form.entries()),
      attempt,
    };
  }
  if (signed) {
    return {
      service: signed,
      operation: restOperation(head.method, url.pathname),
      protocol: 'rest-json',
      params: restParams(url.pathname, url.searchParams),
      attempt,
    };
  }
  return { service: 'unknown', operation: `${head.method} ${url.pathname}`, protocol: 'unknown', params: {}, attempt };
};

const xmlEscape = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

interface ErrorShape {
  status: number;
  code: string;
  message: string;
  type: 'Sender' | 'Receiver';
}

// Codes and statuses as the real services answer them; the SDK's retry
// classifier keys on the code (throttling) and the status (5xx transient).
const shape = (protocol: Protocol, kind: FaultKind, errorStatus: number): ErrorShape => {
  if (kind === 'throttle') {
    if (protocol === 'ec2') return { status: 503, code: 'RequestLimitExceeded', message: 'Request limit exceeded.', type: 'Sender' };
    if (protocol === 'query') return { status: 400, code: 'Throttling', message: 'Rate exceeded', type: 'Sender' };
    return { status: 400, code: 'ThrottlingException', message: 'Rate exceeded', type: 'Sender' };
  }
  const unavailable = errorStatus === 503;
  if (protocol === 'ec2') {
    return { status: errorStatus, code: unavailable ? 'Unavailable' : 'InternalError', message: 'injected server error', type: 'Receiver' };
  }
  if (protocol === 'query') {
    return { status: errorStatus, code: unavailable ? 'ServiceUnavailable' : 'InternalFailure', message: 'injected server error', type: 'Receiver' };
  }
  return { status: errorStatus, code: unavailable ? 'ServiceUnavailableException' : 'InternalServerError', message: 'injected server error', type: 'Receiver' };
};

/** An error answer in the protocol's own format. */
export const errorReply = (protocol: Protocol, kind: FaultKind, requestId: string, errorStatus = 503): ErrorReply => {
  const e = shape(protocol, kind, errorStatus);
  const common = { 'x-amzn-requestid': requestId };
  if (protocol === 'ec2') {
    return {
      status: e.status,
      headers: { ...common, 'content-type': 'text/xml;charset=UTF-8' },
      body:
        `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${e.code}</Code>` +
        `<Message>${xmlEscape(e.message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`,
    };
  }
  if (protocol === 'query') {
    return {
      status: e.status,
      headers: { ...common, 'content-type': 'text/xml' },
      body:
        `<ErrorResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><Error><Type>${e.type}</Type>` +
        `<Code>${e.code}</Code><Message>${xmlEscape(e.message)}</Message></Error>` +
        `<RequestId>${requestId}</RequestId></ErrorResponse>`,
    };
  }
  // JSON protocols: the code travels in x-amzn-ErrorType and in the body
  // (EFS spells it ErrorCode, awsJson __type); the SDK reads the header first.
  return {
    status: e.status,
    headers: { ...common, 'content-type': 'application/json', 'x-amzn-errortype': e.code },
    body: JSON.stringify({ __type: e.code, ErrorCode: e.code, Message: e.message, message: e.message }),
  };
};
