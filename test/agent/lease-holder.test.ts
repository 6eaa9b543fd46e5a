import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  chooseLeaseHolder,
  leaseHolderFor,
  qemuConfPath,
  qemuLockManager,
} from "../../src/agent/lease-holder.js";
import { HostConfigError, hostConfigFrom } from "../../src/common/host-config.js";
import { removeDir, tempDir } from "../support/temp.js";

const QEMU = "qemu:///system";

describe("who takes the engine VM lease", () => {
  it("reads lock_manager from qemu.conf as libvirt does: last assignment, comments ignored", () => {
    expect(qemuLockManager('lock_manager = "sanlock"\n')).toBe("sanlock");
    expect(qemuLockManager('#lock_manager = "sanlock"\n')).toBeUndefined();
    expect(qemuLockManager('lock_manager = "lockd"\nlock_manager="sanlock" # vdsm\n')).toBe(
      "sanlock",
    );
    expect(qemuLockManager('lock_manager = "sanlock"\nlock_manager = "lockd"\n')).toBe("lockd");
    expect(qemuLockManager('user = "qemu"\n')).toBeUndefined();
  });

  it("auto: libvirt exactly when a QEMU host's qemu.conf sets the sanlock lock manager", () => {
    expect(chooseLeaseHolder("auto", QEMU, 'lock_manager = "sanlock"\n').holder).toBe("libvirt");
    // agent, but watching libvirt's answers in case its lock manager is on after all
    expect(chooseLeaseHolder("auto", QEMU, 'lock_manager = "lockd"\n')).toEqual({
      holder: "agent",
      why: 'lock_manager = "lockd" in /etc/libvirt/qemu.conf',
      detect: true,
    });
    expect(chooseLeaseHolder("auto", QEMU, "").why).toBe(
      "lock_manager unset in /etc/libvirt/qemu.conf",
    );
    expect(chooseLeaseHolder("auto", QEMU, undefined)).toEqual({
      holder: "agent",
      why: "/etc/libvirt/qemu.conf not readable; libvirt's lock manager, if on, will show at the first start",
      detect: true,
    });
    // the test driver has no lock manager, whatever qemu.conf says
    expect(
      chooseLeaseHolder("auto", "test+unix:///default?socket=/x", 'lock_manager = "sanlock"\n'),
    ).toEqual({ holder: "agent", why: "libvirt's test driver has no lock manager" });
  });

  it("an explicit vm_lease_holder wins; anything else is a config error naming the key", () => {
    expect(chooseLeaseHolder("agent", QEMU, 'lock_manager = "sanlock"\n')).toEqual({
      holder: "agent",
      why: "vm_lease_holder=agent",
    });
    expect(chooseLeaseHolder("libvirt", "test:///default", undefined).holder).toBe("libvirt");
    const conf = (v?: string) =>
      hostConfigFrom(
        new Map([
          ["host_id", "1"],
          ...(v === undefined ? [] : [["vm_lease_holder", v] as [string, string]]),
        ]),
        "/etc/ovirt-hosted-engine/hosted-engine.conf",
      );
    expect(conf().vmLeaseHolder).toBe("auto");
    expect(conf("libvirt").vmLeaseHolder).toBe("libvirt");
    expect(() => conf("vdsm")).toThrow(HostConfigError);
    expect(() => conf("vdsm")).toThrow(
      '/etc/ovirt-hosted-engine/hosted-engine.conf: vm_lease_holder="vdsm" is not one of auto, agent, libvirt',
    );
  });

  it("reads this host's qemu.conf under the configured root", async () => {
    const root = await tempDir("lease-holder");
    try {
      const hostConf = hostConfigFrom(new Map([["host_id", "1"]]), "hosted-engine.conf");
      expect((await leaseHolderFor(hostConf, root)).holder).toBe("agent");
      await mkdir(path.dirname(qemuConfPath(root)), { recursive: true });
      await writeFile(qemuConfPath(root), '# written by vdsm-tool\nlock_manager = "sanlock"\n');
      expect(await leaseHolderFor(hostConf, root)).toEqual({
        holder: "libvirt",
        why: `lock_manager = "sanlock" in ${path.join(root, "etc/libvirt/qemu.conf")}`,
      });
    } finally {
      await removeDir(root);
    }
  });
});
