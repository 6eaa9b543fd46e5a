/**
 * Our agent on a storage domain our code did not make: laid out step by step the way
 * VDSM and the hosted-engine deployment lay one out (test/python/make_vdsm_domain.py,
 * python3-sanlock and the Python standard library), at VDSM's mount point name
 * (`nfs.example.com:_he`, whose `:` sanlock's strings must escape), with hosted-engine.conf
 * as the deployment writes it (no `domain_path`), already mounted there as VDSM mounts it
 * (here a bind mount of the directory: this kernel has no NFS client; the agent reuses a
 * mount it finds and never mounts twice). The engine VM comes from the engine's
 * 4.2 OVF in the OVF_STORE, whose EngineXml names its disk's volume lease with
 * LEASE-PATH/LEASE-OFFSET placeholders.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCommand } from "../../lab/standins/processes.js";
import { SanlockDaemon } from "../../lab/standins/sanlock-daemon.js";
import type { StorageInitResult } from "../../src/storage/init.js";
import { ovfToVmConf } from "../../src/storage/ovf/ovf-to-vmconf.js";
import { OVF_TEST_42 } from "../fixtures/ovf-fixtures.js";
import { makeVdsmDomain, type VdsmDomain } from "../storage/vdsm-domain.js";
import { removeDir, tempDir } from "../support/temp.js";
import { AgentHost, engineLeaseRe, startHealthServer } from "./agent-host.js";

// the storage domain and disk the 4.2 OVF's EngineXml names
const SD = "ce880525-a44b-4248-8b63-d9e11b2f123a";
const IMAGE = "69a2b8c2-8d1c-4014-8f75-a85c16bc5b71";
const VOLUME = "3ab9fff0-9aa1-4c2e-ad67-5e25d05cb86e";

/** every file below `dir` with its size, sorted */
async function listing(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { recursive: true })) {
    const st = await stat(path.join(dir, entry));
    if (st.isFile()) out.push(`${entry} ${st.size}`);
  }
  return out.sort();
}

describe("ovirt-ha-agent on a domain laid out the way VDSM lays it out (not by our code)", () => {
  let dir: string;
  let health: Awaited<ReturnType<typeof startHealthServer>>;
  let vdsm: VdsmDomain;
  let host: AgentHost;
  let before: string[];
  let mountPoint: string | undefined;

  beforeAll(async () => {
    dir = await tempDir("vdsm-domain");
    health = await startHealthServer();
    const root = path.join(dir, "host1");
    const ovf = await readFile(OVF_TEST_42, "utf8");
    // python3-sanlock writes lockspaces and resources through a daemon
    const writer = await SanlockDaemon.start({
      runDir: path.join(dir, "writer"),
      hostName: "vdsm",
    });
    try {
      vdsm = await makeVdsmDomain(
        {
          domain: path.join(root, "rhev/data-center/mnt/nfs.example.com:_he", SD),
          sdUUID: SD,
          vmConf: ovfToVmConf(ovf),
          ovf,
          hostConf: [
            ["fqdn", health.fqdn],
            ["storage", "nfs.example.com:/he"],
            ["domainType", "nfs"],
          ],
          ioTimeout: 1,
        },
        writer.env,
      );
    } finally {
      await writer.stop();
    }
    const d = vdsm.volumes.engineDisk;
    // what the agent host needs of the domain: hosted-engine.conf as deployment writes it
    const storage = {
      domain: vdsm.domain,
      sdUUID: vdsm.sdUUID,
      vmId: vdsm.confLines.find(([k]) => k === "vmid")![1],
      ioTimeout: 1,
      engineDisk: { ...d, leasePath: `${d.path}.lease` },
      confLines: vdsm.confLines.filter(([k]) => k !== "domain_path"),
    } as unknown as StorageInitResult;
    expect(d).toMatchObject({ imageUUID: IMAGE, volumeUUID: VOLUME });
    // "mounted by VDSM": something is mounted at VDSM's mount point for the domain
    mountPoint = path.dirname(vdsm.domain);
    const bind = await runCommand("mount", ["--bind", mountPoint, mountPoint]);
    expect(bind.code, bind.output).toBe(0);
    before = await listing(vdsm.domain);
    host = await AgentHost.create(root, 1, storage, health.fqdn);
    // VDSM joins the domain's lockspace on an oVirt host (startMonitoringDomain), with
    // the hosted-engine host id: the agent must share it, never leave it
    const joined = await host.sanlock.addLockspace(SD, 1, path.join(vdsm.domain, "dom_md/ids"));
    expect(joined.output).toContain("done 0");
    await host.startBroker();
  }, 120_000);

  afterAll(async () => {
    await host?.destroy();
    await health?.close();
    if (mountPoint) await runCommand("umount", [mountPoint]);
    if (dir && !process.env.KEEP_AGENT_TEST_DIR) await removeDir(dir);
  }, 120_000);

  it("finds the domain from hosted-engine.conf, starts the engine under the OVF's lease and reaches EngineUp", async () => {
    await host.startAgent();
    await host.waitState("EngineUp", 120_000);
    expect(await host.vmState()).toBe("running");
    const status = await host.sanlockStatus();
    // both lockspaces, the domain's on its dom_md/ids, at VDSM's mount point (":" escaped)
    expect(status).toMatch(/^s hosted-engine:1:\S*nfs\.example\.com\\:_he\S*:0$/m);
    expect(status).toContain(`s ${SD}:1:${vdsm.domain.replaceAll(":", "\\:")}/dom_md/ids:0`);
    // the engine disk's volume lease VDSM created, held by the agent
    expect(status).toMatch(
      engineLeaseRe(
        { sdUUID: SD, engineDisk: { volumeUUID: VOLUME } } as StorageInitResult,
        `${vdsm.domain.replaceAll(":", "\\\\:").replaceAll(".", "\\.")}/images/${IMAGE}/${VOLUME}\\.lease:0:\\d+ p \\d+$`,
      ),
    );
    // vm.conf from the OVF_STORE, with the engine's own XML
    expect(await readFile(host.paths.vmConf, "utf8")).toMatch(/^xmlBase64=/m);
    // the running domain keeps the engine's <lease>, placeholders resolved as VDSM does
    const xml = await runCommand("virsh", [
      "-c",
      host.libvirtd.uri,
      "dumpxml",
      vdsm.confLines.find(([k]) => k === "vmid")![1],
    ]);
    expect(xml.output).toContain(`<key>${VOLUME}</key>`);
    expect(xml.output).toContain(`<lockspace>${SD}</lockspace>`);
    expect(xml.output).toContain(`path='${vdsm.domain}/images/${IMAGE}/${VOLUME}.lease'`);
    expect(xml.output).not.toContain("LEASE-");
  }, 180_000);

  it("he-ha lease status agrees with sanlock: this host owns oVirt's lease", async () => {
    const { runHeHa } = await import("../cli/harness.js");
    const r = await runHeHa(host.root, ["lease", "status", "--json"], host.env);
    expect(r.code, r.stderr).toBe(0);
    const st = JSON.parse(r.stdout);
    expect(st.guard).toMatchObject({
      lockspace: SD,
      resource: VOLUME,
      path: `${vdsm.domain}/images/${IMAGE}/${VOLUME}.lease`,
      offset: 0,
      source: "ovf-lease",
    });
    expect(st.owner).toMatchObject({ hostId: 1, generation: st.ownGeneration });
    expect(st.heldHere).toHaveLength(1);
  }, 60_000);

  it("shares the lockspace VDSM joined and never leaves it, even when it stops with no VM here", async () => {
    expect(await host.agentLog()).toContain(
      "sanlock lockspace already joined on this host (VDSM or a previous agent): shared, left to its owner",
    );
    // global maintenance: the agent leaves the VM alone while it is powered off by hand
    await host.client.setGlobalMaintenance(true);
    await host.waitState("GlobalMaintenance", 30_000);
    const { runHeHa } = await import("../cli/harness.js");
    const off = await runHeHa(host.root, ["vm", "poweroff"], host.env);
    expect(off.code, off.stderr).toBe(0);
    expect(await host.stopAgent()).toBe(0);
    const status = await host.sanlockStatus();
    expect(status).not.toMatch(/^r /m);
    // its own lockspace left, VDSM's still joined
    expect(status).not.toMatch(/^s hosted-engine:1:/m);
    expect(status).toMatch(new RegExp(`^s ${SD}:1:`, "m"));
  }, 120_000);

  it("leaves the domain's layout as VDSM made it: no file added, none resized", async () => {
    expect(await listing(vdsm.domain)).toEqual(before);
  });
});
