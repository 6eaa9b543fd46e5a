import { BrokerClient, BrokerUnreachableError } from "../broker/client.js";
import { type BrokerStatus, hostBlockOf } from "../broker/status.js";
import { haPaths } from "../common/paths.js";
import type { DecodeErrorKind } from "../storage/whiteboard/types.js";
import { CliError } from "./errors.js";
import type { ClusterStatus } from "./format/cluster-status.js";

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

/**
 * The cluster as the broker sees it (GET /v1/status): its last whiteboard read, decoded
 * by the same code as `metadata dump`, and the live hosts the local agent pushed (what
 * is_host_alive answers). One JSON request instead of get_stats + is_host_alive over
 * XML-RPC: with 64 hosts the XML parse of get_stats alone costs more than the rest.
 * A broker that has not read the volume yet is an error, never an empty cluster.
 */
export async function fetchClusterStatus(broker: BrokerClient): Promise<ClusterStatus> {
  return toClusterStatus(await broker.status(), broker.socketPath);
}

/** The broker's status document as the CLI's cluster view (see fetchClusterStatus). */
export function toClusterStatus(s: BrokerStatus, socketPath: string): ClusterStatus {
  if (!s.storage.has_read) {
    // an empty whiteboard here would be a guess, not the cluster's state
    const why = s.storage.last_read_error ? `: ${s.storage.last_read_error}` : " (it is starting)";
    throw new CliError(
      `ovirt-ha-broker at ${socketPath} has not read the metadata volume ${s.storage.metadata_path} yet${why}`,
    );
  }
  return {
    globalMaintenance: s.global_maintenance,
    hosts: s.hosts
      .map((h) => ({ block: hostBlockOf(h), live: h.alive, updatedAgo: h.updated_age_seconds }))
      .sort((a, b) => a.block.hostId - b.block.hostId),
    errors: s.decode_errors
      .map((e) => ({ kind: e.kind as DecodeErrorKind, hostId: e.host_id, reason: e.reason }))
      .sort((a, b) => a.hostId - b.hostId),
  };
}
