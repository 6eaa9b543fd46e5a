export type WhiteboardEncodeErrorKind =
  | "invalid-input"
  | "first-line-too-long"
  | "extra-too-long"
  | "global-too-long";

/**
 * A block we refuse to write: it would not fit its 512/4096-byte area, or a value would
 * break the `|`/line framing that other hosts parse. Names the host and the reason.
 */
export class WhiteboardEncodeError extends Error {
  override name = "WhiteboardEncodeError";
  constructor(
    readonly kind: WhiteboardEncodeErrorKind,
    /** host id of the block (0 for the global block) */
    readonly hostId: number,
    readonly reason: string,
  ) {
    super(`whiteboard block for host ${hostId}: ${reason}`);
  }
}
