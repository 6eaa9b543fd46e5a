import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from "node:crypto";

/**
 * Salted scrypt password hashes for the metrics endpoint's basic auth, written into
 * hosted-engine.conf (`metrics_password_hash`) so the password itself is never stored:
 *
 *   scrypt$<N>$<r>$<p>$<salt base64>$<key base64>
 *
 * `he-ha metrics hash-password` makes one. scrypt runs on libuv's thread pool, never on
 * the event loop. N=2^15, r=8, p=1 (OWASP's minimum for scrypt): ~32 MiB and some tens of
 * milliseconds per check, which is why the endpoint remembers credentials it verified.
 */
export const PASSWORD_HASH_SCHEME = "scrypt";
const DEFAULT_PARAMS = { N: 2 ** 15, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;
const SALT_BYTES = 16;

export interface PasswordHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}

export class PasswordHashError extends Error {
  override name = "PasswordHashError";
}

const FORMAT = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

/** Pure: parses `scrypt$N$r$p$salt$key`; a malformed one throws PasswordHashError saying what is wrong (never echoing it). */
export function parsePasswordHash(text: string): PasswordHash {
  const m = FORMAT.exec(text.trim());
  if (!m) throw new PasswordHashError(`not a hash of the form scrypt$N$r$p$salt$key`);
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (N < 2 || (N & (N - 1)) !== 0) throw new PasswordHashError(`N=${N} is not a power of two`);
  if (r < 1 || p < 1 || r * p >= 2 ** 30)
    throw new PasswordHashError(`r=${r}, p=${p} out of range`);
  const salt = Buffer.from(m[4] ?? "", "base64");
  const key = Buffer.from(m[5] ?? "", "base64");
  if (salt.length < 8 || key.length < 16)
    throw new PasswordHashError("salt or key too short (8 and 16 bytes at least)");
  return { N, r, p, salt, key };
}

function derive(password: string, salt: Buffer, length: number, o: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // memory: 128 * N * r bytes, with room
    scrypt(password, salt, length, { ...o, maxmem: 256 * (o.N ?? 0) * (o.r ?? 0) + 1 }, (e, k) =>
      e ? reject(e) : resolve(k),
    );
  });
}

/** A new hash of `password`, random salt. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, KEY_LENGTH, DEFAULT_PARAMS);
  const { N, r, p } = DEFAULT_PARAMS;
  return `${PASSWORD_HASH_SCHEME}$${N}$${r}$${p}$${salt.toString("base64")}$${key.toString("base64")}`;
}

/** Whether `password` matches `hash` (constant time in the comparison). */
export async function verifyPassword(password: string, hash: PasswordHash): Promise<boolean> {
  const key = await derive(password, hash.salt, hash.key.length, {
    N: hash.N,
    r: hash.r,
    p: hash.p,
  });
  return timingSafeEqual(key, hash.key);
}
