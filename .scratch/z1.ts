import { z } from 'zod';
const Q = z.union([z.string().regex(/^\d+$/), z.number().int()]);
const Inner = z.object({ a: z.number().int().min(1).max(99).default(5), b: z.string().optional(), q: Q, r: z.record(z.string(), Q).optional(), e: z.enum(['x','y']).default('x') });
const S = z.object({ inner: Inner.prefault({q: '1'}), list: z.array(Inner).min(1).max(4), n: z.string().nullable().optional(), d: z.iso.datetime().optional() })
  .superRefine(() => {}).meta({ 'x-kubernetes-validations': [{ rule: 'true', message: 'm' }] , description: 'desc'});
console.log(JSON.stringify(z.toJSONSchema(S, { io: 'input', unrepresentable: 'any' }), null, 1));
