/** A configuration archive (or any tar volume) that cannot be read or written. */
export class ArchiveError extends Error {
  override name = "ArchiveError";
  constructor(
    /** the volume or file the archive lives in */
    readonly volume: string,
    readonly reason: string,
  ) {
    super(`${volume}: ${reason}`);
  }
}

/** The volume changed between reading and rewriting it (behaviour.md §8); nothing was written. */
export class ArchiveConflictError extends ArchiveError {
  override name = "ArchiveConflictError";
  constructor(volume: string) {
    super(
      volume,
      "update failed: the configuration archive was changed by somebody else, try again",
    );
  }
}
