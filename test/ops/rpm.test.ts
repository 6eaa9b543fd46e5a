import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BrokerHost, startBrokerHost, waitForHosts } from "../cli/cluster.js";
import { REPO, runTool } from "../support/run.js";
import { blockInput, writeHostBlock } from "../support/whiteboard.js";

/**
 * The RPM, built here by `npm run rpm` (scripts/build-rpm.sh, Debian's rpmbuild), checked
 * with `rpm -qp`, and installed with `rpm --root --nodeps --noscripts` into a directory
 * holding only /etc/passwd and /etc/group with vdsm and kvm (what the vdsm package adds;
 * --nodeps: no EL package set exists here to satisfy its Requires; --noscripts: the
 * scriptlets call systemctl, and the root has no shell): that directory is a host laid
 * out as the package lays it out, and `rpm -V` checks it. The SRPM it also builds is
 * rebuilt with `rpmbuild --rebuild`. Its drop-ins are merged by
 * `systemd-analyze` over a re-statement of the Python package's units (the real ones are
 * not fetched here), its own broker and he-ha run from it with the bundled node_modules,
 * and VDSM's four HAClient calls, re-stated in test/python/haclient_calls.py (the
 * original library cannot be fetched where the tests run), work against that broker.
 */
const VERSION = JSON.parse(await readFile(path.join(REPO, "package.json"), "utf8"))
  .version as string;
const UNITS = ["ovirt-ha-broker.service", "ovirt-ha-agent.service"];
/** package.json's engines.node ">=X.Y": the RPM requires nodejs >= 1:X.Y */
const NODE_MIN = /^>=\s*([0-9.]+)$/.exec(
  JSON.parse(await readFile(path.join(REPO, "package.json"), "utf8")).engines.node as string,
)![1]!;

/** The Python package's units as it installs them (only the keys that matter here). */
const PYTHON_UNITS: Record<string, string> = {
  "ovirt-ha-broker.service": `[Unit]
Description=oVirt Hosted Engine High Availability Communications Broker
ConditionFileNotEmpty=/etc/ovirt-hosted-engine/hosted-engine.conf
[Service]
EnvironmentFile=-/etc/sysconfig/ovirt-ha-broker
ExecStart=/usr/share/ovirt-hosted-engine-ha/ovirt-ha-broker
Restart=on-failure
StandardOutput=null
User=vdsm
Group=kvm
RuntimeDirectory=ovirt-hosted-engine-ha
RuntimeDirectoryMode=0755
[Install]
WantedBy=multi-user.target
`,
  "ovirt-ha-agent.service": `[Unit]
Description=oVirt Hosted Engine High Availability Monitoring Agent
Wants=ovirt-ha-broker.service
After=ovirt-ha-broker.service
ConditionFileNotEmpty=/etc/ovirt-hosted-engine/hosted-engine.conf
[Service]
EnvironmentFile=-/etc/sysconfig/ovirt-ha-agent
ExecStart=/usr/share/ovirt-hosted-engine-ha/ovirt-ha-agent
RestartSec=10s
Restart=always
StandardOutput=null
User=vdsm
Group=kvm
[Install]
WantedBy=multi-user.target
Also=ovirt-ha-broker.service
`,
};

let work: string;
let rpmFile: string;
let srpmFile: string;
let hostRoot: string;

async function rpmQuery(...args: string[]): Promise<string> {
  const r = await runTool("rpm", ["-qp", ...args, rpmFile]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

describe("the RPM", () => {
  beforeAll(async () => {
    // tmpfs when there is one: the build writes ~200 MB of small files (8 s there, 25 s+ on
    // this machine's disk when others load it); so not tempDir (test/support/temp.ts),
    // which is always os.tmpdir()
    work = await mkdtemp(
      path.join(existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir(), "he-ha-rpm-"),
    );
    const out = path.join(work, "build");
    const b = await runTool("bash", [path.join(REPO, "scripts/build-rpm.sh")], {
      env: { ...process.env, HE_HA_RPM_OUT: out, HE_HA_RPM_SKIP_BUILD: "1" },
    });
    expect(b.code, b.stderr).toBe(0);
    rpmFile = path.join(out, "RPMS/x86_64", `hosted-engine-ha-${VERSION}-1.el9.x86_64.rpm`);
    srpmFile = path.join(out, "SRPMS", `hosted-engine-ha-${VERSION}-1.el9.src.rpm`);
    expect(b.stdout.trim().split("\n")).toEqual([rpmFile, srpmFile]);
    hostRoot = path.join(work, "host");
    await mkdir(path.join(hostRoot, "etc"), { recursive: true });
    await writeFile(
      path.join(hostRoot, "etc/passwd"),
      "root:x:0:0:root:/root:/bin/bash\nvdsm:x:36:36:Node Virtualization Manager:/:/sbin/nologin\n",
    );
    await writeFile(path.join(hostRoot, "etc/group"), "root:x:0:\nkvm:x:36:qemu,sanlock\n");
    const i = await runTool("rpm", ["--root", hostRoot, "-i", "--nodeps", "--noscripts", rpmFile]);
    expect(i.code, i.stderr).toBe(0);
  }, 180_000);
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("requires the Python package (VDSM's HAClient), nodejs >= package.json's engines.node, sanlock, libvirt and systemd; carries a dist tag", async () => {
    const requires = (await rpmQuery("--requires")).split("\n").map((l) => l.trim());
    expect(NODE_MIN).toMatch(/^20\./);
    for (const r of [
      "ovirt-hosted-engine-ha",
      `nodejs >= 1:${NODE_MIN}`,
      "sanlock",
      "sanlock-lib",
      "libvirt-daemon",
      "libvirt-libs",
      "libvirt-client",
      "systemd",
    ])
      expect(requires).toContain(r);
    // nothing generated from this Debian build machine's libraries
    expect(requires.filter((r) => r.includes(".so"))).toEqual([]);
    expect(await rpmQuery("--queryformat", "%{RELEASE}")).toBe("1.el9");
    const provides = (await rpmQuery("--provides")).trim().split("\n");
    expect(provides).toContain(`hosted-engine-ha = ${VERSION}-1.el9`);
    expect(provides).toContain("ovirt-ha-agent-implementation = typescript");
  });

  it("ships the code with production node_modules only, he-ha, the two drop-ins and %config(noreplace) sysconfig files", async () => {
    const files = (await rpmQuery("--list")).trim().split("\n");
    for (const f of [
      "/usr/bin/he-ha",
      "/usr/libexec/hosted-engine-ha/ovirt-ha-agent",
      "/usr/libexec/hosted-engine-ha/ovirt-ha-broker",
      "/usr/lib/hosted-engine-ha/package.json",
      "/usr/lib/hosted-engine-ha/dist/build-info.json",
      "/usr/lib/hosted-engine-ha/dist/src/bin/ovirt-ha-agent.js",
      "/usr/lib/hosted-engine-ha/node_modules/pino/package.json",
      "/usr/lib/systemd/system/ovirt-ha-agent.service.d/50-hosted-engine-ha.conf",
      "/usr/lib/systemd/system/ovirt-ha-broker.service.d/50-hosted-engine-ha.conf",
      "/etc/sysconfig/ovirt-ha-agent",
      "/etc/sysconfig/ovirt-ha-broker",
      "/etc/logrotate.d/hosted-engine-ha",
      "/usr/lib/python3.9/site-packages/sos/report/plugins/ovirt_hosted_engine_ha_ts.py",
      "/usr/share/hosted-engine-ha/selinux/hosted-engine-ha-killpath.te",
      "/usr/lib/hosted-engine-ha/contrib/prometheus-scrape.yml",
      "/usr/lib/firewalld/services/ovirt-ha-metrics.xml",
    ])
      expect(files).toContain(f);
    // the native part comes built: koffi's .node is in the package
    expect(files).toContain(
      "/usr/lib/hosted-engine-ha/node_modules/@koromix/koffi-linux-x64/linux_x64/koffi.node",
    );
    // no dev dependency: test tools, and the libvirt binding only the tests use (with
    // the tsx and esbuild it pulled in)
    for (const dev of [
      "vitest",
      "typescript",
      "@biomejs",
      "@types",
      "smtp-server",
      "@unraid",
      "tsx",
      "esbuild",
      "@esbuild",
    ])
      expect(files.filter((f) => f.includes(`/node_modules/${dev}/`))).toEqual([]);
    // the lab (demo, real-daemon harness) and the benchmarks are not part of the product
    expect(files.filter((f) => /\/hosted-engine-ha\/(dist\/)?(lab|bench|test)\//.test(f))).toEqual(
      [],
    );
    // never the Python package's own files: the units and agent.conf stay its own
    expect(files).not.toContain("/usr/lib/systemd/system/ovirt-ha-agent.service");
    expect(files.filter((f) => f.startsWith("/etc/ovirt-hosted-engine"))).toEqual([]);
    const config = (await rpmQuery("--configfiles")).trim().split("\n");
    expect(config.sort()).toEqual([
      "/etc/logrotate.d/hosted-engine-ha",
      "/etc/sysconfig/ovirt-ha-agent",
      "/etc/sysconfig/ovirt-ha-broker",
    ]);
    const noreplace = await rpmQuery("--queryformat", "[%{FILENAMES} %{FILEFLAGS:fflags}\n]");
    expect(noreplace).toMatch(/^\/etc\/sysconfig\/ovirt-ha-agent cn$/m);
    expect(noreplace).toMatch(/^\/etc\/logrotate\.d\/hosted-engine-ha cn$/m);
  });

  it("bundles a native module that loads on EL 8 and 9 (koffi: glibc <= 2.28, libstdc++ <= 3.4.25)", async () => {
    const node = path.join(
      hostRoot,
      "usr/lib/hosted-engine-ha/node_modules/@koromix/koffi-linux-x64/linux_x64/koffi.node",
    );
    const dump = await runTool("objdump", ["-T", node], {
      hint: "install Debian package binutils",
    });
    expect(dump.code).toBe(0);
    const versions = (prefix: string) =>
      [...dump.stdout.matchAll(new RegExp(`\\b${prefix}_([0-9.]+)`, "g"))].map((m) =>
        m[1]!.split(".").map(Number),
      );
    const atMost = (v: number[], max: number[]) =>
      v[0]! < max[0]! ||
      (v[0] === max[0] &&
        ((v[1] ?? 0) < max[1]! || (v[1] === max[1] && (v[2] ?? 0) <= (max[2] ?? 0))));
    expect(versions("GLIBC").length).toBeGreaterThan(0);
    for (const v of versions("GLIBC")) expect(atMost(v, [2, 28]), `GLIBC ${v}`).toBe(true);
    for (const v of versions("GLIBCXX")) expect(atMost(v, [3, 4, 25]), `GLIBCXX ${v}`).toBe(true);
  });

  it("rpm -V is clean after install: every file as packaged, the state and log directories vdsm:kvm with the modes the units set", async () => {
    const verify = () => runTool("rpm", ["--root", hostRoot, "-V", "--nodeps", "hosted-engine-ha"]);
    const clean = await verify();
    expect(clean.stdout).toBe("");
    expect(clean.code).toBe(0);
    // the modes the units give these directories (systemd/*.service) are the packaged ones
    const unit = await readFile(path.join(REPO, "systemd/ovirt-ha-agent.service"), "utf8");
    const mode = (key: string) => new RegExp(`^${key}=(\\d+)$`, "m").exec(unit)?.[1];
    const owned = await rpmQuery(
      "--queryformat",
      "[%{FILEMODES:octal} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILENAMES}\n]",
    );
    const row = (dir: string) => owned.split("\n").find((l) => l.endsWith(` ${dir}`));
    expect(row("/var/lib/ovirt-hosted-engine-ha")).toBe(
      `4${mode("StateDirectoryMode")} vdsm:kvm /var/lib/ovirt-hosted-engine-ha`,
    );
    expect(row("/var/log/ovirt-hosted-engine-ha")).toBe(
      `4${mode("LogsDirectoryMode")} vdsm:kvm /var/log/ovirt-hosted-engine-ha`,
    );
    expect(row("/run/ovirt-hosted-engine-ha")).toBe(
      `4${mode("RuntimeDirectoryMode")} vdsm:kvm /run/ovirt-hosted-engine-ha`,
    );
    // and rpm -V notices when a directory's mode differs (as it would if they did not match)
    await chmod(path.join(hostRoot, "var/lib/ovirt-hosted-engine-ha"), 0o755);
    const changed = await verify();
    await chmod(path.join(hostRoot, "var/lib/ovirt-hosted-engine-ha"), 0o750);
    expect(changed.stdout).toMatch(/^\.M\.+\s+\/var\/lib\/ovirt-hosted-engine-ha$/m);
  });

  it("builds as an SRPM (the spec and the staged tree) that rpmbuild --rebuild turns into the same package", async () => {
    const srcFiles = (await runTool("rpm", ["-qpl", srpmFile])).stdout.trim().split("\n");
    expect(srcFiles).toEqual([`hosted-engine-ha-${VERSION}.tar.gz`, "hosted-engine-ha.spec"]);
    const top = path.join(work, "rebuild");
    const load = (
      await runTool("rpm", ["--eval", "%{?systemd_postun_with_restart:defined}"])
    ).stdout.includes("defined")
      ? []
      : ["--load", path.join(REPO, "packaging/rpm/macros.systemd-fallback")];
    const r = await runTool("rpmbuild", [
      "--rebuild",
      "--nodeps",
      "--quiet",
      ...load,
      "--define",
      `_topdir ${top}`,
      "--define",
      "dist .el9",
      "--define",
      "_build_id_links none",
      srpmFile,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const rebuilt = path.join(top, "RPMS/x86_64", path.basename(rpmFile));
    const list = async (f: string) => (await runTool("rpm", ["-qpl", f])).stdout;
    expect(await list(rebuilt)).toBe(await list(rpmFile));
    const req = async (f: string) => (await runTool("rpm", ["-qp", "--requires", f])).stdout;
    expect(await req(rebuilt)).toBe(await req(rpmFile));
  }, 180_000);

  it("has scriptlets that reload systemd, stop on erase, restart on upgrade, and never preset or disable the Python units", async () => {
    const scripts = await rpmQuery("--scripts");
    const section = (name: string) =>
      scripts.split(/^(?=\w+ scriptlet)/m).find((s) => s.startsWith(name)) ?? "";
    expect(section("postinstall")).toContain("systemctl daemon-reload");
    expect(section("preuninstall")).toMatch(
      /if \[ \$1 -eq 0 \] ; then[\s\S]*systemctl --no-reload stop ovirt-ha-broker\.service ovirt-ha-agent\.service/,
    );
    expect(section("postuninstall")).toContain("systemctl daemon-reload");
    expect(section("postuninstall")).toMatch(
      /if \[ \$1 -ge 1 \] ; then systemctl try-restart ovirt-ha-broker\.service ovirt-ha-agent\.service/,
    );
    expect(scripts).not.toMatch(/preset|disable/);
  });

  it("takes over the Python units: systemd merges the drop-ins (ExecStart, Type=notify, journal, hardening)", async () => {
    const units = path.join(work, "units");
    await mkdir(units, { recursive: true });
    const fakePython = path.join(work, "python-daemon");
    await writeFile(fakePython, "#!/bin/sh\n");
    await chmod(fakePython, 0o755);
    for (const unit of UNITS) {
      const dropin = await readFile(
        path.join(hostRoot, "usr/lib/systemd/system", `${unit}.d/50-hosted-engine-ha.conf`),
        "utf8",
      );
      expect(dropin).toMatch(/^ExecStart=\nExecStart=\/usr\/libexec\/hosted-engine-ha\/ovirt-ha-/m);
      expect(dropin).not.toContain("[Install]");
      expect(dropin).toMatch(/^Type=notify$/m);
      expect(dropin).toMatch(/^StandardOutput=journal$/m);
      // verify insists that executables exist: the installed ones, under the host root
      await writeFile(
        path.join(units, unit),
        PYTHON_UNITS[unit]!.replace(/^ExecStart=.*$/m, `ExecStart=${fakePython}`),
      );
      await mkdir(path.join(units, `${unit}.d`), { recursive: true });
      await writeFile(
        path.join(units, `${unit}.d`, "50-hosted-engine-ha.conf"),
        dropin.replaceAll("ExecStart=/usr/libexec/", `ExecStart=${hostRoot}/usr/libexec/`),
      );
    }
    const verify = await runTool("systemd-analyze", ["verify", ...UNITS.map((u) => `./${u}`)], {
      cwd: units,
    });
    expect(verify.stderr.split("\n").filter((l) => /ovirt-ha/.test(l))).toEqual([]);
    expect(verify.code).toBe(0);
    // the Python unit alone rates UNSAFE; merged with the drop-in it is our hardened unit
    const security = async () =>
      (
        await runTool(
          "systemd-analyze",
          ["security", "--offline=yes", "--no-pager", "./ovirt-ha-agent.service"],
          {
            cwd: units,
          },
        )
      ).stdout;
    expect(await security()).toMatch(
      /Overall exposure level for ovirt-ha-agent\.service: [0-4]\.\d/,
    );
    await rm(path.join(units, "ovirt-ha-agent.service.d"), { recursive: true });
    expect(await security()).toMatch(
      /Overall exposure level for ovirt-ha-agent\.service: (9|10)\.\d UNSAFE/,
    );
  });

  describe("on a host laid out by the package", () => {
    let broker: BrokerHost;
    const installed = () => path.join(hostRoot, "usr/lib/hosted-engine-ha/dist/src/bin");
    beforeAll(async () => {
      // the packaged broker, resolving its modules from the package's own node_modules
      broker = await startBrokerHost(1, undefined, path.join(installed(), "ovirt-ha-broker.js"));
      // the state directory the Python package ships (ha.conf, broker.conf live there)
      await mkdir(path.join(broker.root, "var/lib/ovirt-hosted-engine-ha"), { recursive: true });
      await writeHostBlock(broker.volumes.metadata, blockInput(1, { score: 3400 }));
      await writeHostBlock(broker.volumes.metadata, blockInput(2, { score: 2400 }));
      await broker.client.pushHostsState([1]);
      await waitForHosts(broker.client, [1, 2]);
    }, 60_000);
    afterAll(async () => {
      await broker?.stop();
    });

    it("runs its own broker and he-ha from /usr/lib/hosted-engine-ha (no checkout on the module path)", async () => {
      expect(existsSync(path.join(hostRoot, "usr/lib/hosted-engine-ha/node_modules/fastify"))).toBe(
        true,
      );
      const heHa = path.join(hostRoot, "usr/bin/he-ha");
      const r = await runTool(process.execPath, [heHa, "status", "--summary", "--json"], {
        cwd: "/",
        env: { PATH: process.env.PATH, HE_HA_ROOT: broker.root },
      });
      expect(r.stderr).toBe("");
      expect(JSON.parse(r.stdout)).toMatchObject({ hosts: 2, live_hosts: 1 });
      const v = await runTool(process.execPath, [heHa, "--version"], { cwd: "/" });
      expect(v.stdout).toBe(`he-ha ${VERSION} (hosted-engine-ha)\n`);
    });

    it("answers VDSM's HAClient calls: get_local_host_id, is_deployed, get_all_stats, set_maintenance_mode", async () => {
      const r = await runTool(
        "/usr/bin/python3",
        [path.join(REPO, "test/python/haclient_calls.py"), broker.root],
        { cwd: "/" },
      );
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out.get_local_host_id).toBe(1);
      expect(out.is_deployed).toBe(true);
      expect(out.get_all_stats["1"]).toMatchObject({
        "host-id": "1",
        score: "3400",
        "live-data": true,
      });
      expect(out.get_all_stats["2"]).toMatchObject({
        "host-id": "2",
        score: "2400",
        "live-data": false,
      });
      expect(out.set_maintenance_mode_global).toBe("ok");
      expect(out.get_all_stats_after_global.global).toBe("maintenance=True");
      expect(out.ha_conf_after_local).toContain("local_maintenance=True\n");
      // the packaged he-ha sees what VDSM did
      const s = await runTool(
        process.execPath,
        [path.join(hostRoot, "usr/bin/he-ha"), "status", "--json"],
        { env: { PATH: process.env.PATH, HE_HA_ROOT: broker.root } },
      );
      expect(JSON.parse(s.stdout).global_maintenance).toBe(true);
    });
  });
});
