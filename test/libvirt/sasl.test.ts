import { execFile } from "node:child_process";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Libvirtd } from "../../lab/standins/libvirtd.js";
import { killScriptText, writeKillScript } from "../../src/agent/kill-path.js";
import { LibvirtVm } from "../../src/agent/libvirt-vm.js";
import { createMonitor } from "../../src/broker/monitors/registry.js";
import { hostConfigFrom } from "../../src/common/host-config.js";
import { withAuthfile } from "../../src/common/libvirt-auth-uri.js";
import { silentLogger } from "../../src/common/log.js";
import { haPaths } from "../../src/common/paths.js";
import { HypervisorConnection, HypervisorUnavailableError } from "../../src/libvirt/hypervisor.js";
import type { VmConf } from "../../src/storage/ovf/vmconf-types.js";
import { AgentHost, makeStorage, startHealthServer } from "../agent/agent-host.js";
import { TEST_DRIVER_DOMAIN_UUID, waitFor } from "../broker/monitors-support.js";
import { runHeHa } from "../cli/harness.js";
import { removeDir, tempDir } from "../support/temp.js";

/**
 * A real libvirtd configured as VDSM configures oVirt hosts: `auth_unix_rw = "sasl"`,
 * one SASL user (`vdsm@ovirt`) in a private sasldb made with saslpasswd2. Every libvirt
 * client of ours must be refused without the credentials and work with the authfile
 * that hosted-engine.conf names (default: virsh_auth.conf beside it).
 */
const run = promisify(execFile);
const ENGINE_VM = "b4c1a7e2-3f5d-4a6b-9c8d-7e6f5a4b3c2d";
let dir: string;
let libvirtd: Libvirtd;

/** virsh with stdin closed (it would prompt for a user name otherwise) */
async function virsh(uri: string, args: string[]): Promise<{ ok: boolean; out: string }> {
  const p = run("virsh", ["-c", uri, ...args], { timeout: 20_000 });
  p.child.stdin?.end();
  return p.then(
    (r) => ({ ok: true, out: r.stdout }),
    (e: { stderr?: string; message: string }) => ({ ok: false, out: e.stderr ?? e.message }),
  );
}

const domainXml = (uuid: string) =>
  `<domain type='test'><name>he-${uuid.slice(0, 8)}</name><uuid>${uuid}</uuid><memory unit='MiB'>512</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>`;

/** HostConfig as hosted-engine.conf at `confFile` gives it */
function hostConf(confFile: string, extra: [string, string][] = []) {
  return hostConfigFrom(
    new Map([["host_id", "1"], ["vmid", ENGINE_VM], ["libvirt_uri", libvirtd.uri], ...extra]),
    confFile,
  );
}

beforeAll(async () => {
  dir = await tempDir("sasl");
  libvirtd = await Libvirtd.start({
    dir: path.join(dir, "libvirt"),
    sasl: { user: "vdsm@ovirt", password: "pass with spaces & :colons" },
  });
}, 60_000);

afterAll(async () => {
  await libvirtd?.stop();
  await removeDir(dir);
});

describe("libvirtd with auth_unix_rw = sasl", () => {
  it("refuses virsh without credentials and accepts it with the authfile in the URI", async () => {
    const bare = await virsh(libvirtd.uri, ["list", "--all"]);
    expect(bare.ok).toBe(false);
    expect(bare.out).toMatch(/authentication failed/);
    const authed = await virsh(withAuthfile(libvirtd.uri, libvirtd.authfile), ["list", "--all"]);
    expect(authed.out).toMatch(/test\s+running/);
  });

  it("refuses a wrong password", async () => {
    const wrong = path.join(dir, "wrong.conf");
    await writeFile(
      wrong,
      (await readFile(libvirtd.authfile, "utf8")).replace(/^password=.*$/m, "password=nope"),
    );
    expect((await virsh(withAuthfile(libvirtd.uri, wrong), ["list"])).ok).toBe(false);
  });

  it("hosted-engine.conf: the URI carries virsh_auth.conf beside it by default, libvirt_authfile overrides, empty means none", () => {
    const conf = "/srv/h1/etc/ovirt-hosted-engine/hosted-engine.conf";
    expect(hostConf(conf).libvirtUri).toBe(
      `${libvirtd.uri}&authfile=/srv/h1/etc/ovirt-hosted-engine/virsh_auth.conf`,
    );
    expect(
      hostConfigFrom(new Map([["host_id", "1"]]), "/etc/ovirt-hosted-engine/hosted-engine.conf")
        .libvirtUri,
    ).toBe("qemu:///system?authfile=/etc/ovirt-hosted-engine/virsh_auth.conf");
    expect(hostConf(conf, [["libvirt_authfile", "/x/a b.conf"]]).libvirtUri).toBe(
      `${libvirtd.uri}&authfile=/x/a%20b.conf`,
    );
    expect(hostConf(conf, [["libvirt_authfile", ""]]).libvirtUri).toBe(libvirtd.uri);
  });

  it("the agent's LibvirtVm is refused without credentials and starts, reads and stops the VM with them", async () => {
    const noAuth = new LibvirtVm({
      uri: hostConf("/nowhere/hosted-engine.conf").libvirtUri,
      vmId: ENGINE_VM,
      domainXml: () => domainXml(ENGINE_VM),
      log: silentLogger,
    });
    const refused = await noAuth.isActive().catch((e: Error) => e);
    expect(refused).toBeInstanceOf(HypervisorUnavailableError);
    // libvirt's own words, and no prompt on the terminal
    expect((refused as Error).message).toMatch(/authentication failed/);
    await noAuth.close();

    const vm = new LibvirtVm({
      uri: hostConf("x", [["libvirt_authfile", libvirtd.authfile]]).libvirtUri,
      vmId: ENGINE_VM,
      domainXml: () => domainXml(ENGINE_VM),
      log: silentLogger,
    });
    try {
      expect(await vm.isActive()).toBe(false);
      await vm.start({} as VmConf, []);
      expect(await vm.isActive()).toBe(true);
      expect((await virsh(libvirtd.authUri, ["domstate", ENGINE_VM])).out.trim()).toBe("running");
      await vm.powerOff();
      expect(await vm.isActive()).toBe(false);
    } finally {
      await vm.close();
    }
  });

  it("the broker's engine-health monitor reads the VM through the authfile URI, and not without it", async () => {
    const values: string[] = [];
    for (const authfile of ["", libvirtd.authfile]) {
      const hv = new HypervisorConnection(
        hostConf("x", [["libvirt_authfile", authfile]]).libvirtUri,
        silentLogger,
        { minBackoffMs: 0 },
      );
      const m = createMonitor(
        "engine-health",
        { vm_uuid: TEST_DRIVER_DOMAIN_UUID, health_url: "http://127.0.0.1:9/" },
        { log: silentLogger, intervalSeconds: 0.05, hypervisor: hv },
      );
      m.start();
      try {
        values.push(await waitFor(() => m.value() ?? undefined, 15_000, "a value"));
      } finally {
        await m.stop();
        await hv.close();
      }
    }
    expect(JSON.parse(values[0] ?? "")).toMatchObject({ vm: "unknown", health: "unknown" });
    expect(JSON.parse(values[1] ?? "")).toMatchObject({ vm: "up", detail: "Up" });
  });

  it("the sanlock kill-path script destroys the engine VM with the credentials, and cannot without", async () => {
    const xmlFile = path.join(dir, "vm.xml");
    await writeFile(xmlFile, domainXml(ENGINE_VM));
    expect((await virsh(libvirtd.authUri, ["create", xmlFile])).ok).toBe(true);

    const script = run("sh", ["-c", killScriptText(libvirtd.uri, ENGINE_VM)], { timeout: 20_000 });
    script.child.stdin?.end();
    const bare = await script.then(
      () => "ran",
      (e: { stderr: string }) => e.stderr,
    );
    expect(bare).toMatch(/authentication failed/);
    expect((await virsh(libvirtd.authUri, ["domstate", ENGINE_VM])).out.trim()).toBe("running");

    const runDir = path.join(dir, "run");
    const kp = await writeKillScript(
      runDir,
      hostConf("x", [["libvirt_authfile", libvirtd.authfile]]).libvirtUri,
      ENGINE_VM,
    );
    const killed = run(kp.path, kp.args, { timeout: 20_000 });
    killed.child.stdin?.end();
    await killed;
    expect((await virsh(libvirtd.authUri, ["domstate", ENGINE_VM])).ok).toBe(false);
  });

  it("he-ha vm shutdown reaches the VM with the default authfile and fails clearly without it", async () => {
    const root = path.join(dir, "root");
    const conf = haPaths(root).hostConf;
    await mkdir(path.dirname(conf), { recursive: true });
    const base = `host_id=1\nvmid=${ENGINE_VM}\nlibvirt_uri=${libvirtd.uri}\nfqdn=engine.invalid\nsdUUID=5f2b9c1e-3a4d-4e6f-8a9b-0c1d2e3f4a5b\nstorage=nfs.example.com:/he\n`;
    const xmlFile = path.join(dir, "vm.xml");
    await writeFile(xmlFile, domainXml(ENGINE_VM));
    expect((await virsh(libvirtd.authUri, ["create", xmlFile])).ok).toBe(true);

    // no virsh_auth.conf beside hosted-engine.conf: refused, and the message says where
    await writeFile(conf, base);
    const refused = await runHeHa(root, ["vm", "shutdown"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/virsh_auth\.conf/);
    expect((await virsh(libvirtd.authUri, ["domstate", ENGINE_VM])).out.trim()).toBe("running");

    // oVirt's file in its place: works with no setting at all
    await copyFile(libvirtd.authfile, path.join(path.dirname(conf), "virsh_auth.conf"));
    const ok = await runHeHa(root, ["vm", "shutdown", "--json"]);
    expect(ok.stderr).toBe("");
    expect(JSON.parse(ok.stdout)).toMatchObject({ result: "shutdown-requested" });
    expect((await virsh(libvirtd.authUri, ["domstate", ENGINE_VM])).ok).toBe(false);
  }, 60_000);
});

describe("ovirt-ha-agent and ovirt-ha-broker against a libvirtd with SASL", () => {
  it("reach EngineUp with oVirt's default authfile and nothing in hosted-engine.conf", async () => {
    const health = await startHealthServer();
    const storage = await makeStorage(path.join(dir, "daemons"));
    const host = await AgentHost.create(
      path.join(dir, "daemons", "host1"),
      1,
      storage,
      health.fqdn,
      {
        sasl: true,
      },
    );
    try {
      expect(await readFile(host.paths.hostConf, "utf8")).not.toContain("authfile");
      await host.startBroker();
      await host.startAgent();
      const block = await host.waitState("EngineUp", 120_000);
      expect(block.engineStatus).toMatchObject({ vm: "up", health: "good" });
      expect(await host.vmState()).toBe("running");
      // and nothing reaches it without the credentials
      expect((await virsh(host.libvirtd.uri, ["list"])).ok).toBe(false);
      expect(await host.agentLog()).not.toContain("cannot connect to the hypervisor");
    } finally {
      await host.destroy();
      await health.close();
    }
  }, 240_000);
});
