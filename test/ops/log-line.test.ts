import { describe, expect, it } from "vitest";
import {
  asctime,
  formatJsonLine,
  formatLogLine,
  pythonLevelName,
} from "../../src/common/log-line.js";

/** The text line of agent.log/broker.log (pure): the Python services' `long` format, less lineno and funcName. */
describe("log file line format", () => {
  const at = new Date(2026, 11, 7, 20, 0, 0, 123); // local time, as Python's asctime

  it("names levels as Python's logging does, so greps for ::WARNING:: and ::CRITICAL:: still work", () => {
    expect([10, 20, 30, 40, 50, 60].map(pythonLevelName)).toEqual([
      "TRACE",
      "DEBUG",
      "INFO",
      "WARNING",
      "ERROR",
      "CRITICAL",
    ]);
    expect(asctime(at)).toBe("2026-12-07 20:00:00,123");
  });

  it("writes thread, level, time, component, logger and message, then the structured fields", () => {
    const line = formatLogLine({
      level: 30,
      time: at.toISOString(),
      pid: 42,
      name: "ovirt-ha-agent",
      host_id: 1,
      state: "EngineUp",
      score: 3400,
      msg: "Current state EngineUp",
    });
    expect(line).toBe(
      "MainThread::INFO::2026-12-07 20:00:00,123::agent::ovirt-ha-agent::Current state EngineUp host_id=1 state=EngineUp score=3400\n",
    );
  });

  it("uses a child logger's component, quotes values with spaces, keeps objects as JSON and one line per record", () => {
    const line = formatLogLine({
      level: 40,
      time: at.getTime(),
      name: "ovirt-ha-broker",
      component: "api",
      reason: 'said "no"',
      hosts: [1, 2],
      ok: false,
      msg: "two\nlines",
    });
    expect(line).toBe(
      'MainThread::WARNING::2026-12-07 20:00:00,123::api::ovirt-ha-broker::two\\nlines reason="said \\"no\\"" hosts=[1,2] ok=false\n',
    );
  });

  it("puts an error's message in the line and its stack on the lines after, as Python's traceback", () => {
    const line = formatLogLine({
      level: 50,
      time: at.toISOString(),
      name: "ovirt-ha-broker",
      err: {
        type: "Error",
        message: "EIO on metadata",
        stack: "Error: EIO on metadata\n    at read (x.js:1:1)",
      },
      msg: "read failed",
    });
    expect(line.split("\n")).toEqual([
      'MainThread::ERROR::2026-12-07 20:00:00,123::broker::ovirt-ha-broker::read failed err="EIO on metadata"',
      "Error: EIO on metadata",
      "    at read (x.js:1:1)",
      "",
    ]);
  });

  it("keeps a line that is not a JSON object as it is", () => {
    expect(formatJsonLine("plain words")).toBe("plain words\n");
    expect(formatJsonLine("[1,2]\n")).toBe("[1,2]\n");
    expect(formatJsonLine('{"level":60,"msg":"x","name":"ovirt-ha-agent"}')).toMatch(
      /^MainThread::CRITICAL::-::agent::ovirt-ha-agent::x\n$/,
    );
  });
});
