import { cp, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Libvirtd } from "../../lab/standins/libvirtd.js";
import { runCommand } from "../../lab/standins/processes.js";
import { SanlockDaemon } from "../../lab/standins/sanlock-daemon.js";
import { haPaths } from "../../src/common/paths.js";
import { makeStorageHost, type StorageHost } from "./cluster.js";
import { runHeHa } from "./harness.js";

/**
 * Two hosts on one storage domain, each with its own sanlock daemon (joined to the
 * storage domain's lockspace <sdUUID> on dom_md/ids with its host id, as the agent or VDSM
 * does) and its own libvirtd serving the test driver. `he-ha vm` runs as each host
 * (HE_HA_ROOT + SANLOCK_RUN_DIR) like an operator on that host. The lease is oVirt's: the
 * engine disk's volume lease.
 */
interface Host {
  id: number;
  root: string;
  sanlock: SanlockDaemon;
  libvirtd: Libvirtd;
  env: NodeJS.ProcessEnv;
}

let storage: StorageHost;
const hosts: Host[] = [];
let vmId: string;
let sdUUID: string;
let ids: string;
/** the engine disk's volume lease file */
let leaseFile: string;
let leaseName: string;

async function makeHost(id: number): Promise<Host> {
  const root = id === 1 ? storage.root : path.join(storage.root, `host${id}`);
  const sanlock = await SanlockDaemon.start({
    runDir: path.join(storage.root, `sanlock${id}`),
    hostName: `host${id}`,
  });
  const libvirtd = await Libvirtd.start({ dir: path.join(storage.root, `libvirt${id}`) });
  const host: Host = { id, root, sanlock, libvirtd, env: { SANLOCK_RUN_DIR: sanlock.runDir } };
  hosts.push(host);
  const conf = haPaths(root).hostConf;
  if (id !== 1) {
    await mkdir(path.dirname(conf), { recursive: true });
    await cp(haPaths(storage.root).hostConf, conf);
  }
  const text = (await readFile(conf, "utf8")).replace(/^host_id=.*$/m, `host_id=${id}`);
  await writeFile(conf, `${text}libvirt_uri=${libvirtd.uri}\n`);
  const join = await sanlock.addLockspace(sdUUID, id, ids);
  if (join.code !== 0) throw new Error(`host ${id}: add_lockspace failed: ${join.output}`);
  return host;
}

async function domainState(h: Host): Promise<string> {
  const r = await runCommand("virsh", ["-c", h.libvirtd.uri, "domstate", vmId], process.env);
  return r.code === 0 ? r.output.trim() : "absent";
}

async function leaseOwner(): Promise<string> {
  const r = await runCommand("sanlock", ["direct", "dump", `${leaseFile}:0`], process.env);
  return r.output;
}

function he(h: Host, args: string[]) {
  return runHeHa(h.root, args, h.env);
}

describe("he-ha vm start|shutdown|poweroff with the VM lease", () => {
  beforeAll(async () => {
    storage = await makeStorageHost(1);
    vmId = storage.confLines.vmid!;
    sdUUID = storage.sdUUID;
    ids = path.join(storage.domain, "dom_md", "ids");
    leaseFile = storage.engineDisk.leasePath;
    leaseName = `${sdUUID}:${storage.engineDisk.volumeUUID}`;
    await Promise.all([makeHost(1), makeHost(2)]);
    hosts.sort((a, b) => a.id - b.id);
  }, 120_000);

  afterAll(async () => {
    for (const h of hosts) {
      await h.libvirtd.stop().catch(() => undefined);
      await h.sanlock.stop().catch(() => undefined);
    }
    await storage?.cleanup();
  });

  it("starts the engine VM on host 2 from the archive's vm.conf, taking its lease", async () => {
    const [, h2] = hosts;
    const r = await he(h2!, ["--vm-start"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(
        `^engine VM ${vmId} started on test\\+unix:.* from vm\\.conf in .*; lease ${leaseName} acquired for this host\\n$`,
      ),
    );
    expect(await domainState(h2!)).toBe("running");
    // the lease stays held by host 2 after the CLI exits (orphan for the agent to adopt)
    expect(await leaseOwner()).toMatch(
      new RegExp(`${storage.engineDisk.volumeUUID}\\s+\\d+\\s+0*2\\s`),
    );
  });

  it("refuses to start it on host 1 while host 2 holds the lease, naming host 2; nothing starts", async () => {
    const [h1] = hosts;
    const r = await he(h1!, ["vm", "start"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `^he-ha: refusing to start the engine VM: its lease ${leaseName} is held by host 2, so it runs there \\(or host 2 is not yet known dead\\); see he-ha status and he-ha lease status\\n$`,
      ),
    );
    expect(await domainState(h1!)).toBe("absent");
  });

  it("says so when the VM already runs on this host", async () => {
    const [, h2] = hosts;
    const r = await he(h2!, ["vm", "start", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ vmId, result: "already-running" });
  });

  it("poweroff on host 2 stops the VM and frees the lease; host 1 can then start it", async () => {
    const [h1, h2] = hosts;
    const off = await he(h2!, ["--vm-poweroff", "--json"]);
    expect(off.stderr).toBe("");
    expect(off.code).toBe(0);
    expect(JSON.parse(off.stdout)).toEqual({ vmId, result: "powered-off", lease: "released" });
    expect(await domainState(h2!)).not.toBe("running");
    const on = await he(h1!, ["vm", "start"]);
    expect(on.stderr).toBe("");
    expect(on.code).toBe(0);
    expect(await domainState(h1!)).toBe("running");
    expect(await leaseOwner()).toMatch(
      new RegExp(`${storage.engineDisk.volumeUUID}\\s+\\d+\\s+0*1\\s`),
    );
  });

  it("shutdown asks the guest to stop; with nothing running, shutdown and poweroff fail (exit 1)", async () => {
    const [h1, h2] = hosts;
    const r = await he(h1!, ["--vm-shutdown"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      `shutdown requested for engine VM ${vmId}; its lease is released once it is down\n`,
    );
    expect(await domainState(h1!)).not.toBe("running");
    for (const args of [
      ["vm", "shutdown"],
      ["vm", "poweroff"],
    ]) {
      const n = await he(h2!, args);
      expect(n.code).toBe(1);
      expect(n.stderr).toMatch(
        new RegExp(`^he-ha: engine VM ${vmId} is not running on this host \\(test\\+unix:`),
      );
    }
  });

  it("without a sanlock daemon for this host it cannot take the lease and starts nothing", async () => {
    const [h1] = hosts;
    const r = await runHeHa(h1!.root, ["vm", "start"], {
      SANLOCK_RUN_DIR: path.join(storage.root, "no-sanlock-here"),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `^he-ha: cannot take the engine VM lease ${leaseName}: .+ \\(has this host joined the storage domain's lockspace ${sdUUID}\\? ovirt-ha-agent does that\\)\\n$`,
      ),
    );
    expect(await domainState(h1!)).not.toBe("running");
  });
});
