/** An OVF that cannot be turned into vm.conf: malformed XML or a missing/bad element. */
export class OvfError extends Error {
  override name = "OvfError";
  constructor(
    /** the element (or attribute, or "XML") that is missing or wrong */
    readonly element: string,
    readonly reason: string,
    /** where the OVF came from, when known */
    readonly source?: string,
  ) {
    super(`${source ? `${source}: ` : ""}OVF ${element}: ${reason}`);
  }
}

/** vm.conf text that cannot be parsed into typed data. */
export class VmConfError extends Error {
  override name = "VmConfError";
  constructor(
    readonly source: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${source}${line > 0 ? `:${line}` : ""}: ${reason}`);
  }
}
