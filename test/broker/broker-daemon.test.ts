import { mkdir, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { productArgs } from "../../lab/children.js";
import { pollFor } from "../../lab/standins/processes.js";
import { chooseSocketGroup, groupId } from "../../src/broker/api/unix-socket.js";
import { haPaths } from "../../src/common/paths.js";
import { SEGMENT_COUNT, SEGMENT_SIZE } from "../../src/storage/whiteboard/types.js";
import { type BrokerProcess, startBrokerProcess } from "../support/broker-process.js";
import { runTool } from "../support/run.js";
import { removeDir, tempDir } from "../support/temp.js";
import { hostBlock, makeDomain, makeHostRoot, type TestDomain } from "./broker-harness.js";

/** A whiteboard file holding host 2's block, as another host would have written it. */
async function writeWhiteboard(file: string, timestamp: number): Promise<void> {
  const buf = Buffer.alloc(SEGMENT_COUNT * SEGMENT_SIZE);
  hostBlock(2, timestamp, 2400).copy(buf, 2 * SEGMENT_SIZE);
  await writeFile(file, buf);
}

describe("ovirt-ha-broker start-up", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir("broker-start");
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  it("refuses to start, exiting non-zero with a clear error, when HA is not configured", async () => {
    const root = path.join(dir, "unconfigured");
    const conf = haPaths(root).hostConf;
    await mkdir(path.dirname(conf), { recursive: true });
    await writeFile(conf, "sdUUID=abc\nconfigured=False\n");
    const r = await runTool(process.execPath, productArgs("ovirt-ha-broker"), {
      env: { ...process.env, HE_HA_ROOT: root },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`ovirt-ha-broker: ${conf}: HA is not configured`);
  });

  it("takes the socket group from HE_HA_SOCKET_GROUP, then hosted-engine.conf socket_group, then kvm", () => {
    expect(chooseSocketGroup("qemu", "daemon")).toBe("qemu");
    expect(chooseSocketGroup("", "daemon")).toBe("daemon");
    expect(chooseSocketGroup(undefined, " daemon ")).toBe("daemon");
    expect(chooseSocketGroup(undefined, "")).toBe("kvm");
    expect(chooseSocketGroup(undefined, undefined)).toBe("kvm");
  });

  it("serves /metrics on TCP when metrics_listen is set, and nothing else there", async () => {
    const domain = await makeDomain(path.join(dir, "tcp"), { lockspace: false });
    const port = 20000 + Math.floor(Math.random() * 20000);
    const root = await makeHostRoot(path.join(dir, "tcp"), 4, domain, {
      extraConf: { metrics_listen: `127.0.0.1:${port}`, socket_group: "daemon" },
    });
    const { HE_HA_SOCKET_GROUP: _unset, ...env } = process.env;
    const b = await startBrokerProcess(root, {
      env: {
        ...env,
        SANLOCK_RUN_DIR: path.join(dir, "no-sanlock"),
      },
    });
    try {
      // socket_group of hosted-engine.conf (group "daemon" exists on Debian)
      const daemonGid = await groupId("daemon");
      if (daemonGid !== undefined) expect((await stat(b.socket)).gid).toBe(daemonGid);
      await pollFor("a first read", async () =>
        (await b.client.status()).storage.has_read ? true : undefined,
      );
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).toMatch(/^ovirt_ha_global_maintenance 0$/m);
      expect(text).toMatch(/^ovirt_ha_lockspace_held\{host_id="4"\} 0$/m);
      // storage read fine: not stale, with the age of the last good read
      expect(text).toMatch(/^ovirt_ha_storage_stale\{volume="[^"]+"\} 0$/m);
      const age = /^ovirt_ha_storage_last_read_age_seconds\{volume="[^"]+"\} (\S+)$/m.exec(text);
      expect(Number(age?.[1])).toBeGreaterThanOrEqual(0);
      expect((await fetch(`http://127.0.0.1:${port}/v1/status`)).status).toBe(404);
      expect(
        (await fetch(`http://127.0.0.1:${port}/RPC2`, { method: "POST", body: "<x/>" })).status,
      ).toBe(404);
    } finally {
      await b.stop();
    }
  });

  it("prints its version and help", async () => {
    const v = await runTool(process.execPath, productArgs("ovirt-ha-broker", "--version"));
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^ovirt-ha-broker \S+ \(hosted-engine-ha\)/);
    const h = await runTool(process.execPath, productArgs("ovirt-ha-broker", "--help"));
    expect(h.code).toBe(0);
    expect(h.stdout).toContain("--log-level");
  });
});

describe("ovirt-ha-broker when its storage goes away", () => {
  let dir: string;
  let domain: TestDomain;
  let imageDir: string;
  let mounted = false;
  let staging: string | undefined;
  let broker: BrokerProcess | undefined;

  const mount = async () => {
    const r = await runTool("mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", imageDir]);
    expect(r.code, r.stderr).toBe(0);
    mounted = true;
  };
  const unmount = async () => {
    const r = await runTool("umount", ["-l", imageDir]);
    expect(r.code, r.stderr).toBe(0);
    mounted = false;
  };

  beforeAll(async () => {
    dir = await tempDir("broker-storage");
    domain = await makeDomain(dir);
    imageDir = path.dirname(domain.metadata);
    // the metadata volume lives on its own mount, which the test takes away
    await rm(domain.metadata);
    await mount();
    await writeWhiteboard(domain.metadata, 100);
    const root = await makeHostRoot(dir, 1, domain, { cycleSeconds: 0.3 });
    // no sanlock daemon for this host: it reads, and writes only the global block
    broker = await startBrokerProcess(root, {
      env: {
        ...process.env,
        SANLOCK_RUN_DIR: path.join(dir, "no-sanlock"),
      },
    });
  });

  afterAll(async () => {
    await broker?.stop();
    if (mounted) await runTool("umount", ["-l", imageDir]);
    if (staging) await runTool("umount", ["-l", staging]);
    await removeDir(dir);
  });

  it("answers from the last good read, reports the failure, survives, and recovers", async () => {
    const c = broker!.client;
    await pollFor("host 2 read", async () =>
      (await c.status()).hosts.length === 1 ? true : undefined,
    );
    const before = await c.getStats();

    await unmount();
    const failing = await pollFor("a failed read", async () => {
      const s = await c.status();
      return s.storage.consecutive_read_failures >= 2 ? s : undefined;
    });
    expect(failing.storage.last_read_error).toMatch(/ENOENT/);
    expect(failing.hosts.map((h) => [h.host_id, h.score, h.timestamp])).toEqual([[2, 2400, 100]]);
    expect(await c.getStats()).toEqual(before);
    const health = await c.getJson<{ status: string; consecutive_read_failures: number }>(
      "/healthz",
    );
    expect(health.status).toBe("degraded");
    const metrics = await c.metricsText();
    const readErrors = Number(
      /^ovirt_ha_storage_errors_total\{operation="read"\} (\d+)/m.exec(metrics)?.[1],
    );
    expect(readErrors).toBeGreaterThanOrEqual(2);
    // the global block cannot be written either: the answer says so, nothing crashes
    const put = await c.setGlobalMaintenance(true);
    expect(put.written).toBe(false);
    expect(put.error).toMatch(/ENOENT.*stays queued/);
    expect(broker!.proc.child.exitCode).toBeNull();
    // the read failures of the streak are logged once (throttled), with the count later
    const readErrorLines = (await broker!.log())
      .split("\n")
      .filter((l) => l.includes("cannot read the whiteboard; answering from the last good read"));
    expect(readErrorLines).toHaveLength(1);
    // the last good read grows old: storage reported stale
    await pollFor("stale storage metric", async () =>
      /^ovirt_ha_storage_stale\{volume="[^"]+"\} 1$/m.test(await c.metricsText())
        ? true
        : undefined,
    );

    // storage back, with a newer block of host 2
    await mount();
    await writeWhiteboard(domain.metadata, 200);
    const recovered = await pollFor("recovery", async () => {
      const s = await c.status();
      return s.storage.last_read_error === null && s.hosts[0]?.timestamp === 200 ? s : undefined;
    });
    expect(recovered.storage.consecutive_read_failures).toBe(0);
    // the queued global block reached storage once it answered again
    await pollFor("queued global maintenance written", async () =>
      (await c.status()).global_maintenance ? true : undefined,
    );
    expect((await c.getJson<{ status: string }>("/healthz")).status).toBe("ok");
  });

  it("keeps reading storage that turned read-only, and reports the failed writes", async () => {
    const c = broker!.client;
    // a read-only file system with a newer whiteboard takes the place of the volume's
    staging = path.join(dir, "ro-staging");
    await mkdir(staging, { recursive: true });
    expect((await runTool("mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", staging])).code).toBe(
      0,
    );
    await writeWhiteboard(path.join(staging, path.basename(domain.metadata)), 300);
    expect((await runTool("mount", ["-o", "remount,ro", staging])).code).toBe(0);
    await unmount();
    const bind = await runTool("mount", ["--bind", staging, imageDir]);
    expect(bind.code, bind.stderr).toBe(0);
    mounted = true;

    const status = await pollFor("a read of the read-only volume", async () => {
      const s = await c.status();
      return s.hosts[0]?.timestamp === 300 ? s : undefined;
    });
    expect(status.storage.last_read_error).toBeNull();
    const put = await c.setGlobalMaintenance(false);
    expect(put.written).toBe(false);
    expect(put.error).toMatch(/EROFS/);
    const after = await c.status();
    expect(after.storage.last_write_error).toMatch(/EROFS/);
    expect(after.storage.last_read_error).toBeNull();
    expect(after.hosts.map((h) => [h.host_id, h.timestamp])).toEqual([[2, 300]]);
    expect(broker!.proc.child.exitCode).toBeNull();
  });
});
