import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * scrypt (memory-hard, in node:crypto: no native dependency) with a 16-byte salt per password.
 * N = 2^15, r = 8 costs 32 MiB and ~60 ms per hash on the 2-core machine: slow for a guesser, fast
 * enough for a login. The parameters are stored with the hash so they can be raised later.
 */
const N = 1 << 15;
const R = 8;
const P = 1;
const KEYLEN = 32;
const MAXMEM = 64 * 1024 * 1024;

function derive(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFC'), salt, KEYLEN, { N: n, r, p, maxmem: MAXMEM }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, N, R, P);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Constant-time comparison of the derived key; a malformed stored hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const salt = Buffer.from(parts[4]!, 'base64url');
  const expected = Buffer.from(parts[5]!, 'base64url');
  const key = await derive(password, salt, n, r, p);
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/**
 * A hash to verify against when the user does not exist, so an unknown name costs the same time as a
 * wrong password and names cannot be enumerated by timing.
 */
let decoy: Promise<string> | null = null;
export const decoyHash = () => (decoy ??= hashPassword(randomBytes(16).toString('hex')));

/** A fresh secret (session token, API key, CSRF token): 32 random bytes. */
export const newSecret = () => randomBytes(32).toString('base64url');

/** Session tokens and API keys are stored as SHA-256: they are random, so no salt or stretching is needed. */
export const secretHash = (secret: string) => createHash('sha256').update(secret).digest('hex');
