import { runCommand } from "../standins/processes.js";

/**
 * A simulated host's management bridge: a real Linux bridge with one veth port (a bridge
 * without a working port is operationally down) and forward_delay 0, so it is up at
 * once. Taking it down is what the mgmt-bridge monitor sees as a lost bridge.
 */
async function ip(args: string[], allowFail = false): Promise<void> {
  const { code, output } = await runCommand("ip", args);
  if (code !== 0 && !allowFail) throw new Error(`ip ${args.join(" ")} failed: ${output.trim()}`);
}

export async function createBridge(bridge: string, vethPrefix: string): Promise<void> {
  await deleteBridge(bridge, vethPrefix);
  await ip(["link", "add", bridge, "type", "bridge", "forward_delay", "0"]);
  await ip(["link", "add", `${vethPrefix}a`, "type", "veth", "peer", "name", `${vethPrefix}b`]);
  await ip(["link", "set", `${vethPrefix}a`, "master", bridge]);
  await ip(["link", "set", `${vethPrefix}a`, "up"]);
  await ip(["link", "set", `${vethPrefix}b`, "up"]);
  await ip(["link", "set", bridge, "up"]);
}

export async function bridgeDown(bridge: string): Promise<void> {
  await ip(["link", "set", bridge, "down"]);
}

export async function bridgeUp(bridge: string): Promise<void> {
  await ip(["link", "set", bridge, "up"]);
}

/** Removes the bridge and its veth pair; missing ones are fine. */
export async function deleteBridge(bridge: string, vethPrefix: string): Promise<void> {
  await ip(["link", "del", `${vethPrefix}a`], true);
  await ip(["link", "del", bridge], true);
}
