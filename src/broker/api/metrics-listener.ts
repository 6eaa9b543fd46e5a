import { createHash, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { throttledLogger } from "../../common/log-throttle.js";
import {
  type PasswordHash,
  PasswordHashError,
  parsePasswordHash,
  verifyPassword,
} from "../../common/password-hash.js";
import { type BrokerApiOptions, createMetricsApp } from "./server.js";

/**
 * The TCP listener of `/metrics` and `/healthz` (off unless `metrics_listen` is set in
 * hosted-engine.conf). A bare port binds 127.0.0.1 only: cluster state leaves the host
 * only when an address says so. TLS with `metrics_tls_cert`/`metrics_tls_key` (PEM
 * paths), HTTP basic auth with `metrics_user`/`metrics_password_hash` (a hash from
 * `he-ha metrics hash-password`, never the password, never logged).
 */
export const METRICS_KEYS = {
  listen: "metrics_listen",
  tlsCert: "metrics_tls_cert",
  tlsKey: "metrics_tls_key",
  user: "metrics_user",
  passwordHash: "metrics_password_hash",
} as const;

/** Where a bare `metrics_listen=<port>` binds. */
export const DEFAULT_METRICS_HOST = "127.0.0.1";
const REALM = 'Basic realm="ovirt-ha-broker metrics", charset="UTF-8"';

export interface MetricsListenerSettings {
  host: string;
  port: number;
  tls?: { certFile: string; keyFile: string };
  auth?: { user: string; hash: PasswordHash };
}

export class MetricsConfigError extends Error {
  override name = "MetricsConfigError";
}

/** Parses `port`, `host:port` or `[v6]:port` of metrics_listen; a bare port binds DEFAULT_METRICS_HOST. */
export function parseListen(value: string): { host: string; port: number } {
  const v = value.trim();
  const m = /^(?:(?:\[([^\]]+)\]|([^:[\]]+)):)?(\d{1,5})$/.exec(v);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port < 1 || port > 65535)
    throw new MetricsConfigError(
      `${METRICS_KEYS.listen}="${value}" is not port, host:port or [v6]:port`,
    );
  return { host: m[1] ?? m[2] ?? DEFAULT_METRICS_HOST, port };
}

/**
 * Pure: the listener's settings from hosted-engine.conf's keys, or null when
 * metrics_listen is empty. Half a pair (a cert without a key, a user without a hash)
 * and a malformed hash throw MetricsConfigError naming the key.
 */
export function metricsListenerSettings(
  raw: ReadonlyMap<string, string>,
): MetricsListenerSettings | null {
  const get = (k: string) => raw.get(k)?.trim() ?? "";
  const listen = get(METRICS_KEYS.listen);
  if (!listen) return null;
  const settings: MetricsListenerSettings = parseListen(listen);
  const pair = (a: string, b: string): [string, string] | undefined => {
    const [va, vb] = [get(a), get(b)];
    if (!va && !vb) return undefined;
    if (!va || !vb)
      throw new MetricsConfigError(
        `${va ? b : a} is missing (${va ? a : b} is set): set both or neither`,
      );
    return [va, vb];
  };
  const tls = pair(METRICS_KEYS.tlsCert, METRICS_KEYS.tlsKey);
  if (tls) settings.tls = { certFile: tls[0], keyFile: tls[1] };
  const auth = pair(METRICS_KEYS.user, METRICS_KEYS.passwordHash);
  if (auth) {
    if (auth[0].includes(":"))
      throw new MetricsConfigError(`${METRICS_KEYS.user} must not contain ":"`);
    try {
      settings.auth = { user: auth[0], hash: parsePasswordHash(auth[1]) };
    } catch (e) {
      if (e instanceof PasswordHashError)
        throw new MetricsConfigError(`${METRICS_KEYS.passwordHash}: ${e.message}`);
      throw e;
    }
  }
  return settings;
}

/**
 * A fastify onRequest hook answering 401 (with a Basic challenge) unless the request
 * carries the configured user and password. A verified Authorization header is
 * remembered (by its SHA-256) so a scraper costs one scrypt, not one per scrape;
 * unverified ones are checked one at a time, off the event loop.
 */
export function basicAuth(
  auth: NonNullable<MetricsListenerSettings["auth"]>,
  opts: Pick<BrokerApiOptions, "log">,
): (req: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const verified = new Set<string>();
  let queue: Promise<unknown> = Promise.resolve();
  const log = throttledLogger(opts.log.child({ component: "metrics" }), { intervalMs: 60_000 });
  const user = Buffer.from(auth.user);
  const check = async (header: string | undefined): Promise<boolean> => {
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? "");
    if (!m) return false;
    const digest = createHash("sha256")
      .update(m[1] ?? "")
      .digest("hex");
    if (verified.has(digest)) return true;
    const decoded = Buffer.from(m[1] ?? "", "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) return false;
    const given = Buffer.from(decoded.slice(0, colon));
    const userOk = given.length === user.length && timingSafeEqual(given, user);
    const run = queue.then(() => verifyPassword(decoded.slice(colon + 1), auth.hash));
    queue = run.catch(() => undefined);
    const passOk = await run;
    if (!(userOk && passOk)) return false;
    if (verified.size >= 16) verified.clear();
    verified.add(digest);
    return true;
  };
  return async (req, reply) => {
    if (await check(req.headers.authorization)) return;
    log.warn(
      "metrics-auth",
      { remote: req.ip, credentials: req.headers.authorization ? "wrong" : "missing" },
      "metrics request refused: wrong or missing credentials",
    );
    await reply.code(401).header("WWW-Authenticate", REALM).send("unauthorized\n");
  };
}

/**
 * Reads the TLS files and listens. Throws MetricsConfigError naming the file that cannot
 * be read; listen errors (EADDRINUSE, EADDRNOTAVAIL) as they are.
 */
export async function listenMetrics(
  s: MetricsListenerSettings,
  apiOpts: BrokerApiOptions,
): Promise<{ app: FastifyInstance; address: string }> {
  let https: { cert: Buffer; key: Buffer } | undefined;
  if (s.tls) {
    const read = async (key: string, file: string) =>
      readFile(file).catch((e: NodeJS.ErrnoException) => {
        throw new MetricsConfigError(`${key}=${file}: cannot read: ${e.code ?? e.message}`);
      });
    https = {
      cert: await read(METRICS_KEYS.tlsCert, s.tls.certFile),
      key: await read(METRICS_KEYS.tlsKey, s.tls.keyFile),
    };
  }
  let app: FastifyInstance;
  try {
    app = createMetricsApp(apiOpts, {
      ...(https ? { https } : {}),
      ...(s.auth ? { onRequest: basicAuth(s.auth, apiOpts) } : {}),
    });
  } catch (e) {
    // a key that does not fit the certificate, or either not PEM
    throw new MetricsConfigError(
      `${METRICS_KEYS.tlsCert}/${METRICS_KEYS.tlsKey}: ${(e as Error).message}`,
    );
  }
  try {
    const address = await app.listen({ host: s.host, port: s.port });
    return { app, address };
  } catch (e) {
    await app.close().catch(() => undefined);
    throw e;
  }
}

/**
 * The broker's metrics listener as hosted-engine.conf sets it, or none. A bad setting or
 * a failed listen is logged once, naming the key or the address, and the broker runs on
 * without the TCP listener (never plain HTTP instead of the TLS or auth asked for):
 * metrics are not worth taking HA down for.
 */
export async function startMetrics(
  raw: ReadonlyMap<string, string>,
  apiOpts: BrokerApiOptions,
): Promise<{ app?: FastifyInstance; address?: string }> {
  let settings: MetricsListenerSettings | null = null;
  try {
    settings = metricsListenerSettings(raw);
    if (!settings) return {};
    const { app, address } = await listenMetrics(settings, apiOpts);
    apiOpts.log.info(
      { address, tls: settings.tls !== undefined, basic_auth: settings.auth !== undefined },
      "metrics listening on TCP",
    );
    return { app, address };
  } catch (err) {
    apiOpts.log.error(
      { err, ...(settings ? { host: settings.host, port: settings.port } : {}) },
      "metrics not served on TCP",
    );
    return {};
  }
}
