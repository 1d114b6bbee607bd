// Nulls and infinities are ordinary values on the wire: q reserves the
// smallest integer of each width for null (0N), the largest for 0W and its
// negation for -0W; floats use NaN and IEEE infinities; a space is the null
// char and the empty symbol the null symbol. Keeping the sentinels (rather
// than JS null) makes every value round-trip to the same bytes.

import type { AtomValues, BasicType } from './types.ts';

const LONG_NULL = -(2n ** 63n);
const LONG_INF = 2n ** 63n - 1n;

/** The null of each type: 0Nh 0Ni 0Nj 0Ne 0n 0Ng " " ` 0Np 0Nm 0Nd 0Nz 0Nn 0Nu 0Nv 0Nt. Boolean and byte have none. */
export const NULL = {
  guid: '00000000-0000-0000-0000-000000000000',
  short: -32768,
  int: -2147483648,
  long: LONG_NULL,
  real: Number.NaN,
  float: Number.NaN,
  char: ' ',
  symbol: '',
  timestamp: LONG_NULL,
  month: -2147483648,
  date: -2147483648,
  datetime: Number.NaN,
  timespan: LONG_NULL,
  minute: -2147483648,
  second: -2147483648,
  time: -2147483648,
} as const satisfies Partial<Record<BasicType, AtomValues[BasicType]>>;

/** Positive infinity of each type that has one (0Wh 0Wi 0Wj 0We 0w 0Wp ...); the negative one is its negation. */
export const INF = {
  short: 32767,
  int: 2147483647,
  long: LONG_INF,
  real: Number.POSITIVE_INFINITY,
  float: Number.POSITIVE_INFINITY,
  timestamp: LONG_INF,
  month: 2147483647,
  date: 2147483647,
  datetime: Number.POSITIVE_INFINITY,
  timespan: LONG_INF,
  minute: 2147483647,
  second: 2147483647,
  time: 2147483647,
} as const;

export type NullableType = keyof typeof NULL;

/** Whether `value` is the null of `type`. Boolean and byte have no null and always answer false. */
export function isNull<T extends BasicType>(type: T, value: AtomValues[T]): boolean {
  if (!(type in NULL)) return false;
  const n = NULL[type as NullableType];
  if (typeof n === 'number' && Number.isNaN(n)) return typeof value === 'number' && Number.isNaN(value);
  return value === n;
}

/** Whether `value` is +0W or -0W of `type`. */
export function isInfinite<T extends BasicType>(type: T, value: AtomValues[T]): boolean {
  if (!(type in INF)) return false;
  const inf = INF[type as keyof typeof INF];
  if (typeof inf === 'bigint') return value === inf || value === -inf;
  return value === inf || value === -inf;
}
