import { describe, expect, it } from "vitest";
import {
  DEFAULT_METRICS_HOST,
  MetricsConfigError,
  metricsListenerSettings,
  parseListen,
} from "../../src/broker/api/metrics-listener.js";
import { hashPassword, parsePasswordHash, verifyPassword } from "../../src/common/password-hash.js";

/** hosted-engine.conf's metrics keys (pure) and the password hash. */
describe("metrics listener settings", () => {
  it("binds 127.0.0.1 for a bare port, the address given otherwise", () => {
    expect(DEFAULT_METRICS_HOST).toBe("127.0.0.1");
    expect(parseListen("9420")).toEqual({ host: "127.0.0.1", port: 9420 });
    expect(parseListen("0.0.0.0:9420")).toEqual({ host: "0.0.0.0", port: 9420 });
    expect(parseListen("[::]:9420")).toEqual({ host: "::", port: 9420 });
    expect(() => parseListen("host:")).toThrow(/metrics_listen="host:" is not port/);
    expect(() => parseListen("70000")).toThrow(MetricsConfigError);
  });

  it("is off without metrics_listen and refuses half a pair, naming the missing key", () => {
    expect(metricsListenerSettings(new Map())).toBeNull();
    expect(metricsListenerSettings(new Map([["metrics_listen", " "]]))).toBeNull();
    const conf = (o: Record<string, string>) =>
      metricsListenerSettings(new Map(Object.entries({ metrics_listen: "9420", ...o })));
    expect(() => conf({ metrics_tls_cert: "/c" })).toThrow(/metrics_tls_key is missing/);
    expect(() => conf({ metrics_tls_key: "/k" })).toThrow(/metrics_tls_cert is missing/);
    expect(() => conf({ metrics_user: "p" })).toThrow(/metrics_password_hash is missing/);
    expect(() => conf({ metrics_user: "p", metrics_password_hash: "secret" })).toThrow(
      /metrics_password_hash: not a hash/,
    );
    expect(conf({ metrics_tls_cert: "/c", metrics_tls_key: "/k" })).toEqual({
      host: "127.0.0.1",
      port: 9420,
      tls: { certFile: "/c", keyFile: "/k" },
    });
  });

  it("never echoes a malformed hash in its error", () => {
    try {
      parsePasswordHash("scrypt$3$8$1$c2FsdHNhbHQ=$a2V5a2V5a2V5a2V5a2V5a2V5");
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toBe("N=3 is not a power of two");
    }
  });

  it("verifies the password a hash was made of, and no other", async () => {
    const hash = parsePasswordHash(await hashPassword("pa:ss wörd"));
    expect(await verifyPassword("pa:ss wörd", hash)).toBe(true);
    expect(await verifyPassword("pa:ss word", hash)).toBe(false);
    // salted: the same password hashes differently each time
    expect(await hashPassword("x")).not.toBe(await hashPassword("x"));
  });
});
