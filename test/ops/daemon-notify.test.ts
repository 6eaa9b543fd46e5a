import { spawn } from "node:child_process";
import { mkdir, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { productBin } from "../../lab/children.js";
import { readableCopy } from "../support/readable-copy.js";
import { runTool } from "../support/run.js";
import { removeDir, tempDir } from "../support/temp.js";
import { NotifyReceiver } from "./harness.js";

/**
 * ovirt-ha-broker as systemd runs it (Type=notify, WatchdogSec=): the built daemon, a
 * python3 datagram socket standing in for systemd's NOTIFY_SOCKET. No storage needs to be
 * reachable for the broker to serve (it retries reading the whiteboard).
 */
describe("ovirt-ha-broker under Type=notify", () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it("reports READY=1 with its socket, keeps the watchdog fed, and STOPPING=1 then exit 0 on SIGTERM", async () => {
    const bin = productBin("ovirt-ha-broker");
    const root = await tempDir("sd");
    cleanups.push(() => removeDir(root));
    await mkdir(path.join(root, "etc/ovirt-hosted-engine"), { recursive: true });
    await mkdir(path.join(root, "domain"));
    await writeFile(
      path.join(root, "etc/ovirt-hosted-engine/hosted-engine.conf"),
      `host_id=1\nsdUUID=8c2b6f6e-0000-4000-8000-000000000001\nstorage=nfs.example:/he\ndomainType=nfs\ndomain_path=${root}/domain\nvmid=5a3c4e1e-0000-4000-8000-000000000002\n`,
    );
    const receiver = await NotifyReceiver.start(path.join(root, "notify.sock"));
    cleanups.push(() => receiver.stop());

    const child = spawn(process.execPath, [bin, "--root", root, "--log-level", "warn"], {
      env: {
        PATH: process.env.PATH,
        NOTIFY_SOCKET: path.join(root, "notify.sock"),
        WATCHDOG_USEC: "200000",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.stdout.resume();
    const exited = new Promise<number | null>((resolve) =>
      child.on("close", (code) => resolve(code)),
    );
    cleanups.push(() => {
      if (child.exitCode === null) child.kill("SIGKILL");
    });

    const socket = path.join(root, "var/run/ovirt-hosted-engine-ha/broker.socket");
    await receiver.waitFor((m) => m.startsWith("READY=1"));
    expect(receiver.messages).toContain(`READY=1\nSTATUS=serving ${socket}`);
    expect((await stat(socket)).isSocket()).toBe(true);
    await receiver.waitFor((m) => m === "WATCHDOG=1", 3);

    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    await receiver.waitFor((m) => m === "STOPPING=1");
    expect(stderr).not.toMatch(/ovirt-ha-broker: /);
  });
});

/**
 * ovirt-ha-agent as systemd runs it: READY=1 as soon as it runs, whatever it waits for,
 * and STATUS= saying what: local maintenance set at boot, then a storage domain that is
 * not there (issue 12: boot never waits on storage).
 */
describe("ovirt-ha-agent under Type=notify", () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it("is READY at once, says local maintenance, then waiting for storage", async () => {
    const bin = productBin("ovirt-ha-agent");
    const root = await tempDir("sd");
    cleanups.push(() => removeDir(root));
    await mkdir(path.join(root, "etc/ovirt-hosted-engine"), { recursive: true });
    await mkdir(path.join(root, "var/lib/ovirt-hosted-engine-ha"), { recursive: true });
    const haConf = path.join(root, "var/lib/ovirt-hosted-engine-ha/ha.conf");
    await writeFile(haConf, "local_maintenance=True\n");
    await writeFile(
      path.join(root, "etc/ovirt-hosted-engine/hosted-engine.conf"),
      `host_id=1\nsdUUID=8c2b6f6e-0000-4000-8000-000000000001\nstorage=nfs.example:/he\ndomainType=nfs\ndomain_path=${root}/no-domain\nvmid=5a3c4e1e-0000-4000-8000-000000000002\nlibvirt_uri=test:///default\n`,
    );
    await mkdir(path.join(root, "etc/ovirt-hosted-engine-ha"), { recursive: true });
    await writeFile(
      path.join(root, "etc/ovirt-hosted-engine-ha/agent.conf"),
      "[timing]\nloop_delay=0.2\nlocal_maintenance_poll=0.2\n",
    );
    const receiver = await NotifyReceiver.start(path.join(root, "notify.sock"));
    cleanups.push(() => receiver.stop());
    const child = spawn(process.execPath, [bin, "--root", root, "--log-level", "warn"], {
      env: { PATH: process.env.PATH, NOTIFY_SOCKET: path.join(root, "notify.sock") },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.resume();
    child.stderr.resume();

    const exited = new Promise<number | null>((resolve) =>
      child.on("close", (code) => resolve(code)),
    );
    cleanups.push(() => {
      if (child.exitCode === null) child.kill("SIGKILL");
    });

    await receiver.waitFor((m) => m.startsWith("READY=1"));
    await receiver.waitFor(
      (m) => m === "STATUS=host 1: local maintenance: shared storage untouched",
    );
    await writeFile(haConf, "local_maintenance=False\n");
    await receiver.waitFor((m) =>
      m.startsWith(`STATUS=host 1: waiting for storage: domain_path ${root}/no-domain`),
    );
    await mkdir(path.join(root, "no-domain"));
    await receiver.waitFor((m) => m === "STATUS=host 1: joining the sanlock lockspace");
    // (the lockspace join that follows has no sanlock here: the test ends the agent)
    child.kill("SIGKILL");
    await exited;
  });

  it("as a user who may not mount (vdsm in the unit), exits 1 when the domain is not mounted, for the restart's ExecStartPre to mount it", async () => {
    productBin("ovirt-ha-agent"); // names a missing build before anything is copied
    // user 65534 may not reach this clone's dist/ and node_modules/ (a clone under root's
    // home is mode 700): the agent runs from a world-readable copy of the build and the
    // production packages
    const copy = await readableCopy("agent", ["dist/src", "dist/build-info.json"], {
      withRuntime: true,
    });
    cleanups.push(() => copy.remove());
    const bin = copy.file("dist/src/bin/ovirt-ha-agent.js");
    const root = await tempDir("sd");
    cleanups.push(() => removeDir(root));
    await mkdir(path.join(root, "etc/ovirt-hosted-engine"), { recursive: true });
    await mkdir(path.join(root, "var/run/ovirt-hosted-engine-ha"), { recursive: true });
    await writeFile(
      path.join(root, "etc/ovirt-hosted-engine/hosted-engine.conf"),
      "host_id=1\nsdUUID=8c2b6f6e-0000-4000-8000-000000000001\nstorage=localhost:/no-such-volume\ndomainType=glusterfs\nvmid=5a3c4e1e-0000-4000-8000-000000000002\nlibvirt_uri=test:///default\n",
    );
    await runTool("chmod", ["-R", "a+rwX", root]);
    const child = spawn(
      "setpriv",
      ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, bin, "--root", root],
      { env: { PATH: process.env.PATH }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.stdout.resume();
    const code = await new Promise<number | null>((resolve) =>
      child.on("close", (c) => resolve(c)),
    );
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /ovirt-ha-agent: glusterfs localhost:\/no-such-volume at .*: not mounted, and only root may mount it \(uid 65534\).*ExecStartPre=\+he-ha storage connect/,
    );
  });
});
