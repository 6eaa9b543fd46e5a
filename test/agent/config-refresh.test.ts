import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigRefresher } from "../../src/agent/config-refresh.js";
import { hostConfigFrom } from "../../src/common/host-config.js";
import { parseKeyValue } from "../../src/common/keyvalue.js";
import { silentLogger } from "../../src/common/log.js";
import { haPaths } from "../../src/common/paths.js";
import { buildTar } from "../../src/storage/archive/tar.js";
import { writeAtStart } from "../../src/storage/archive/volume.js";
import { initStorageDomain } from "../../src/storage/init.js";
import { ovfToVmConf } from "../../src/storage/ovf/ovf-to-vmconf.js";
import { OVF_TEST, OVF_TEST_42 } from "../fixtures/ovf-fixtures.js";
import { removeDir, tempDir } from "../support/temp.js";

const OVF = OVF_TEST;
const OVF_42 = OVF_TEST_42;

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => removeDir(d)));
});

async function setup(withOvf = true) {
  const root = await tempDir("agent-conf");
  dirs.push(root);
  const ovf = await readFile(OVF, "utf8");
  const domain = path.join(root, "domain");
  const init = await initStorageDomain({
    domain,
    hostConf: "host_id=1\nfqdn=engine.example.com\nstorage=nfs:/he\n",
    ioTimeout: 1,
    ...(withOvf ? { ovf } : { vmConf: ovfToVmConf(ovf) }),
  });
  const conf = hostConfigFrom(
    new Map([...parseKeyValue("host_id=1\n"), ...init.confLines]),
    "hosted-engine.conf",
  );
  const paths = haPaths(root);
  let now = 100;
  const refresher = new ConfigRefresher({
    conf,
    paths,
    volumes: { domain, conf: init.volumes.conf.path },
    log: silentLogger,
    clock: () => now,
  });
  return { init, paths, refresher, ovf, tick: (s: number) => (now += s) };
}

describe("configuration refresh from shared storage (behaviour.md §8, §9)", () => {
  it("caches hosted-engine.conf and broker.conf and writes vm.conf from the OVF_STORE with the header", async () => {
    const { init, paths, refresher, ovf } = await setup();
    const s = await refresher.refresh();
    expect(s).toMatchObject({ confOnSharedStorage: true, vmConfSource: "ovf", refreshTime: 100 });
    expect(s.vmConf?.vmId).toBe(init.vmId);
    expect(s.vmConf?.memSize).toBeGreaterThan(0);
    const written = await readFile(paths.vmConf, "utf8");
    expect(written).toMatch(
      /^# Editing the hosted engine VM is only possible via the manager UI\/API\n# This file was generated at .+\n\n/,
    );
    expect(written.endsWith(ovfToVmConf(ovf))).toBe(true);
    expect(await readFile(paths.sharedHostConfCache, "utf8")).toContain(`vmid=${init.vmId}`);
    expect(await readFile(paths.brokerConf, "utf8")).toContain("[email]");
  });

  it("regenerates vm.conf when the OVF changes, and records the refresh time", async () => {
    const { init, paths, refresher, tick } = await setup();
    await refresher.refresh();
    const ovf42 = await readFile(OVF_42, "utf8");
    // the engine rewrote the OVF (here: the 4.2 fixture, stored under our VM's name)
    const tar = buildTar([{ name: `${init.vmId}.ovf`, data: Buffer.from(ovf42) }]);
    await writeAtStart(init.volumes.ovfStore!.path, tar);
    tick(10);
    const s = await refresher.refresh();
    expect(s.refreshTime).toBe(110);
    expect(await readFile(paths.vmConf, "utf8")).toContain(ovfToVmConf(ovf42).split("\n")[0]!);
  });

  it("a corrupt OVF falls back to the archive's vm.conf", async () => {
    const { init, refresher } = await setup();
    await writeAtStart(
      init.volumes.ovfStore!.path,
      buildTar([{ name: `${init.vmId}.ovf`, data: Buffer.from("<not-ovf") }]),
    );
    const s = await refresher.refresh();
    expect(s.vmConfSource).toBe("archive");
    expect(s.vmConf?.vmId).toBe(init.vmId);
  });

  it("a corrupt archive and OVF keep the last good vm.conf", async () => {
    const { init, paths, refresher, tick } = await setup();
    const good = await refresher.refresh();
    const goodFile = await readFile(paths.vmConf, "utf8");
    await writeAtStart(init.volumes.conf.path, Buffer.alloc(20480, 0x41));
    await writeAtStart(init.volumes.ovfStore!.path, Buffer.alloc(20480, 0x42));
    tick(10);
    const s = await refresher.refresh();
    expect(s.vmConfText).toBe(good.vmConfText);
    expect(s.refreshTime).toBe(100);
    expect(await readFile(paths.vmConf, "utf8")).toBe(goodFile);
  });

  it("without an OVF_STORE the archive's vm.conf is used", async () => {
    const { refresher } = await setup(false);
    const s = await refresher.refresh();
    expect(s.vmConfSource).toBe("archive");
  });

  it("an invalid vm.conf in the archive is refused, the last good one kept", async () => {
    const { init, refresher } = await setup(false);
    const good = await refresher.refresh();
    const { readConfArchive, writeConfArchive } = await import(
      "../../src/storage/archive/conf-archive.js"
    );
    const a = await readConfArchive(init.volumes.conf.path);
    await writeConfArchive(init.volumes.conf.path, {
      ...a.members,
      "vm.conf": "memSize=abc\ndevices={oops\n",
    });
    const s = await refresher.refresh();
    expect(s.vmConfText).toBe(good.vmConfText);
  });

  it("configuration not on shared storage: local vm.conf, not up to date", async () => {
    const root = await tempDir("agent-conf");
    dirs.push(root);
    const local = path.join(root, "vm.conf");
    await writeFile(local, ovfToVmConf(await readFile(OVF, "utf8")));
    const conf = hostConfigFrom(
      new Map([
        ["host_id", "1"],
        ["conf", local],
      ]),
      "hosted-engine.conf",
    );
    const r = new ConfigRefresher({
      conf,
      paths: haPaths(root),
      volumes: { domain: root, conf: "" },
      log: silentLogger,
      clock: () => 5,
    });
    const s = await r.refresh();
    expect(s).toMatchObject({ confOnSharedStorage: false, vmConfSource: "local" });
  });
});
