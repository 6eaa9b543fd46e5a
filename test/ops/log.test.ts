import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { distFile } from "../../lab/children.js";
import { createLogger, LogLevelError, resolveLogLevel } from "../../src/common/log.js";
import { runNode } from "./harness.js";

describe("resolveLogLevel", () => {
  it("prefers --log-level, then HE_HA_LOG_LEVEL, then the config file, then info", () => {
    const config = { value: "warn", source: "agent.conf [log] level" };
    expect(resolveLogLevel({ cli: "debug", env: { HE_HA_LOG_LEVEL: "error" }, config })).toBe(
      "debug",
    );
    expect(resolveLogLevel({ env: { HE_HA_LOG_LEVEL: "ERROR" }, config })).toBe("error");
    expect(resolveLogLevel({ env: {}, config })).toBe("warn");
    expect(resolveLogLevel({ env: {} })).toBe("info");
  });

  it("names where a bad level came from", () => {
    expect(() => resolveLogLevel({ env: { HE_HA_LOG_LEVEL: "chatty" } })).toThrow(LogLevelError);
    expect(() => resolveLogLevel({ env: { HE_HA_LOG_LEVEL: "chatty" } })).toThrow(
      /HE_HA_LOG_LEVEL: log level "chatty"/,
    );
    expect(() =>
      resolveLogLevel({ env: {}, config: { value: "x", source: "broker.conf" } }),
    ).toThrow(/broker\.conf/);
  });
});

describe("createLogger", () => {
  it("writes one JSON object per line with name, level, time and the structured fields", () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _e, done) {
        lines.push(...String(chunk).split("\n").filter(Boolean));
        done();
      },
    });
    const log = createLogger({
      name: "ovirt-ha-agent",
      level: "info",
      pretty: false,
      destination: sink,
      base: { host_id: 2 },
    });
    log.debug("hidden");
    log.info({ state: "EngineUp", score: 3400 }, "state changed");
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0] ?? "");
    expect(line).toMatchObject({
      name: "ovirt-ha-agent",
      level: 30,
      host_id: 2,
      state: "EngineUp",
      score: 3400,
      msg: "state changed",
    });
    expect(new Date(line.time).getTime()).not.toBeNaN();
  });

  it("prints JSON on a pipe and human text with HE_HA_LOG_PRETTY=1 (a real child process)", async () => {
    const log = distFile("src/common/log.js");
    const script = `import { createLogger } from ${JSON.stringify(log)};
      const l = createLogger({ name: "ovirt-ha-broker" });
      l.info({ host_id: 1 }, "broker started"); l.debug("debug line");`;
    const plain = await runNode(script, { env: { HE_HA_LOG_LEVEL: "info" } });
    expect(plain.code).toBe(0);
    const lines = plain.stdout.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? "")).toMatchObject({
      name: "ovirt-ha-broker",
      msg: "broker started",
      host_id: 1,
    });

    const pretty = await runNode(script, {
      env: { HE_HA_LOG_PRETTY: "1", HE_HA_LOG_LEVEL: "debug" },
    });
    expect(pretty.code).toBe(0);
    expect(pretty.stdout).toContain("broker started");
    expect(pretty.stdout).toContain("debug line");
    expect(pretty.stdout).toMatch(/INFO/);
    expect(() => JSON.parse(pretty.stdout.trim().split("\n")[0] ?? "")).toThrow();
  });
});
