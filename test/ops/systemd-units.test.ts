import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO, runTool } from "../support/run.js";
import { removeDir, tempDir } from "../support/temp.js";

const UNITS = ["ovirt-ha-broker.service", "ovirt-ha-agent.service"];

/** `systemd-analyze` exit code and output, never throwing on a non-zero exit. */
function analyze(args: string[], cwd: string) {
  return runTool("systemd-analyze", args, { cwd, hint: "install Debian package systemd" }).then(
    (r) => ({
      code: r.code,
      out: r.stdout + r.stderr,
    }),
  );
}

/** `Key=value` lines of a unit, per section (repeated keys keep every value). */
function parseUnit(text: string): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s) {
      section = s[1] ?? "";
      continue;
    }
    const eq = line.indexOf("=");
    const k = `${section}.${line.slice(0, eq)}`;
    keys.set(k, [...(keys.get(k) ?? []), line.slice(eq + 1)]);
  }
  return keys;
}

describe("systemd units", () => {
  let dir: string;

  /**
   * `systemd-analyze verify` refuses an ExecStart= binary that does not exist: the copies
   * under test run node itself (any existing executable does). Everything else is as shipped.
   */
  beforeAll(async () => {
    dir = await tempDir("units");
    for (const unit of UNITS) {
      const text = await readFile(path.join(REPO, "systemd", unit), "utf8");
      expect(text).toMatch(/^ExecStart=\/usr\/bin\/ovirt-ha-(broker|agent)$/m);
      await writeFile(
        path.join(dir, unit),
        text
          .replace(/^ExecStart=\S+/m, `ExecStart=${process.execPath}`)
          .replace(/^ExecStartPre=-\+\S+/m, `ExecStartPre=-+${process.execPath}`),
      );
    }
  });

  afterAll(async () => {
    await removeDir(dir);
  });

  it("both pass `systemd-analyze verify` (the agent's Requires= finds the broker)", async () => {
    const res = await analyze(["verify", ...UNITS.map((u) => `./${u}`)], dir);
    expect(res.out).toBe("");
    expect(res.code).toBe(0);
  });

  it("verify fails the agent alone: its Requires= broker is missing (the check above means something)", async () => {
    const bad = path.join(dir, "broken", "ovirt-ha-agent.service");
    await mkdir(path.dirname(bad), { recursive: true });
    await copyFile(path.join(dir, "ovirt-ha-agent.service"), bad);
    const res = await analyze(["verify", "./ovirt-ha-agent.service"], path.dirname(bad));
    expect(res.code).not.toBe(0);
    expect(res.out).toMatch(/ovirt-ha-broker\.service/);
  });

  it("are Type=notify with a watchdog, restart forever, run as vdsm:kvm and share the run dir", async () => {
    for (const unit of UNITS) {
      const u = parseUnit(await readFile(path.join(REPO, "systemd", unit), "utf8"));
      const one = (k: string) => u.get(k)?.at(-1);
      expect(one("Service.Type"), unit).toBe("notify");
      expect(one("Service.NotifyAccess")).toBe("main");
      expect(one("Service.WatchdogSec")).toMatch(/^\d+s$/);
      expect(one("Service.Restart")).toBe("always");
      expect(one("Service.RestartSec")).toBe("10s");
      expect(one("Unit.StartLimitIntervalSec")).toBe("0");
      expect(one("Service.User")).toBe("vdsm");
      expect(one("Service.Group")).toBe("kvm");
      expect(one("Service.SupplementaryGroups")).toBe("sanlock libvirt");
      expect(one("Service.RuntimeDirectory")).toBe("ovirt-hosted-engine-ha");
      expect(one("Service.RuntimeDirectoryPreserve")).toBe("yes");
      expect(one("Service.LogsDirectory")).toBe("ovirt-hosted-engine-ha"); // HE_HA_LOG_DIR, writable by vdsm
      // the log file is on by default, where sos and support engineers look
      expect(u.get("Service.Environment")).toContain(
        "HE_HA_LOG_DIR=/var/log/ovirt-hosted-engine-ha",
      );
      expect(one("Service.ProtectSystem")).toBe("full");
      expect(one("Service.NoNewPrivileges")).toBe("yes");
      expect(one("Service.PrivateDevices")).toBeUndefined(); // block storage domains live in /dev
      expect(one("Service.MemoryDenyWriteExecute")).toBeUndefined(); // node's JIT
      const after = (u.get("Unit.After") ?? []).join(" ").split(/\s+/);
      for (const dep of ["network-online.target", "sanlock.service", "libvirtd.service"])
        expect(after).toContain(dep);
      expect(one("Unit.ConditionFileNotEmpty")).toBe("/etc/ovirt-hosted-engine/hosted-engine.conf");
    }
    const agent = parseUnit(
      await readFile(path.join(REPO, "systemd/ovirt-ha-agent.service"), "utf8"),
    );
    expect(agent.get("Unit.Requires")).toEqual(["ovirt-ha-broker.service"]);
    expect(agent.get("Unit.After")).toContain("ovirt-ha-broker.service");
    expect(agent.get("Unit.BindsTo")).toBeUndefined();
    // issue 12: storage connected as root before the unprivileged agent; boot never waits long
    expect(agent.get("Service.ExecStartPre")).toEqual(["-+/usr/bin/he-ha storage connect"]);
    expect(agent.get("Service.TimeoutStartSec")?.at(-1)).toMatch(/^\d+s$/);
  });

  it("are hardened: `systemd-analyze security` rates both below 5.0", async () => {
    for (const unit of UNITS) {
      const res = await analyze(["security", "--offline=yes", "--no-pager", `./${unit}`], dir);
      const m = /Overall exposure level for .*: (\d+\.\d+)/.exec(res.out);
      expect(m, res.out).not.toBeNull();
      expect(Number(m?.[1])).toBeLessThan(5);
    }
  });
});
