/** The storage domain cannot be connected, checked or disconnected; names what and where. */
export class StorageConnectError extends Error {
  override name = "StorageConnectError";
}

/**
 * The domain is not mounted and this process may not mount it (not root: the agent's
 * unit runs it as vdsm without capabilities). The agent exits on it so that systemd
 * restarts it and the unit's privileged `ExecStartPre=+he-ha storage connect` mounts.
 */
export class MountNotPermittedError extends StorageConnectError {
  override name = "MountNotPermittedError";
}
