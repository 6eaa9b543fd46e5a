import { BrokerClient, BrokerUnreachableError } from "../broker/client.js";
import { haPaths } from "../common/paths.js";
import {
  type DecodeError,
  decodeGlobalBlock,
  decodeHostBlock,
  defaultGlobalBlock,
  type HostBlock,
  type WhiteboardSnapshot,
} from "../storage/whiteboard/index.js";
import { type ClusterStatus, clusterStatus } from "./format/cluster-status.js";
import { CliError } from "./errors.js";

/** How long a CLI call waits for the broker before giving up. */
const BROKER_TIMEOUT_MS = 10_000;

/** The broker of this host (`$HE_HA_ROOT/var/run/ovirt-hosted-engine-ha/broker.socket`). */
export function localBroker(): BrokerClient {
  return new BrokerClient(haPaths().brokerSocket, { timeoutMs: BROKER_TIMEOUT_MS });
}

/**
 * Runs broker calls; an unreachable broker becomes the one-line CLI failure
 * "cannot reach ovirt-ha-broker at <socket>: <why>" (exit 1), never a stack trace.
 */
export async function withBroker<T>(fn: (broker: BrokerClient) => Promise<T>): Promise<T> {
  const broker = localBroker();
  try {
    return await fn(broker);
  } catch (e) {
    if (e instanceof BrokerUnreachableError) throw new CliError(e.message);
    throw e;
  } finally {
    broker.close();
  }
}

/** get_stats' segments decoded the way `metadata dump` decodes the volume. */
export function snapshotFromStats(stats: Map<number, Buffer>): WhiteboardSnapshot {
  const hosts = new Map<number, HostBlock>();
  const errors: DecodeError[] = [];
  let tooNew = false;
  const g = stats.get(0);
  const global = g && g.length > 0 && g[0] !== 0 ? decodeGlobalBlock(g) : { block: defaultGlobalBlock(), warnings: [] };
  for (const [id, data] of stats) {
    if (id === 0) continue;
    const r = decodeHostBlock(data, id);
    if (r === undefined) continue;
    if (r.ok) hosts.set(id, r.block);
    else {
      errors.push(r.error);
      if (r.error.kind === "too-new") tooNew = true;
    }
  }
  return { global: global.block, hosts, errors, tooNew, globalWarnings: global.warnings };
}

/** The cluster as the broker sees it: its whiteboard read plus the live hosts the local agent pushed. */
export async function fetchClusterStatus(broker: BrokerClient): Promise<ClusterStatus> {
  const [stats, alive] = await Promise.all([broker.getStats(), broker.isHostAlive()]);
  return clusterStatus(snapshotFromStats(stats), alive);
}
