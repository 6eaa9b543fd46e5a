import { join } from "node:path";
import * as libvirt from "@unraid/libvirt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Libvirtd } from "../../lab/standins/libvirtd.js";
import { silentLogger } from "../../src/common/log.js";
import { HypervisorConnection, HypervisorUnavailableError } from "../../src/libvirt/hypervisor.js";
import { removeDir, tempDir } from "../support/temp.js";

const VM = "3f1d2c4b-5a69-4e7d-8c1b-2a3f4e5d6c7b";

function domainXml(uuid: string, name: string): string {
  return `<domain type='test'><name>${name}</name><uuid>${uuid}</uuid><memory unit='MiB'>512</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>`;
}

describe("HypervisorConnection on libvirt's in-process test driver", () => {
  const conn = new HypervisorConnection("test:///default", silentLogger);
  afterAll(() => conn.close());

  it("connects lazily", async () => {
    expect(conn.connected).toBe(false);
    expect(await conn.domainState(VM)).toBeNull();
    expect(conn.connected).toBe(true);
  });

  it("starts a domain and reports it running with its memory", async () => {
    expect(await conn.startDomain(domainXml(VM, "he"))).toBe("started");
    const state = await conn.domainState(VM);
    expect(state).toMatchObject({ state: "running", memoryKiB: 512 * 1024 });
    expect(state?.cpuTimeNs).toBeGreaterThan(0);
    expect(await conn.startDomain(domainXml(VM, "he"))).toBe("already-running");
  });

  it("shuts the domain down (a transient domain then disappears)", async () => {
    expect(await conn.shutdownDomain(VM)).toBe(true);
    expect(await conn.domainState(VM)).toBeNull();
    expect(await conn.shutdownDomain(VM)).toBe(false);
  });

  it("powers a domain off", async () => {
    await conn.startDomain(domainXml(VM, "he"));
    expect(await conn.destroyDomain(VM)).toBe(true);
    expect(await conn.domainState(VM)).toBeNull();
    expect(await conn.destroyDomain(VM)).toBe(false);
  });

  it("clears a stale, not running definition (same uuid or same name) before starting", async () => {
    const hv = new libvirt.Hypervisor({ uri: "test:///default" });
    await hv.connectOpen();
    try {
      await hv.domainDefineXML(domainXml(VM, "he-old"));
      await hv.domainDefineXML(domainXml("11111111-2222-4333-8444-555555555555", "he"));
      expect((await conn.domainState(VM))?.state).toBe("shutoff");
      expect(await conn.startDomain(domainXml(VM, "he"))).toBe("started");
      expect((await conn.domainState(VM))?.state).toBe("running");
      expect(await conn.domainState("11111111-2222-4333-8444-555555555555")).toBeNull();
      await conn.destroyDomain(VM);
      expect(await conn.domainState(VM)).toBeNull();
    } finally {
      await hv.connectClose();
    }
  });

  it("is unavailable once closed", async () => {
    const c = new HypervisorConnection("test:///default", silentLogger);
    await c.close();
    await expect(c.domainState(VM)).rejects.toBeInstanceOf(HypervisorUnavailableError);
  });
});

describe("HypervisorConnection against libvirtd stand-ins", () => {
  let dir: string;
  let libvirtdA: Libvirtd;
  let libvirtdB: Libvirtd;

  beforeAll(async () => {
    dir = await tempDir("libvirtd");
    [libvirtdA, libvirtdB] = await Promise.all([
      Libvirtd.start({ dir: join(dir, "a") }),
      Libvirtd.start({ dir: join(dir, "b") }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([libvirtdA?.stop(), libvirtdB?.stop()]);
    await removeDir(dir);
  });

  it("runs two hypervisors side by side; a VM outlives the connection that started it", async () => {
    const agent = new HypervisorConnection(libvirtdA.uri, silentLogger);
    expect(await agent.startDomain(domainXml(VM, "he"))).toBe("started");
    await agent.close();

    const broker = new HypervisorConnection(libvirtdA.uri, silentLogger);
    const other = new HypervisorConnection(libvirtdB.uri, silentLogger);
    try {
      expect((await broker.domainState(VM))?.state).toBe("running");
      expect(await other.domainState(VM)).toBeNull();
    } finally {
      await broker.close();
      await other.close();
    }
  });

  it("reports the hypervisor unavailable while libvirtd is down and reconnects after", async () => {
    const conn = new HypervisorConnection(libvirtdB.uri, silentLogger, { minBackoffMs: 100 });
    try {
      await conn.startDomain(domainXml(VM, "he"));
      expect(conn.connected).toBe(true);
      await libvirtdB.restart();
      await expect(conn.domainState(VM)).rejects.toBeInstanceOf(HypervisorUnavailableError);
      expect(conn.connected).toBe(false);
      let state: Awaited<ReturnType<typeof conn.domainState>> | "unavailable" = "unavailable";
      for (let i = 0; i < 50 && state === "unavailable"; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        state = await conn.domainState(VM).catch((e: unknown) => {
          if (!(e instanceof HypervisorUnavailableError)) throw e;
          return "unavailable" as const;
        });
      }
      // a restarted test driver starts empty: the VM is gone, the connection is back
      expect(state).toBeNull();
      expect(conn.connected).toBe(true);
    } finally {
      await conn.close();
    }
  });

  it("a hung libvirtd holds at most the calls of its first seconds, then is refused at once", async () => {
    const conn = new HypervisorConnection(libvirtdB.uri, silentLogger, { minBackoffMs: 100 });
    const pid = libvirtdB.pid!;
    try {
      await conn.domainState(VM);
      process.kill(pid, "SIGSTOP");
      // the first call hangs (its caller gives up on its own timeout)
      const hung = conn.domainState(VM).then(
        () => "answered",
        () => "failed",
      );
      await new Promise((r) => setTimeout(r, 5500));
      // later calls do not queue behind it on the worker threads (they would answer only
      // after SIGCONT): refused while libvirtd is still stopped, naming why
      const err = await conn.domainState(VM).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HypervisorUnavailableError);
      expect((err as Error).message).toMatch(/a call has not returned for \d+ s: libvirtd is hung/);
      process.kill(pid, "SIGCONT");
      expect(await hung).toBe("answered");
      // once it answers again, calls go through
      await conn.domainState(VM);
    } finally {
      process.kill(pid, "SIGCONT");
      await conn.close();
    }
  }, 30_000);

  it("loses every VM when the host's hypervisor is killed", async () => {
    const conn = new HypervisorConnection(libvirtdA.uri, silentLogger, { minBackoffMs: 100 });
    try {
      expect((await conn.domainState(VM))?.state).toBe("running");
      const pid = libvirtdA.pid!;
      await libvirtdA.kill9();
      expect(libvirtdA.running).toBe(false);
      expect(() => process.kill(pid, 0)).toThrow();
      await expect(conn.domainState(VM)).rejects.toBeInstanceOf(HypervisorUnavailableError);
    } finally {
      await conn.close();
    }
  });
});
