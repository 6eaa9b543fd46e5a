import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { checkBridge } from "../../src/broker/monitors/mgmt-bridge.js";
import type { Monitor } from "../../src/broker/monitors/monitor.js";
import { createMonitor } from "../../src/broker/monitors/registry.js";
import { silentLogger } from "../../src/common/log.js";
import { removeDir, tempDir } from "../support/temp.js";
import { waitFor } from "./monitors-support.js";

const exec = promisify(execFile);
const ns = `hed1br${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
const inNs = (...args: string[]) => exec("ip", ["-n", ns, ...args]);
let sysRoot: string;
let mounted = false;
const started: Monitor[] = [];

/**
 * A network namespace with bridge br0 (port ve0, whose peer ve1 is up) and a sysfs
 * mounted from inside it: /sys/class/net of that namespace, readable from this process.
 */
beforeAll(async () => {
  sysRoot = await tempDir("d1-sys");
  await exec("ip", ["netns", "add", ns]);
  await inNs("link", "add", "br0", "type", "bridge");
  await inNs("link", "add", "ve0", "type", "veth", "peer", "name", "ve1");
  await inNs("link", "set", "ve0", "master", "br0");
  for (const dev of ["ve0", "ve1", "br0"]) await inNs("link", "set", dev, "up");
  await exec("nsenter", [`--net=/run/netns/${ns}`, "mount", "-t", "sysfs", "sysfs", sysRoot]);
  mounted = true;
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((m) => m.stop()));
});

afterAll(async () => {
  if (mounted) await exec("umount", [sysRoot]).catch(() => undefined);
  await exec("ip", ["netns", "del", ns]).catch(() => undefined);
  await removeDir(sysRoot);
});

function bridgeMonitor(name: string): Monitor {
  const m = createMonitor(
    "mgmt-bridge",
    { bridge_name: name, address: "0", use_ssl: "true" },
    { log: silentLogger, intervalSeconds: 0.05, sysRoot },
  );
  started.push(m);
  m.start();
  return m;
}

describe("mgmt-bridge against a real bridge in a network namespace", () => {
  it("is True for a bridge that is up with a working port", async () => {
    await waitFor(async () => ((await checkBridge(sysRoot, "br0")) === "up" ? true : undefined));
    const m = bridgeMonitor("br0");
    expect(await waitFor(() => m.value() ?? undefined)).toBe("True");
    expect(m.current()).toBe(true);
  });

  it("is False for an interface that is not a bridge, and for a missing one", async () => {
    expect(await checkBridge(sysRoot, "ve1")).toBe("not-a-bridge");
    expect(await checkBridge(sysRoot, "ovirtmgmt")).toBe("missing");
    expect(await checkBridge(sysRoot, "../br0")).toBe("missing");
    const m = bridgeMonitor("ve1");
    expect(await waitFor(() => m.value() ?? undefined)).toBe("False");
    const missing = bridgeMonitor("ovirtmgmt");
    expect(await waitFor(() => missing.value() ?? undefined)).toBe("False");
  });

  it("follows the bridge going down, coming back, and being deleted", async () => {
    const m = bridgeMonitor("br0");
    expect(await waitFor(() => m.value() ?? undefined)).toBe("True");
    await inNs("link", "set", "br0", "down");
    await waitFor(() => (m.value() === "False" ? true : undefined), 10_000, "bridge down");
    await inNs("link", "set", "br0", "up");
    await waitFor(() => (m.value() === "True" ? true : undefined), 10_000, "bridge up again");
    await inNs("link", "del", "br0");
    await waitFor(() => (m.value() === "False" ? true : undefined), 10_000, "bridge deleted");
    expect(await checkBridge(sysRoot, "br0")).toBe("missing");
  });
});
