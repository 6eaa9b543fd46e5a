import { appendFile, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installVdsmPki, makeTestPki } from "../../lab/standins/vdsm/certs.js";
import { FakeVdsm } from "../../lab/standins/vdsm/fake-vdsm.js";
import { haPaths } from "../../src/common/paths.js";
import { readConfMember } from "../../src/storage/archive/conf-archive.js";
import { makeStorageHost, type StorageHost } from "../cli/cluster.js";
import { runHeHa } from "../cli/harness.js";
import { startBrokerProcess } from "../support/broker-process.js";
import type { Ran as CliRun } from "../support/run.js";

/**
 * `he-ha vm …` and `he-ha storage connect|disconnect` as whole processes (the built
 * dist/src/bin/he-ha.js) on a host root carrying VDSM's key, certificate and CA, with a
 * storage domain made by `he-ha storage init`; VDSM played by the protocol test server,
 * which records each call with its connection (each he-ha run is one connection) and
 * checks it against the schema expectations.
 */
const CONNECTION_UUID = "e29cf818-5ee5-46e1-85c1-8aeefa33e95d";
const LOCKED = "resource busy: Failed to acquire lock: Lease is held by another host";

let storage: StorageHost;
let vdsm: FakeVdsm;
let vmId: string;

/** runs he-ha on the host; answers the run and the calls its connection made */
async function he(
  args: string[],
): Promise<CliRun & { calls: { method: string; params: Record<string, unknown> }[] }> {
  const before = vdsm.connections;
  const r = await runHeHa(storage.root, args);
  const conns = new Set<number>();
  for (let c = before + 1; c <= vdsm.connections; c++) conns.add(c);
  const calls = vdsm.calls
    .filter((c) => conns.has(c.conn))
    .map(({ method, params }) => ({ method, params }));
  return { ...r, calls };
}

const methods = (r: { calls: { method: string }[] }) => r.calls.map((c) => c.method);

beforeAll(async () => {
  storage = await makeStorageHost(1);
  vmId = storage.confLines.vmid ?? "";
  const pki = await makeTestPki(path.join(storage.root, "pki"));
  vdsm = new FakeVdsm({ ca: pki.ca, key: pki.server.key, cert: pki.server.cert });
  // the engine disk as VDSM reports it: its volume lease (the `.lease` file of this file domain)
  const d = storage.engineDisk;
  vdsm.volumes.set(`${storage.sdUUID}/${d.imageUUID}/${d.volumeUUID}`, {
    path: d.path,
    lease: { path: d.leasePath, offset: 0, owners: [], version: null },
  });
  await vdsm.start();
  await installVdsmPki(storage.root, pki);
  await appendFile(
    haPaths(storage.root).hostConf,
    `vdsm_port=${vdsm.port}\nconnectionUUID=${CONNECTION_UUID}\n`,
  );
}, 120_000);

afterAll(async () => {
  await vdsm?.stop();
  await storage?.cleanup();
});

describe("he-ha vm through VDSM (hosted-engine --vm-start/--vm-shutdown/--vm-poweroff)", () => {
  it("--vm-start: checkVmStatus, then VM.create from vm.conf; the lease is left to libvirt's lock manager", async () => {
    const r = await he(["--vm-start"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(
        `^engine VM ${vmId} started on VDSM at localhost:${vdsm.port} from vm\\.conf in .*; lease \\S+ held by libvirt's sanlock lock manager for qemu\\n$`,
      ),
    );
    // no agent clean-up here: he-ha's own look (read only), --vm-start's check, the
    // create, then the launch watched (read only)
    expect(methods(r)).toEqual([
      "Host.ping2",
      "VM.getStats", // he-ha: already running here?
      "Volume.getInfo", // the engine disk's lease, where VDSM says
      "VM.getStats", // checkVmStatus
      "VM.create",
      "VM.getStats", // WaitForLaunch
      "VM.getStats", // Powering up: launched
    ]);
    const create = r.calls[4];
    expect(create?.params.vmID).toBe(vmId);
    const vmParams = create?.params.vmParams as Record<string, unknown>;
    expect(vmParams.vmId ?? vmId).toBe(vmId);
    expect(typeof vmParams.xml === "string" || typeof vmParams.memSize === "string").toBe(true);
    expect(vdsm.vms.get(vmId)?.status).toBe("Up");
  });

  it("a second start: the VM runs here (VDSM: Up); start leaves it alone", async () => {
    const text = await he(["vm", "start"]);
    expect(text.stdout).toBe(`engine VM ${vmId} is already running on this host (Up)\n`);
    const r = await he(["vm", "start", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ vmId, result: "already-running" });
    expect(methods(r)).toEqual(["Host.ping2", "VM.getStats"]);
  });

  it("--vm-shutdown: VM.shutdown(vmID, delay=120, message='VM is shutting down!')", async () => {
    const r = await he(["--vm-shutdown"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`shutdown requested for engine VM ${vmId}`);
    expect(r.calls).toEqual([
      { method: "Host.ping2", params: {} },
      { method: "VM.getStats", params: { vmID: vmId } },
      {
        method: "VM.shutdown",
        params: { vmID: vmId, delay: 120, message: "VM is shutting down!" },
      },
    ]);
    // VDSM keeps the Down entry
    expect(vdsm.vms.get(vmId)?.status).toBe("Down");
  });

  it("--vm-start over VDSM's Down entry: destroys it first, then creates, as the original", async () => {
    const r = await he(["vm", "start"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(methods(r)).toEqual([
      "Host.ping2",
      "VM.getStats", // he-ha: already running here? (Down: no)
      "Volume.getInfo", // the engine disk's lease
      "VM.getStats", // checkVmStatus: Down
      "VM.destroy",
      "VM.create",
      "VM.getStats",
      "VM.getStats",
    ]);
  });

  it("--vm-poweroff: VM.destroy; then there is nothing to stop", async () => {
    const r = await he(["vm", "poweroff", "--json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ vmId, result: "powered-off" });
    expect(r.calls).toEqual([
      { method: "Host.ping2", params: {} },
      { method: "VM.getStats", params: { vmID: vmId } },
      {
        method: "Volume.getInfo", // the lease named in the report
        params: {
          storagepoolID: "00000000-0000-0000-0000-000000000000",
          storagedomainID: storage.sdUUID,
          imageID: storage.engineDisk.imageUUID,
          volumeID: storage.engineDisk.volumeUUID,
        },
      },
      { method: "VM.destroy", params: { vmID: vmId } },
    ]);
    expect(vdsm.vms.has(vmId)).toBe(false);
    const again = await he(["vm", "shutdown"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(
      `he-ha: engine VM ${vmId} is not running on this host (VDSM at localhost:${vdsm.port})\n`,
    );
  });

  it("a start VDSM reports Down at launch with libvirt's lock error: refused, naming the lease", async () => {
    vdsm.createGoesDown = LOCKED;
    try {
      const r = await he(["vm", "start"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /^he-ha: refusing to start the engine VM: libvirt's sanlock lock manager cannot take its lease \S+, so it runs on another host/,
      );
      expect(r.stderr).toContain(LOCKED);
      const m = methods(r);
      expect(m.slice(0, 5)).toEqual([
        "Host.ping2",
        "VM.getStats",
        "Volume.getInfo",
        "VM.getStats",
        "VM.create",
      ]);
      // after the create only looks: nothing destroyed behind the user's back
      expect(m.slice(5).every((x) => x === "VM.getStats")).toBe(true);
    } finally {
      vdsm.createGoesDown = null;
      vdsm.vms.delete(vmId);
    }
  });

  it("VDSM not listening: a clear error naming VDSM's address, exit 1", async () => {
    await vdsm.stop();
    try {
      const r = await he(["vm", "shutdown"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`VDSM at localhost:${vdsm.port} unavailable`);
    } finally {
      await vdsm.start();
    }
  });
});

describe("he-ha vm start --vm-conf (hosted-engine --vm-start --vm-conf=<file>, the recovery path)", () => {
  let edited: string;
  beforeAll(async () => {
    // an administrator's edited copy of the agent's vm.conf: more memory, no libvirt XML
    // (so VDSM gets the vm.conf keys and the edit shows in VM.create)
    const text = await readConfMember(storage.volumes.conf, "vm.conf");
    edited = path.join(storage.root, "vm.conf.edited");
    await writeFile(
      edited,
      `# edited for recovery\n${text
        .split("\n")
        .filter((l) => !l.startsWith("xmlBase64="))
        .map((l) => (l.startsWith("memSize=") ? "memSize=8192" : l))
        .join("\n")}`,
    );
  });

  it("a file that cannot be read, does not parse or names another VM: refused naming the file, VDSM untouched", async () => {
    const missing = path.join(storage.root, "no-such-vm.conf");
    const r = await he(["--vm-start", `--vm-conf=${missing}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`he-ha: --vm-conf ${missing}: cannot read: ENOENT\n`);
    expect(r.calls).toEqual([]);
    const bad = path.join(storage.root, "bad-vm.conf");
    await writeFile(bad, `vmId=${vmId}\nthis line has no equals sign\n`);
    const b = await he(["vm", "start", "--vm-conf", bad]);
    expect(b.code).toBe(1);
    expect(b.stderr).toBe(
      `he-ha: --vm-conf ${bad}:2: expected key=value, got "this line has no equals sign"\n`,
    );
    expect(b.calls).toEqual([]);
    const other = path.join(storage.root, "other-vm.conf");
    const otherId = "0b7a2f6e-0000-4000-8000-00000000beef";
    await writeFile(
      other,
      (await readFile(edited, "utf8")).replace(`vmId=${vmId}`, `vmId=${otherId}`),
    );
    const o = await he(["vm", "start", "--vm-conf", other]);
    expect(o.code).toBe(1);
    expect(o.stderr).toBe(
      `he-ha: --vm-conf ${other}: vmId=${otherId} is not the engine VM of hosted-engine.conf (vmid=${vmId})\n`,
    );
    expect(o.calls).toEqual([]);
  });

  it("--vm-start --vm-conf=<file>: VM.create with the file's parameters", async () => {
    const r = await he(["--vm-start", `--vm-conf=${edited}`]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `engine VM ${vmId} started on VDSM at localhost:${vdsm.port} from ${edited};`,
    );
    const create = r.calls.find((c) => c.method === "VM.create");
    expect(create?.params.vmID).toBe(vmId);
    const vmParams = create?.params.vmParams as Record<string, unknown>;
    expect(vmParams.memSize).toBe("8192");
    expect(vmParams.xml).toBeUndefined();
  });

  it("refuses while the engine VM exists here (Up), as the original, leaving it running", async () => {
    const r = await he(["vm", "start", "--vm-conf", edited]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `he-ha: engine VM ${vmId} exists on this host and its status is Up: ${edited} not applied (shut it down first: he-ha vm shutdown)\n`,
    );
    expect(methods(r)).not.toContain("VM.create");
    expect(methods(r)).not.toContain("VM.destroy");
    expect(vdsm.vms.get(vmId)?.status).toBe("Up");
    vdsm.vms.delete(vmId);
  });
});

describe("local maintenance on a VDSM host (hosted-engine --set-maintenance --mode=local)", () => {
  const haConf = () => readFile(haPaths(storage.root).haConf, "utf8").catch(() => "");

  it("is refused while VDSM's Host.getVMList lists the engine VM, in the original's words; nothing changes", async () => {
    vdsm.vms.set(vmId, { status: "Up" });
    const before = await haConf();
    try {
      const r = await he(["--set-maintenance", "--mode=local"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        "he-ha: Unable to enter local maintenance mode: the engine VM is running on the current host, please migrate it before entering local maintenance mode.\n",
      );
      expect(r.calls).toEqual([
        { method: "Host.ping2", params: {} },
        { method: "Host.getVMList", params: {} },
      ]);
      expect(await haConf()).toBe(before);
    } finally {
      vdsm.vms.delete(vmId);
    }
  });

  it("goes ahead when VDSM does not list it (the broker writes the flags)", async () => {
    const broker = await startBrokerProcess(storage.root, {
      env: { ...process.env, HE_HA_SOCKET_GROUP: "" },
      logLevel: "warn",
    });
    try {
      vdsm.vms.set("0b7a2f6e-0000-4000-8000-00000000beef", { status: "Up" }); // another VM
      const r = await he(["maintenance", "--mode", "local"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("local maintenance: off -> on");
      expect(methods(r).filter((m) => m === "Host.getVMList")).toHaveLength(1);
      expect(await haConf()).toMatch(/^local_maintenance=True$/m);
      const none = await he(["maintenance", "--mode", "none"]);
      expect(none.code).toBe(0);
      // only local asks VDSM
      expect(methods(none)).not.toContain("Host.getVMList");
    } finally {
      vdsm.vms.delete("0b7a2f6e-0000-4000-8000-00000000beef");
      await broker.stop();
    }
  }, 60_000);

  it("is refused when VDSM cannot be asked, naming VDSM's address", async () => {
    await vdsm.stop();
    try {
      const r = await he(["maintenance", "--mode", "local"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `he-ha: Failed communicating with VDSM: VDSM at localhost:${vdsm.port} unavailable`,
      );
    } finally {
      await vdsm.start();
    }
  });
});

describe("he-ha storage connect|disconnect through VDSM (hosted-engine --connect-storage/--disconnect-storage)", () => {
  const connection = () => ({
    connection: "nfs.example.com:/he",
    user: "kvm",
    id: CONNECTION_UUID,
    protocol_version: "auto",
  });

  it("connect: StorageDomain.getInfo, StoragePool.connectStorageServer, then StorageDomain.getStats (the refresh)", async () => {
    const r = await he(["--connect-storage"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      "nfs nfs.example.com:/he through VDSM: connected through VDSM (StoragePool.connectStorageServer)\n",
    );
    expect(r.calls).toEqual([
      { method: "Host.ping2", params: {} },
      // _validate_pre_connected_path: VDSM does not know the domain yet
      { method: "StorageDomain.getInfo", params: { storagedomainID: storage.sdUUID } },
      {
        method: "StoragePool.connectStorageServer",
        params: {
          storagepoolID: "00000000-0000-0000-0000-000000000000",
          domainType: 1,
          connectionParams: [connection()],
        },
      },
      { method: "StorageDomain.getStats", params: { storagedomainID: storage.sdUUID } },
    ]);
  });

  it("disconnect: StoragePool.disconnectStorageServer with the same connection, nothing else", async () => {
    const r = await he(["storage", "disconnect", "--json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      storage: "nfs nfs.example.com:/he through VDSM",
      outcome: "vdsm-disconnected",
    });
    expect(r.calls).toEqual([
      { method: "Host.ping2", params: {} },
      {
        method: "StoragePool.disconnectStorageServer",
        params: {
          storagepoolID: "00000000-0000-0000-0000-000000000000",
          domainType: 1,
          connectionParams: [connection()],
        },
      },
    ]);
  });

  it("a connection VDSM refuses (status ≠ 0): a clear error, exit 1", async () => {
    vdsm.failing.set("StoragePool.connectStorageServer", {
      code: 451,
      message: "Problem while trying to mount target",
    });
    try {
      const r = await he(["storage", "connect"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        "he-ha: cannot connect through VDSM: VDSM StoragePool.connectStorageServer failed (code=451, message=Problem while trying to mount target)",
      );
    } finally {
      vdsm.failing.clear();
    }
  });

  it("every request fit VDSM's schema", () => {
    expect(vdsm.violations).toEqual([]);
  });
});

describe("he-ha lease status on a VDSM host", () => {
  it("the guard's path and offset as VDSM's Volume.getInfo reports them, and the storage domain it is on", async () => {
    const r = await he(["lease", "status", "--json"]);
    expect(r.stderr).toBe("");
    const s = JSON.parse(r.stdout) as {
      guard: { path: string; offset: number; from: string };
      storage: Record<string, string>;
    };
    expect(s.guard).toMatchObject({ path: storage.engineDisk.leasePath, offset: 0 });
    expect(s.guard.from).toContain("located by VDSM (Volume.getInfo)");
    expect(s.storage).toEqual({
      domainType: "nfs",
      kind: "file",
      connection: "nfs.example.com:/he",
      through: "VDSM",
    });
    expect(methods(r)).toEqual(["Host.ping2", "Volume.getInfo"]);
    const text = await he(["lease", "status"]);
    expect(text.stdout).toContain(
      "Storage domain:       nfs (file) nfs.example.com:/he, connected by VDSM",
    );
  });
});
