import { chmod, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { productBin } from "../../lab/children.js";
import { pollFor, pollUntil } from "../../lab/standins/processes.js";
import { makeStorageHost, type StorageHost } from "../cli/cluster.js";
import { type BrokerProcess, startBrokerProcess } from "../support/broker-process.js";
import { REPO, runTool } from "../support/run.js";

/**
 * The log files support tools collect, written by a real broker process: the text line
 * format in /var/log/ovirt-hosted-engine-ha/broker.log (under the host's HE_HA_ROOT),
 * rotated by the real logrotate with the shipped configuration (the daemon reopening its
 * file on the postrotate SIGHUP), and collected by the real `sos report` running the
 * shipped plugin together with `he-ha status --json` and the whiteboard dump.
 *
 * What differs from a host, and why: the configuration's paths point into the host
 * root, `su vdsm kvm` becomes `su root root` (this machine has no vdsm user) and the
 * postrotate's `systemctl kill` of the units becomes `kill -HUP` of the broker's pid
 * (no systemd as PID 1 here). Everything else of the file is used as shipped.
 */
const LOGROTATE_CONF = path.join(REPO, "packaging/logrotate/hosted-engine-ha");
const SOS_PLUGIN_DIR = path.join(REPO, "packaging/sos");
const SOS_RUN = path.join(REPO, "test/ops/fixtures/sos-run.py");
const LINE =
  /^MainThread::(TRACE|DEBUG|INFO|WARNING|ERROR|CRITICAL)::\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}::[\w-]+::ovirt-ha-broker::/;

let host: StorageHost;
let broker: BrokerProcess;
let logDir: string;
let brokerLog: string;

const lines = async (file: string) =>
  (await readFile(file, "utf8").catch(() => "")).split("\n").filter(Boolean);

beforeAll(async () => {
  host = await makeStorageHost(1);
  logDir = path.join(host.root, "var/log/ovirt-hosted-engine-ha");
  brokerLog = path.join(logDir, "broker.log");
  broker = await startBrokerProcess(host.root, {
    env: { ...process.env, HE_HA_SOCKET_GROUP: "", HE_HA_LOG_DIR: logDir },
    logLevel: "debug",
    ready: "stats",
  });
}, 60_000);

afterAll(async () => {
  await broker?.stop();
  await host?.cleanup();
});

describe("the broker's log file", () => {
  it("is written in text lines a person and grep read, the journal (stdout) keeping JSON", async () => {
    const written = await pollFor(
      "broker.log to have lines",
      async () => {
        const l = await lines(brokerLog);
        return l.length >= 3 ? l : undefined;
      },
      20_000,
    );
    for (const l of written.filter((x) => x.startsWith("MainThread::"))) expect(l).toMatch(LINE);
    expect(written[0]).toMatch(LINE);
    // structured fields follow the message as key=value (host_id of the broker's child logger)
    expect(written.some((l) => / host_id=1( |$)/.test(l))).toBe(true);
    // the journal side is unchanged: JSON lines on stdout
    const stdout = (await broker.log()).split("\n").filter((l) => l.startsWith("{"));
    expect(stdout.length).toBeGreaterThan(0);
    expect(JSON.parse(stdout[0] ?? "{}")).toHaveProperty("level");
  });
});

/** The shipped logrotate configuration, pointed at this host root (see the file's header). */
async function logrotateConf(dir: string): Promise<string> {
  const shipped = await readFile(LOGROTATE_CONF, "utf8");
  expect(shipped).toMatch(/^\s*su vdsm kvm$/m);
  expect(shipped).toMatch(/^\s*\/usr\/bin\/systemctl kill --signal=HUP --kill-whom=main/m);
  const conf = shipped
    .replaceAll("/var/log/ovirt-hosted-engine-ha/", `${logDir}/`)
    .replace(/^(\s*)su vdsm kvm$/m, "$1su root root")
    .replace(/^(\s*)\/usr\/bin\/systemctl kill .*$/m, `$1kill -HUP ${broker.proc.pid}`);
  const file = path.join(dir, "logrotate.conf");
  await writeFile(file, conf);
  return file;
}

async function logrotate(conf: string, state: string, force: boolean) {
  const res = await runTool("logrotate", [...(force ? ["-f"] : []), "-s", state, conf], {
    hint: "apt-get install logrotate (scripts/setup-host.sh)",
  });
  expect(res.stderr).toBe("");
  expect(res.code).toBe(0);
}

/**
 * Waits for the broker to write into a new broker.log after a rotation (it reopened on
 * SIGHUP); an XML-RPC call makes it log a line ("xml-rpc call", debug) meanwhile.
 */
const newLines = () =>
  pollUntil(
    "the broker writing a new broker.log",
    async () => {
      await broker.client.isHostAlive();
      return (await lines(brokerLog)).length > 0;
    },
    20_000,
  );

describe("rotation by the shipped logrotate configuration", () => {
  it("rotates daily (not twice a day), the broker reopening its file on SIGHUP without losing lines", async () => {
    const work = path.join(host.root, "logrotate");
    await mkdir(work);
    const conf = await logrotateConf(work);
    const state = path.join(work, "state");
    // first run: logrotate records the file as seen today and rotates nothing
    await logrotate(conf, state, false);
    expect((await readdir(logDir)).sort()).toEqual(["broker.log"]);
    // a state saying it was rotated yesterday: daily is due
    await writeFile(state, `logrotate state -- version 2\n"${brokerLog}" 2000-1-1-0:0:0\n`);
    const before = await lines(brokerLog);
    await logrotate(conf, state, false);
    // nocreate: the broker makes the new broker.log itself when it reopens on SIGHUP,
    // which logrotate's postrotate sends and does not wait for
    await pollUntil(
      "the broker reopening broker.log after the rotation",
      async () => {
        await broker.client.isHostAlive();
        return (await readdir(logDir)).includes("broker.log");
      },
      20_000,
    );
    expect((await readdir(logDir)).sort()).toEqual(["broker.log", "broker.log.1"]);
    await newLines();
    // the rotated file holds what was there, from its first line on (nothing truncated)
    const rotated = await lines(path.join(logDir, "broker.log.1"));
    expect(rotated.slice(0, before.length)).toEqual(before);
    expect((await lines(brokerLog))[0]).toMatch(LINE);
    // run again the same day: not due
    await logrotate(conf, state, false);
    expect((await readdir(logDir)).sort()).toEqual(["broker.log", "broker.log.1"]);
  }, 60_000);

  it("keeps 7 rotated files, uncompressed, numbered as the days go back", async () => {
    const conf = path.join(host.root, "logrotate/logrotate.conf");
    const state = path.join(host.root, "logrotate/state");
    const marks: string[] = [];
    for (let i = 0; i < 9; i++) {
      await newLines();
      marks.push((await lines(brokerLog))[0] ?? "");
      await logrotate(conf, state, true);
    }
    await newLines();
    const files = (await readdir(logDir)).sort();
    expect(files).toEqual(["broker.log", ...[1, 2, 3, 4, 5, 6, 7].map((n) => `broker.log.${n}`)]);
    // broker.log.1 is the newest rotation, broker.log.7 the oldest kept
    expect((await lines(path.join(logDir, "broker.log.1")))[0]).toBe(marks[8]);
    expect((await lines(path.join(logDir, "broker.log.7")))[0]).toBe(marks[2]);
    for (const f of files) expect((await lines(path.join(logDir, f)))[0]).toMatch(LINE);
  }, 120_000);
});

describe("sos report with the shipped plugin", () => {
  it("collects agent.log/broker.log and their rotations, he-ha status --json and the whiteboard dump", async () => {
    await writeFile(
      path.join(logDir, "agent.log"),
      "MainThread::INFO::2026-12-07 20:00:00,123::agent::ovirt-ha-agent::an agent line\n",
    );
    // `he-ha` on PATH is this build, for this host root
    const bin = path.join(host.root, "bin");
    await mkdir(bin);
    await writeFile(
      path.join(bin, "he-ha"),
      `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(productBin("he-ha"))} "$@"\n`,
    );
    await chmod(path.join(bin, "he-ha"), 0o755);
    const tmp = path.join(host.root, "sos");
    await mkdir(tmp);
    const res = await runTool(
      "/usr/bin/python3",
      [
        SOS_RUN,
        SOS_PLUGIN_DIR,
        "report",
        "--batch",
        "--build",
        "--quiet",
        "-o",
        "ovirt_hosted_engine_ha_ts",
        "-s",
        host.root,
        "-c",
        "never",
        "--tmp-dir",
        tmp,
      ],
      {
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, HE_HA_ROOT: host.root },
        hint: "apt-get install sosreport (scripts/setup-host.sh)",
      },
    );
    expect(res.code, res.stderr).toBe(0);
    const [tree] = (await readdir(tmp)).filter((d) => d.startsWith("sosreport-"));
    expect(tree, `no sosreport-* directory in ${tmp}: ${res.stdout}`).toBeDefined();
    const at = (p: string) => path.join(tmp, tree ?? "", p);
    const logs = (await readdir(at("var/log/ovirt-hosted-engine-ha"))).sort();
    expect(logs).toContain("agent.log");
    expect(logs).toContain("broker.log");
    expect(logs).toContain("broker.log.7");
    expect((await lines(at("var/log/ovirt-hosted-engine-ha/broker.log.1")))[0]).toMatch(LINE);
    expect(await readFile(at("etc/ovirt-hosted-engine/hosted-engine.conf"), "utf8")).toContain(
      "host_id=1",
    );
    const cmds = at("sos_commands/ovirt_hosted_engine_ha_ts");
    const outputs = await readdir(cmds);
    const status = outputs.find((f) => f.startsWith("he-ha_status"));
    const dump = outputs.find((f) => f.startsWith("he-ha_metadata_dump"));
    expect(status, outputs.join(", ")).toBeDefined();
    expect(dump, outputs.join(", ")).toBeDefined();
    // the broker's view: the original's --vm-status --json document (global_maintenance at top level)
    expect(JSON.parse(await readFile(path.join(cmds, status ?? ""), "utf8"))).toHaveProperty(
      "global_maintenance",
    );
    // the whiteboard as read from storage
    expect(JSON.parse(await readFile(path.join(cmds, dump ?? ""), "utf8"))).toBeTruthy();
  }, 120_000);
});
