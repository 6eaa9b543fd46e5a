import { createHash, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { appendFile, mkdir, open, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollUntil } from "../../lab/standins/processes.js";
import { TEST_TIMING } from "../../lab/timing.js";
import { CONF_MEMBERS, readConfArchive } from "../../src/storage/archive/conf-archive.js";
import type { StorageInitResult } from "../../src/storage/init.js";
import { AgentHost, makeStorage, smallVmConf, startHealthServer } from "../agent/agent-host.js";
import { REPO, runTool } from "../support/run.js";
import { removeDir, tempDir } from "../support/temp.js";
import { ddTarList, haCheckout, NO_HA_CHECKOUT, readWithHeconflib } from "../support/upstream.js";
import {
  HE_HA,
  PACKAGE,
  PLAYBOOKS,
  daemonPid as pidOf,
  running as runningAt,
  playbook as runPlaybook,
  SERVICE,
  SERVICES,
  standinRoleVars,
  taskOrder,
} from "./ansible-support.js";

/**
 * contrib/ansible run by the real `ansible-playbook` (Debian's `ansible`: ansible-core)
 * with a local connection against two simulated hosts on this machine: each its own
 * HE_HA_ROOT, a real sanlock daemon and a libvirtd serving the test driver, one shared
 * file storage domain. There is no systemd as PID 1 and no RPM database of the hosts
 * here, so two stand-ins play their parts (the role's commands are variables):
 * test/ops/fixtures/demo-service.sh is systemd (start, stop, what a unit runs: ours when
 * our RPM's drop-in is present, else the Python services), standin-package.sh is dnf
 * (adds or removes the drop-ins). The original Python daemons need VDSM and cannot run
 * here: the "Python services" are this checkout's daemons started under the Python
 * unit's ExecStart, so these tests show the playbooks' order and recovery (which
 * implementation each unit runs, when, and what the whiteboard shows), not the original
 * daemons themselves. The original's `hosted-engine` CLI is likewise played by `he-ha`
 * in its hosted-engine spelling (`--vm-status --json`, `--set-maintenance --mode=`).
 * The tests run in order: deploy (ours), rollback (Python), failed migrations, migrate
 * (ours), rollback (Python): the round trip Python → ours → Python.
 */
const TEMPLATED = new Set(["sdUUID", "spUUID", "vmid", "domain_path"]);
/** every key of the original's hosted-engine.conf (ovirt-hosted-engine-setup's template) */
const ORIGINAL_KEYS = [
  "fqdn",
  "vm_disk_id",
  "vm_disk_vol_id",
  "vmid",
  "storage",
  "mnt_options",
  "conf",
  "host_id",
  "console",
  "domainType",
  "spUUID",
  "sdUUID",
  "connectionUUID",
  "ca_cert",
  "ca_subject",
  "vdsm_use_ssl",
  "gateway",
  "bridge",
  "metadata_volume_UUID",
  "metadata_image_UUID",
  "lockspace_volume_UUID",
  "lockspace_image_UUID",
  "conf_volume_UUID",
  "conf_image_UUID",
  "iqn",
  "portal",
  "user",
  "password",
  "port",
];

let dir: string;
let storage: StorageInitResult;
let health: { fqdn: string; close(): Promise<void> };
let rpmFile: string;
const hosts: AgentHost[] = [];
const packageLog = () => path.join(dir, "packages.log");

function timing(): Record<string, string> {
  return Object.fromEntries(Object.entries(TEST_TIMING).map(([k, v]) => [k, String(v)]));
}

function hostEnv(h: AgentHost): Record<string, string> {
  return { SANLOCK_RUN_DIR: h.sanlock.runDir, HE_HA_SOCKET_GROUP: "" };
}

/** The inventory: both hosts on a local connection; `over` per host id. */
async function inventory(over: Record<number, Record<string, unknown>> = {}): Promise<string> {
  const archive = await readConfArchive(storage.volumes.conf.path);
  const hostVars = (h: AgentHost) => ({
    ansible_connection: "local",
    ansible_python_interpreter: "/usr/bin/python3",
    he_ha_root: h.root,
    he_ha_host_id: h.hostId,
    he_ha_libvirt_uri: h.libvirtd.uri,
    he_ha_hostname: `host${h.hostId}`,
    he_ha_environment: hostEnv(h),
    ...over[h.hostId],
  });
  const doc = {
    he_hosts: {
      vars: {
        he_ha_fqdn: health.fqdn,
        he_ha_vm_uuid: storage.vmId,
        he_ha_sd_uuid: storage.sdUUID,
        he_ha_storage: "nfs.example.com:/he",
        he_ha_domain_path: storage.domain,
        he_ha_gateway: "127.0.0.1",
        he_ha_bridge: "lo",
        he_ha_network_test: "none",
        he_ha_conf_extra: Object.fromEntries(storage.confLines.filter(([k]) => !TEMPLATED.has(k))),
        he_ha_timing: timing(),
        he_ha_vm_conf: archive.members["vm.conf"],
        // no vdsm user on this machine: the files belong to root, group kvm
        he_ha_vdsm_user: "root",
        he_ha_vdsm_group: "kvm",
        he_ha_archive_become: false,
        ...standinRoleVars({ rpmFile, packageLog: packageLog() }),
      },
      hosts: Object.fromEntries(hosts.map((h) => [`host${h.hostId}`, hostVars(h)])),
    },
  };
  const file = path.join(dir, `inventory-${randomUUID()}.json`);
  await writeFile(file, JSON.stringify(doc));
  return file;
}

function playbook(name: string, inv: string, extra: string[] = []) {
  return runPlaybook(dir, name, inv, extra);
}

async function status(
  h: AgentHost,
): Promise<Record<string, { [k: string]: unknown }> & { global_maintenance: boolean }> {
  const r = await runTool(HE_HA[0]!, [HE_HA[1]!, "status", "--json"], {
    env: { ...process.env, ...h.env },
  });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

/** until both hosts are live in `h`'s view (a restarted agent is live once seen changing) */
async function bothLive(h: AgentHost): Promise<void> {
  await pollUntil(
    `both hosts live in host${h.hostId}'s status`,
    async () => {
      const s = await status(h);
      return s["1"]?.["live-data"] === true && s["2"]?.["live-data"] === true;
    },
    60_000,
    200,
  );
}

const daemonPid = (h: AgentHost, service: string) => pidOf(h.root, service);
const running = (h: AgentHost) => runningAt(h.root);

const allPids = () => Promise.all(hosts.flatMap((h) => SERVICES.map((s) => daemonPid(h, s))));
const packageLines = async () =>
  (await readFile(packageLog(), "utf8").catch(() => "")).split("\n").filter(Boolean);

async function volumeMd5(): Promise<string> {
  return createHash("md5")
    .update(await readFile(storage.volumes.conf.path))
    .digest("hex");
}

describe("contrib/ansible against two simulated hosts", () => {
  beforeAll(async () => {
    dir = await tempDir("ansible");
    health = await startHealthServer();
    storage = await makeStorage(dir, smallVmConf(randomUUID()));
    rpmFile = path.join(dir, "hosted-engine-ha-test.x86_64.rpm");
    // where the RPM is copied (/var/tmp exists on every host)
    for (const id of [1, 2])
      await mkdir(path.join(dir, `host${id}`, "var/tmp"), { recursive: true });
    await writeFile(rpmFile, `stand-in package file ${randomUUID()}\n`);
    hosts.push(
      ...(await Promise.all(
        [1, 2].map((id) => AgentHost.create(path.join(dir, `host${id}`), id, storage, health.fqdn)),
      )),
    );
  }, 120_000);

  afterAll(async () => {
    // the daemons the playbooks started, by the pids the service stand-in recorded
    for (const h of hosts)
      for (const s of [...SERVICES].reverse())
        if (await daemonPid(h, s))
          await runTool("bash", [SERVICE, "stop", s], { env: { ...process.env, ...h.env } });
    for (const h of hosts) await h.destroy();
    await health?.close();
    if (dir && !process.env.KEEP_ANSIBLE_TEST_DIR) await removeDir(dir);
  }, 120_000);

  it("deploy.yml refuses hosts that already have hosted-engine.conf/agent.conf: nothing written, nothing started", async () => {
    const before = await volumeMd5();
    const r = await playbook("deploy.yml", await inventory());
    expect(r.code).not.toBe(0);
    expect(r.stdout).toContain(
      `host1 is already deployed (${hosts[0]!.paths.hostConf}, ${hosts[0]!.paths.agentConf} exist)`,
    );
    expect(r.stdout).toContain("set he_ha_overwrite_deployment=true");
    expect(await volumeMd5()).toBe(before);
    expect(await allPids()).toEqual([undefined, undefined, undefined, undefined]);
  }, 120_000);

  it("deploy.yml (he_ha_overwrite_deployment): the archive as the upstream role writes it, every key of the original's hosted-engine.conf, its owners and modes, both hosts verified", async () => {
    // deploy runs where our package is installed
    for (const h of hosts)
      await runTool("bash", [PACKAGE, "install", path.join(dir, "preinstall.log")], {
        env: { ...process.env, HE_HA_ROOT: h.root },
      });
    const size = (await stat(storage.volumes.conf.path)).size;
    const r = await playbook(
      "deploy.yml",
      await inventory({ 1: { he_ha_vm_disk_id: "disk-1" }, 2: { he_ha_vm_disk_id: "disk-1" } }),
      ["-e", "he_ha_overwrite_deployment=true"],
    );
    expect(r.code, r.stdout.slice(-4000)).toBe(0);
    expect(r.stdout).toMatch(/host1\s+: ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=0/);

    // a plain ustar archive, one 20480-byte record, at the start of the volume, whose
    // size is unchanged (conv=notrunc)
    const fh = await open(storage.volumes.conf.path, "r");
    const head = Buffer.alloc(20480 + 512);
    await fh.read(head, 0, head.length, 0);
    await fh.close();
    expect(head.subarray(257, 262).toString()).toBe("ustar");
    expect([...head.subarray(0, 2)]).not.toEqual([0x1f, 0x8b]);
    expect((await stat(storage.volumes.conf.path)).size).toBe(size);
    const list = await ddTarList(storage.volumes.conf.path);
    expect(list.code, list.stderr).toBe(0);
    expect(
      list.stdout
        .trim()
        .split("\n")
        .map((l) => l.split(/\s+/).pop()),
    ).toEqual(["vm.conf", "broker.conf", "version", "fhanswers.conf", "hosted-engine.conf"]);
    for (const line of list.stdout.trim().split("\n"))
      expect(line).toMatch(/^-rw-r--r-- root\/kvm /);
    const archive = await readConfArchive(storage.volumes.conf.path);
    expect(archive.compressed).toBe(false);
    expect(archive.members["broker.conf"]).toContain("[email]");

    // hosted-engine.conf, on each host and in the archive: every key of the original's
    for (const text of [
      archive.members["hosted-engine.conf"],
      await readFile(hosts[1]!.paths.hostConf, "utf8"),
    ]) {
      const keys = new Set(text.split("\n").map((l) => l.split("=")[0]));
      for (const k of ORIGINAL_KEYS) expect(keys.has(k), `key ${k}`).toBe(true);
      expect(text).toContain(`fqdn=${health.fqdn}\n`);
      expect(text).toContain("vm_disk_id=disk-1\n");
      expect(text).toContain("vdsm_use_ssl=true\n");
      expect(text).toMatch(/^connectionUUID=[0-9a-f-]{36}$/m);
    }
    const conf2 = await readFile(hosts[1]!.paths.hostConf, "utf8");
    expect(conf2).toMatch(/^host_id=2$/m);
    expect(conf2).toContain(`libvirt_uri=${hosts[1]!.libvirtd.uri}\n`);
    // the same connectionUUID on both hosts (derived from sdUUID)
    const conn = (t: string) => /^connectionUUID=(.*)$/m.exec(t)?.[1];
    expect(conn(await readFile(hosts[0]!.paths.hostConf, "utf8"))).toBe(conn(conf2));
    // owners and modes: hosted-engine.conf vdsm:kvm 0440 (here root:kvm), agent.conf 0644
    const kvm = Number((await runTool("getent", ["group", "kvm"])).stdout.split(":")[2]);
    const hc = await stat(hosts[0]!.paths.hostConf);
    expect([hc.mode & 0o777, hc.uid, hc.gid]).toEqual([0o440, 0, kvm]);
    expect((await stat(hosts[0]!.paths.agentConf)).mode & 0o777).toBe(0o644);

    // read by he-ha from storage as a shared configuration value
    const fqdn = await runTool(
      HE_HA[0]!,
      [HE_HA[1]!, "config", "get", "fqdn", "--type", "he_shared", "--json"],
      { env: { ...process.env, ...hosts[0]!.env } },
    );
    expect(JSON.parse(fqdn.stdout)).toEqual({ key: "fqdn", value: health.fqdn, type: "he_shared" });
    // both agents publishing, ours running
    await bothLive(hosts[0]!);
    const s = await status(hosts[0]!);
    for (const id of ["1", "2"]) expect(s[id]?.hostname).toBe(`host${id}`);
    for (const h of hosts) expect(await running(h)).toEqual(["ours", "ours"]);
  }, 240_000);

  it("the archive deploy.yml wrote is read by the original's own heconflib (validateConfImage, extractConfFile)", async (ctx) => {
    const checkout = haCheckout();
    if (!checkout) return ctx.skip(NO_HA_CHECKOUT);
    const read = await readWithHeconflib(checkout, storage.volumes.conf.path);
    expect(read.valid).toBe(true);
    const ours = await readConfArchive(storage.volumes.conf.path);
    for (const m of CONF_MEMBERS) expect(read.members[m], m).toBe(ours.members[m]);
    expect(read.members["hosted-engine.conf"]).toContain(`fqdn=${health.fqdn}\n`);
  }, 60_000);

  it("the keys the test expects are those of the original's template (ovirt-hosted-engine-setup)", async (ctx) => {
    const template = path.join(
      path.dirname(haCheckout() ?? "/nonexistent/x"),
      "ovirt-hosted-engine-setup/templates/hosted-engine.conf.in",
    );
    if (!existsSync(template))
      return ctx.skip(`no ovirt-hosted-engine-setup checkout next to the HA one (${template})`);
    const keys = (await readFile(template, "utf8"))
      .split("\n")
      .filter((l) => /^\w+=/.test(l))
      .map((l) => l.split("=")[0]);
    expect(keys).toEqual(ORIGINAL_KEYS);
  });

  it("the nodejs pre-check's minimum is package.json's engines.node (what the RPM requires)", async () => {
    const defaults = await readFile(
      path.join(PLAYBOOKS, "roles/hosted_engine_ha/defaults/main.yml"),
      "utf8",
    );
    const engines = JSON.parse(await readFile(path.join(REPO, "package.json"), "utf8")).engines
      .node as string;
    expect(`>=${/^he_ha_node_min: "([0-9.]+)"/m.exec(defaults)?.[1]}`).toBe(engines);
  });

  it("ansible-playbook --check runs clean on deploy.yml, migrate.yml and rollback.yml and changes nothing", async () => {
    const pids = await allPids();
    const md5 = await volumeMd5();
    const packages = await packageLines();
    const inv = await inventory();
    for (const name of ["deploy.yml", "migrate.yml", "rollback.yml"]) {
      const r = await playbook(name, inv, [
        "--check",
        ...(name === "deploy.yml" ? ["-e", "he_ha_overwrite_deployment=true"] : []),
      ]);
      expect(r.code, `${name}: ${r.stdout.slice(-4000)}`).toBe(0);
      expect(r.stdout).toMatch(/host2\s+: ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=0/);
      // the pre-checks run for real under --check
      if (name === "migrate.yml")
        expect(r.stdout).toMatch(
          /Pre-check nodejs: the package's nodejs[^\n]*\n(ok: \[host\d\]\n){2}/,
        );
    }
    expect(await allPids()).toEqual(pids);
    expect(await volumeMd5()).toBe(md5);
    expect(await packageLines()).toEqual(packages);
    for (const h of hosts)
      expect(existsSync(path.join(h.root, "var/tmp/hosted-engine-ha.rpm"))).toBe(false);
    expect((await status(hosts[0]!)).global_maintenance).toBe(false);
  }, 240_000);

  it("rollback.yml: global maintenance in effect everywhere, then host by host our package removed and the Python services started, verified with hosted-engine --vm-status", async () => {
    const r = await playbook("rollback.yml", await inventory());
    expect(r.code, r.stdout.slice(-4000)).toBe(0);
    expect(await packageLines()).toEqual(hosts.map((h) => `remove ${h.root}`));
    expect(
      taskOrder(
        r.stdout,
        /^(Global maintenance in effect|Remove hosted-engine-ha|This host is live)/,
      ),
    ).toEqual([
      "Global maintenance in effect on every host (every agent in state GlobalMaintenance) host1",
      "Global maintenance in effect on every host (every agent in state GlobalMaintenance) host2",
      "Remove hosted-engine-ha host1",
      expect.stringMatching(/^This host is live in .*--vm-status --json.* host1$/),
      "Remove hosted-engine-ha host2",
      expect.stringMatching(/^This host is live in .*--vm-status --json.* host2$/),
    ]);
    for (const h of hosts) expect(await running(h)).toEqual(["python", "python"]);
    expect((await status(hosts[1]!)).global_maintenance).toBe(false);
    await bothLive(hosts[1]!);
  }, 240_000);

  it("migrate.yml pre-checks: each failure names the check and what to fix, before anything changes", async () => {
    const pids = await allPids();
    const packages = await packageLines();
    const node = await playbook("migrate.yml", await inventory({ 1: { he_ha_node_min: "99" } }));
    expect(node.code).not.toBe(0);
    expect(node.stdout).toContain("pre-check [nodejs] failed on host1");
    expect(node.stdout).toContain("dnf module enable -y nodejs:20");
    const disk = await playbook(
      "migrate.yml",
      await inventory({ 2: { he_ha_min_free_mb: 1_000_000_000 } }),
    );
    expect(disk.code).not.toBe(0);
    expect(disk.stdout).toContain("pre-check [free disk] failed on host2");
    expect(disk.stdout).toContain("Free space there first");
    const rpm = await playbook("migrate.yml", await inventory(), [
      "-e",
      `he_ha_rpm=${path.join(dir, "missing.rpm")}`,
    ]);
    expect(rpm.code).not.toBe(0);
    expect(rpm.stdout).toContain("pre-check [RPM] failed");
    // nothing changed: no maintenance set, no package touched, no daemon restarted
    expect((await status(hosts[0]!)).global_maintenance).toBe(false);
    expect(await packageLines()).toEqual(packages);
    expect(await allPids()).toEqual(pids);
  }, 240_000);

  it("migrate.yml: a failed install leaves the Python services running on that host (never stopped), later hosts untouched, the cluster in global maintenance", async () => {
    await appendFile(packageLog(), "-- failing install\n");
    const pids = await allPids();
    const r = await playbook(
      "migrate.yml",
      await inventory({ 1: { he_ha_install_command: "echo 'no such package' >&2; exit 3" } }),
    );
    expect(r.code).not.toBe(0);
    expect(r.stdout).toContain("migration stopped at host1 (Install hosted-engine-ha");
    expect(r.stdout).toContain("no such package");
    expect(r.stdout).toContain("the Python services run again on host1");
    expect(r.stdout).toContain("the cluster stays in global maintenance");
    // host1: the partial install removed, the Python daemons never stopped; host2 untouched
    expect((await packageLines()).slice(-1)).toEqual([`remove ${hosts[0]!.root}`]);
    expect(await allPids()).toEqual(pids);
    for (const h of hosts) expect(await running(h)).toEqual(["python", "python"]);
    expect(existsSync(path.join(hosts[1]!.root, "var/tmp/hosted-engine-ha.rpm"))).toBe(false);
    expect((await status(hosts[1]!)).global_maintenance).toBe(true);
  }, 240_000);

  it("migrate.yml: ours failing to start after the switch: the rescue stops it, removes the package and starts the Python services again on that host", async () => {
    await appendFile(packageLog(), "-- failing start\n");
    const host2 = await Promise.all(SERVICES.map((s) => daemonPid(hosts[1]!, s)));
    const r = await playbook(
      "migrate.yml",
      await inventory({
        1: { he_ha_environment: { ...hostEnv(hosts[0]!), STANDIN_OURS_FAILS: "1" } },
      }),
    );
    expect(r.code).not.toBe(0);
    expect(r.stdout).toContain("migration stopped at host1 (Start ");
    expect(r.stdout).toContain("hosted-engine-ha failed to start");
    expect((await packageLines()).slice(-2)).toEqual([
      `install ${hosts[0]!.root}`,
      `remove ${hosts[0]!.root}`,
    ]);
    expect(await running(hosts[0]!)).toEqual(["python", "python"]);
    expect(await Promise.all(SERVICES.map((s) => daemonPid(hosts[1]!, s)))).toEqual(host2);
    expect((await status(hosts[1]!)).global_maintenance).toBe(true);
    await bothLive(hosts[1]!);
  }, 240_000);

  it("migrate.yml: Python → ours one host at a time (RPM copied, install before stop, switch, verified by he-ha and hosted-engine --vm-status), then maintenance none", async () => {
    await appendFile(packageLog(), "-- migration\n");
    const before = await allPids();
    const r = await playbook("migrate.yml", await inventory());
    expect(r.code, r.stdout.slice(-4000)).toBe(0);
    expect((await packageLines()).slice(-2)).toEqual(hosts.map((h) => `install ${h.root}`));
    expect(
      taskOrder(r.stdout, /^(Copy the RPM|Install hosted-engine-ha|Stop |This host is live)/),
    ).toEqual(
      ["host1", "host2"].flatMap((h) => [
        `Copy the RPM to the host ${h}`,
        `Install hosted-engine-ha (the Python services keep running) ${h}`,
        `Stop ovirt-ha-agent, ovirt-ha-broker ${h}`,
        expect.stringMatching(new RegExp(`^This host is live in .* status --json.* ${h}$`)),
        expect.stringMatching(new RegExp(`^This host is live in .*--vm-status --json.* ${h}$`)),
      ]),
    );
    for (const h of hosts) {
      expect(await running(h)).toEqual(["ours", "ours"]);
      expect(await readFile(path.join(h.root, "var/tmp/hosted-engine-ha.rpm"), "utf8")).toBe(
        await readFile(rpmFile, "utf8"),
      );
    }
    const after = await allPids();
    for (const [i, pid] of after.entries()) expect(pid).not.toBe(before[i]);
    const s = await status(hosts[1]!);
    expect(s.global_maintenance).toBe(false);
  }, 300_000);

  it("rollback.yml after migrate.yml: back to the Python services (the round trip Python → ours → Python)", async () => {
    await appendFile(packageLog(), "-- rollback\n");
    const r = await playbook("rollback.yml", await inventory());
    expect(r.code, r.stdout.slice(-4000)).toBe(0);
    expect((await packageLines()).slice(-2)).toEqual(hosts.map((h) => `remove ${h.root}`));
    for (const h of hosts) expect(await running(h)).toEqual(["python", "python"]);
    expect((await status(hosts[0]!)).global_maintenance).toBe(false);
    await bothLive(hosts[0]!);
  }, 300_000);
});
