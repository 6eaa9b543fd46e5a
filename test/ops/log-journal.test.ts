import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { distFile } from "../../lab/children.js";
import { LogFileConfigError, logFileSettings } from "../../src/common/log-file.js";
import {
  journalStreamIs,
  syslogPriority,
  withPriorityPrefix,
} from "../../src/common/log-journal.js";
import { REPO, runTool } from "../support/run.js";
import { removeDir, tempDir } from "../support/temp.js";
import { runNode } from "./harness.js";

/**
 * Journald priorities per line and the log files. The journal side is
 * tested against a real systemd-journald (Debian's systemd package) started in a private
 * mount namespace: this machine has no systemd as PID 1, so there are no units and
 * `journalctl -u` cannot be shown; `-t` (the identifier systemd-cat gives, as a unit's
 * SyslogIdentifier would) selects the same lines. The log files are written by the real
 * daemon logger in a child process.
 */
const RUN_JOURNALD = path.join(REPO, "test/ops/fixtures/journald-run.sh");

describe("journald priority prefixes (pure)", () => {
  it("maps pino levels to syslog priorities and prefixes each line", () => {
    expect([10, 20, 30, 40, 50, 60].map(syslogPriority)).toEqual([7, 7, 6, 4, 3, 2]);
    expect(withPriorityPrefix('{"level":50,"msg":"x"}\n')).toBe('<3>{"level":50,"msg":"x"}\n');
    expect(withPriorityPrefix("not json\n")).toBe("<6>not json\n");
  });

  it("recognises the journal stream only when JOURNAL_STREAM names stdout's device and inode", () => {
    const stat = { dev: 25n, ino: 123456n };
    expect(journalStreamIs("25:123456", stat)).toBe(true);
    expect(journalStreamIs("25:123457", stat)).toBe(false);
    expect(journalStreamIs("", stat)).toBe(false);
    expect(journalStreamIs("garbage", stat)).toBe(false);
    expect(journalStreamIs("25:123456", undefined)).toBe(false);
  });
});

interface JournalEntry {
  PRIORITY: string;
  MESSAGE: string;
}

/** Runs `script` (an ES module) with stdout on a real journald; returns the journal and `-p err`. */
async function underJournald(
  mode: "stream" | "plain",
  script: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ all: JournalEntry[]; err: JournalEntry[] }> {
  const dir = await tempDir("journal");
  try {
    const file = path.join(dir, "log.mjs");
    await writeFile(file, script);
    const res = await runTool(
      "unshare",
      [
        "-m",
        "--propagation",
        "private",
        "bash",
        RUN_JOURNALD,
        mode,
        "ovirt-ha-agent",
        process.execPath,
        file,
      ],
      { env: { PATH: process.env.PATH, ...env } },
    );
    expect(res.stderr.replace(/^.*\bwarn(ing)?\b.*$/gim, "").trim(), res.stderr).toBe("");
    expect(res.code).toBe(0);
    const [all = "", err = ""] = res.stdout.split("-- -p err\n");
    const parse = (t: string) =>
      t
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as JournalEntry);
    return { all: parse(all), err: parse(err) };
  } finally {
    await removeDir(dir);
  }
}

const FOUR_LEVELS = (module: string) => `import { daemonLogger } from ${JSON.stringify(module)};
const log = daemonLogger("ovirt-ha-agent", {});
log.info({ state: "EngineUp", score: 3400 }, "state changed");
log.warn("penalty");
log.error({ err: new Error("boom") }, "whiteboard write failed");
log.fatal("cannot go on");
`;

describe("a daemon's lines in a real journald", () => {
  let daemonProcess: string;
  beforeAll(() => {
    daemonProcess = distFile("src/common/daemon-process.js");
  });

  it("carry their own priority when stdout is the journal stream: `journalctl -p err` selects error and fatal", async () => {
    const { all, err } = await underJournald("stream", FOUR_LEVELS(daemonProcess));
    expect(all.map((e) => e.PRIORITY)).toEqual(["6", "4", "3", "2"]);
    // journald strips the prefix: the message is the JSON object, as before
    expect(all.map((e) => (JSON.parse(e.MESSAGE) as { msg: string }).msg)).toEqual([
      "state changed",
      "penalty",
      "whiteboard write failed",
      "cannot go on",
    ]);
    expect(err.map((e) => (JSON.parse(e.MESSAGE) as { level: number }).level)).toEqual([50, 60]);
    expect(JSON.parse(err[0]?.MESSAGE ?? "{}")).toMatchObject({ err: { message: "boom" } });
  });

  it("are written without prefixes when stdout is not the journal stream (all at journald's default priority)", async () => {
    const { all, err } = await underJournald("plain", FOUR_LEVELS(daemonProcess));
    expect(all.map((e) => e.PRIORITY)).toEqual(["6", "6", "6", "6"]);
    expect(all.every((e) => e.MESSAGE.startsWith('{"level":'))).toBe(true);
    expect(err).toEqual([]);
  });

  it("carry priorities under systemd-cat too when HE_HA_LOG_JOURNAL_PREFIX=1", async () => {
    const { err } = await underJournald("plain", FOUR_LEVELS(daemonProcess), {
      HE_HA_LOG_JOURNAL_PREFIX: "1",
    });
    expect(err.map((e) => e.PRIORITY)).toEqual(["3", "2"]);
  });
});

describe("log files", () => {
  let dir: string;
  let daemonProcess: string;
  beforeAll(async () => {
    dir = await tempDir("logfiles");
    daemonProcess = distFile("src/common/daemon-process.js");
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  it("reads HE_HA_LOG_DIR and HE_HA_LOG_FILE_FORMAT (text unless json), off without a directory", () => {
    expect(logFileSettings("ovirt-ha-agent", {})).toBeNull();
    expect(logFileSettings("ovirt-ha-agent", { HE_HA_LOG_DIR: "" })).toBeNull();
    expect(
      logFileSettings("ovirt-ha-broker", { HE_HA_LOG_DIR: "/var/log/ovirt-hosted-engine-ha" }),
    ).toEqual({ file: "/var/log/ovirt-hosted-engine-ha/broker.log", format: "text" });
    expect(
      logFileSettings("ovirt-ha-agent", { HE_HA_LOG_DIR: "/l", HE_HA_LOG_FILE_FORMAT: "JSON" }),
    ).toEqual({ file: "/l/agent.log", format: "json" });
    expect(() => logFileSettings("ovirt-ha-agent", { HE_HA_LOG_DIR: "logs" })).toThrow(
      /HE_HA_LOG_DIR="logs" is not an absolute/,
    );
    expect(() =>
      logFileSettings("ovirt-ha-agent", { HE_HA_LOG_DIR: "/l", HE_HA_LOG_FILE_FORMAT: "xml" }),
    ).toThrow(LogFileConfigError);
  });

  it("writes agent.log as text lines, or JSON lines with HE_HA_LOG_FILE_FORMAT=json; the journal gets JSON either way", async () => {
    const script = `import { daemonLogger } from ${JSON.stringify(daemonProcess)};
      const log = daemonLogger("ovirt-ha-agent", {}).child({ host_id: 2 });
      log.info({ state: "EngineUp", score: 3400 }, "Current state EngineUp");
      log.error({ err: new Error("disk gone") }, "last line");`;
    const text = path.join(dir, "text");
    const res = await runNode(script, {
      env: { HE_HA_LOG_DIR: text, HE_HA_LOG_JOURNAL_PREFIX: "1" },
    });
    expect(res.code).toBe(0);
    // stdout (the journal) carries prefixes and JSON; the file neither
    expect(res.stdout.split("\n").filter(Boolean).pop()).toMatch(/^<3>\{"level":50/);
    const lines = (await readFile(path.join(text, "agent.log"), "utf8")).split("\n");
    expect(lines[0]).toMatch(
      /^MainThread::INFO::\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}::agent::ovirt-ha-agent::Current state EngineUp host_id=2 state=EngineUp score=3400$/,
    );
    expect(lines[1]).toMatch(/::ERROR::.*::last line host_id=2 err="disk gone"$/);
    expect(lines[2]).toBe("Error: disk gone");
    const json = path.join(dir, "json");
    await runNode(script, { env: { HE_HA_LOG_DIR: json, HE_HA_LOG_FILE_FORMAT: "json" } });
    const records = (await readFile(path.join(json, "agent.log"), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(records.map((r) => [r.level, r.msg])).toEqual([
      [30, "Current state EngineUp"],
      [50, "last line"],
    ]);
  });

  it("survives SIGHUP (logrotate's postrotate) without a log file, and reopens its file with one", async () => {
    // the child waits for what it checks (the file's content), never a fixed time
    const script = `import { daemonLogger } from ${JSON.stringify(daemonProcess)};
      import { readFile, rename } from "node:fs/promises";
      const dir = process.env.HE_HA_LOG_DIR;
      const until = async (file, text) => {
        for (let i = 0; i < 1000; i++) {
          const t = await readFile(file, "utf8").catch(() => null);
          if (t !== null && t.includes(text)) return;
          await new Promise((r) => setTimeout(r, 10));
        }
        throw new Error(file + " never got " + text);
      };
      const log = daemonLogger("ovirt-ha-broker", {});
      log.info("before");
      if (dir) {
        await until(dir + "/broker.log", "before");
        await rename(dir + "/broker.log", dir + "/broker.log.1");
      }
      process.kill(process.pid, "SIGHUP");
      // reopened: the file exists again (created empty by the reopen)
      if (dir) await until(dir + "/broker.log", "");
      log.info("after");
      if (dir) await until(dir + "/broker.log", "after");`;
    const bare = await runNode(script, { env: {} });
    expect(bare.code).toBe(0);
    expect(bare.stdout).toContain('"msg":"after"');
    const logDir = path.join(dir, "hup");
    const withFile = await runNode(script, { env: { HE_HA_LOG_DIR: logDir } });
    expect(withFile.code).toBe(0);
    expect(await readFile(path.join(logDir, "broker.log.1"), "utf8")).toMatch(/::before\n$/);
    expect(await readFile(path.join(logDir, "broker.log"), "utf8")).toMatch(/::after\n$/);
  });

  it("keeps logging to the journal, with one error naming the directory, when the log directory cannot be written", async () => {
    const blocker = path.join(dir, "not-a-dir");
    await writeFile(blocker, "");
    const script = `import { daemonLogger } from ${JSON.stringify(daemonProcess)};
      const log = daemonLogger("ovirt-ha-broker", {});
      log.info("still here");`;
    const res = await runNode(script, { env: { HE_HA_LOG_DIR: path.join(blocker, "logs") } });
    expect(res.code).toBe(0);
    const lines = res.stdout
      .trim()
      .split("\n")
      .map(
        (l) =>
          JSON.parse(l) as { level: number; msg: string; path?: string; err?: { message: string } },
      );
    expect(lines.filter((l) => l.level === 50)).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 50, path: path.join(blocker, "logs", "broker.log") });
    expect(lines[0]?.err?.message).toContain(path.join(blocker, "logs"));
    expect(lines.at(-1)).toMatchObject({ msg: "still here" });
  });
});
