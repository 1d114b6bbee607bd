// Who may connect: q's `-u` file format, one "user:password" a line (blank
// lines and lines starting with # ignored). Passwords are compared in
// constant time and never appear in an error or a log line.

import { createHash, timingSafeEqual } from 'node:crypto';

export class CredentialsError extends Error {}

export type Authenticate = (user: string, password: string | undefined) => boolean;

/** Parses "user:password" lines; `source` names where they came from in errors (a variable or a file, never its content). */
export function parseCredentials(text: string, source: string): Map<string, string> {
  const out = new Map<string, string>();
  text.split(/\r?\n/).forEach((raw, n) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new CredentialsError(`${source} line ${n + 1}: expected user:password (the user before the first ':')`);
    const user = line.slice(0, colon);
    if (out.has(user)) throw new CredentialsError(`${source} line ${n + 1}: user ${user} is listed twice`);
    out.set(user, line.slice(colon + 1));
  });
  if (out.size === 0) throw new CredentialsError(`${source} lists no user:password line; leave it unset to accept any client`);
  return out;
}

// Digests have one length, so the comparison time tells nothing about the password's length or how much of it matched.
const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();
const same = (a: string, b: string): boolean => timingSafeEqual(digest(a), digest(b));

/** A check for IpcServeOptions.authenticate: a listed user with its password. */
export function credentialCheck(users: ReadonlyMap<string, string>): Authenticate {
  return (user, password) => {
    const want = users.get(user);
    return want !== undefined && password !== undefined && same(want, password);
  };
}
