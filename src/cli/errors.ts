/** A failure the operator must see: message on stderr, exit 1. */
export class CliError extends Error {
  override name = "CliError";
  readonly exitCode: number = 1;
}

/** Wrong words on the command line: exit 2. */
export class UsageError extends CliError {
  override name = "UsageError";
  override readonly exitCode = 2;
}
