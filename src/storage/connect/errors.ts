/** The storage domain cannot be connected, checked or disconnected; names what and where. */
export class StorageConnectError extends Error {
  override name = "StorageConnectError";
}
