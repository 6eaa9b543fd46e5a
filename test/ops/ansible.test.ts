import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { appendFile, open, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { productArgs } from "../../lab/children.js";
import { TEST_TIMING } from "../../lab/timing.js";
import { readConfArchive } from "../../src/storage/archive/conf-archive.js";
import type { StorageInitResult } from "../../src/storage/init.js";
import { AgentHost, makeStorage, smallVmConf, startHealthServer } from "../agent/agent-host.js";
import { REPO, runTool } from "../support/run.js";
import { removeDir, tempDir } from "../support/temp.js";

/**
 * contrib/ansible run by the real `ansible-playbook` (Debian's `ansible`: ansible-core
 * and the community.general collection, whose `archive` module makes the configuration
 * archive) with a local connection against two simulated hosts on this machine: each
 * its own HE_HA_ROOT, a real sanlock daemon and a libvirtd serving the test driver, one
 * shared file storage domain. There is no systemd as PID 1 here, so the role's service
 * commands (he_ha_service_start/stop) point at test/ops/fixtures/demo-service.sh, which
 * starts and stops this checkout's compiled daemons as the demo does; on hosts they
 * default to systemctl.
 */
const PLAYBOOKS = path.join(REPO, "contrib/ansible");
const SERVICE = path.join(REPO, "test/ops/fixtures/demo-service.sh");
const HE_HA = [process.execPath, ...productArgs("he-ha")];
const TEMPLATED = new Set(["sdUUID", "spUUID", "vmid", "domain_path"]);

let dir: string;
let storage: StorageInitResult;
let health: { fqdn: string; close(): Promise<void> };
const hosts: AgentHost[] = [];
const installLog = () => path.join(dir, "installs.log");

function timing(): Record<string, string> {
  return Object.fromEntries(Object.entries(TEST_TIMING).map(([k, v]) => [k, String(v)]));
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
    he_ha_environment: { SANLOCK_RUN_DIR: h.sanlock.runDir, HE_HA_SOCKET_GROUP: "" },
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
        he_ha_service_start: `bash ${SERVICE} start {service}`,
        he_ha_service_stop: `bash ${SERVICE} stop {service}`,
        he_ha_cli: HE_HA,
        he_ha_maintenance_cli: HE_HA,
        he_ha_install_command: `echo "$HE_HA_ROOT" >> ${installLog()}`,
        he_ha_verify_retries: 60,
        he_ha_verify_delay: 1,
      },
      hosts: Object.fromEntries(hosts.map((h) => [`host${h.hostId}`, hostVars(h)])),
    },
  };
  const file = path.join(dir, `inventory-${randomUUID()}.json`);
  await writeFile(file, JSON.stringify(doc));
  return file;
}

function playbook(name: string, inv: string) {
  return runTool("ansible-playbook", ["-i", inv, path.join(PLAYBOOKS, name)], {
    env: {
      ...process.env,
      ANSIBLE_NOCOLOR: "1",
      ANSIBLE_LOCAL_TEMP: path.join(dir, "ansible-local"),
      ANSIBLE_REMOTE_TEMP: path.join(dir, "ansible-remote"),
      ANSIBLE_RETRY_FILES_ENABLED: "0",
      ANSIBLE_ROLES_PATH: path.join(PLAYBOOKS, "roles"),
    },
    hint: "install Debian package ansible (ansible-core and the community.general collection)",
  });
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

/** pid of a daemon the service script started for host `h`, or undefined */
async function daemonPid(h: AgentHost, service: string): Promise<number | undefined> {
  const text = await readFile(path.join(h.root, `${service}.pid`), "utf8").catch(() => "");
  return text.trim() ? Number(text.trim()) : undefined;
}

describe("contrib/ansible against two simulated hosts", () => {
  beforeAll(async () => {
    dir = await tempDir("ansible");
    health = await startHealthServer();
    storage = await makeStorage(dir, smallVmConf(randomUUID()));
    hosts.push(
      ...(await Promise.all(
        [1, 2].map((id) => AgentHost.create(path.join(dir, `host${id}`), id, storage, health.fqdn)),
      )),
    );
  }, 120_000);

  afterAll(async () => {
    // the daemons the playbooks started, by the pids the service script recorded
    for (const h of hosts)
      for (const s of ["ovirt-ha-agent", "ovirt-ha-broker"]) {
        const pid = await daemonPid(h, s);
        if (pid) await runTool("bash", [SERVICE, "stop", s], { env: { ...process.env, ...h.env } });
      }
    for (const h of hosts) await h.destroy();
    await health?.close();
    if (dir && !process.env.KEEP_ANSIBLE_TEST_DIR) await removeDir(dir);
  }, 120_000);

  it("deploy.yml: templates, the gzip configuration archive on the volume, services started, hosts verified", async () => {
    const r = await playbook("deploy.yml", await inventory());
    expect(r.code, r.stdout.slice(-4000)).toBe(0);
    expect(r.stdout).toMatch(/host1\s+: ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=0/);
    // the archive Ansible's archive module made: gzip, at the start of the volume
    const fh = await open(storage.volumes.conf.path, "r");
    const head = Buffer.alloc(2);
    await fh.read(head, 0, 2, 0);
    await fh.close();
    expect([...head]).toEqual([0x1f, 0x8b]);
    const archive = await readConfArchive(storage.volumes.conf.path);
    expect(archive.members["hosted-engine.conf"]).toContain(`fqdn=${health.fqdn}\n`);
    expect(archive.members["broker.conf"]).toContain("[email]");
    // read by he-ha from storage as a shared configuration value
    const fqdn = await runTool(
      HE_HA[0]!,
      [HE_HA[1]!, "config", "get", "fqdn", "--type", "he_shared", "--json"],
      {
        env: { ...process.env, ...hosts[0]!.env },
      },
    );
    expect(JSON.parse(fqdn.stdout)).toEqual({ key: "fqdn", value: health.fqdn, type: "he_shared" });
    // each host's files from the templates, and both agents publishing
    const conf = await readFile(hosts[1]!.paths.hostConf, "utf8");
    expect(conf).toMatch(/^host_id=2$/m);
    expect(conf).toContain(`libvirt_uri=${hosts[1]!.libvirtd.uri}\n`);
    // host1's agent counts host2 live once it has seen host2's block change for a while
    let s = await status(hosts[0]!);
    for (let i = 0; i < 100 && !(s["1"]?.["live-data"] && s["2"]?.["live-data"]); i++) {
      await new Promise((r) => setTimeout(r, 200));
      s = await status(hosts[0]!);
    }
    for (const id of ["1", "2"]) {
      expect(s[id]?.["live-data"], `host ${id}`).toBe(true);
      expect(s[id]?.hostname).toBe(`host${id}`);
    }
  }, 180_000);

  it("migrate.yml: global maintenance, one host at a time stop/install/start/verify, then maintenance none", async () => {
    const before = await Promise.all(hosts.map((h) => daemonPid(h, "ovirt-ha-agent")));
    const r = await playbook("migrate.yml", await inventory());
    expect(r.code, r.stdout.slice(-4000)).toBe(0);
    // one host after the other, in inventory order, each verified before the next
    expect((await readFile(installLog(), "utf8")).trim().split("\n")).toEqual(
      hosts.map((h) => h.root),
    );
    const order = [
      ...r.stdout.matchAll(
        /TASK \[hosted_engine_ha : (Install hosted-engine-ha|This host is live[^\]]*)\][\s\S]*?(?:changed|ok): \[(host\d)\]/g,
      ),
    ].map((m) => `${m[1]!.startsWith("Install") ? "install" : "verify"} ${m[2]}`);
    expect(order).toEqual(["install host1", "verify host1", "install host2", "verify host2"]);
    const after = await Promise.all(hosts.map((h) => daemonPid(h, "ovirt-ha-agent")));
    for (const [i, pid] of after.entries()) expect(pid, `host${i + 1}`).not.toBe(before[i]);
    const s = await status(hosts[1]!);
    expect(s.global_maintenance).toBe(false);
  }, 240_000);

  it("migrate.yml stops at the first failed check: later hosts untouched, the cluster left in global maintenance", async () => {
    await appendFile(installLog(), "-- failing run\n");
    const host2Agent = await daemonPid(hosts[1]!, "ovirt-ha-agent");
    const r = await playbook(
      "migrate.yml",
      await inventory({ 1: { he_ha_install_command: "echo 'no such package' >&2; exit 3" } }),
    );
    expect(r.code).not.toBe(0);
    expect(r.stdout).toContain("migration stopped at host1 (Install hosted-engine-ha");
    expect(r.stdout).toContain("the cluster stays in global maintenance");
    expect((await readFile(installLog(), "utf8")).split("-- failing run\n")[1]).toBe("");
    expect(await daemonPid(hosts[1]!, "ovirt-ha-agent")).toBe(host2Agent);
    expect((await status(hosts[1]!)).global_maintenance).toBe(true);
    expect(existsSync(path.join(hosts[0]!.root, "ovirt-ha-agent.pid"))).toBe(false);
  }, 240_000);
});
