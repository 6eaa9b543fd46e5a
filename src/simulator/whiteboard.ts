import { padSegment } from "../broker/storage-cycle.js";

/**
 * The metadata volume of the simulated cluster: whole 4096-byte segments holding the
 * blocks exactly as the real codec encoded them (segment 0 = the global block).
 */
export class SimWhiteboard {
  private readonly segments = new Map<number, Buffer>();

  write(index: number, data: Buffer): void {
    const seg = padSegment(data, index);
    if (seg[0] === 0) this.segments.delete(index);
    else this.segments.set(index, seg);
  }

  /** every non-empty segment, copied */
  read(): Map<number, Buffer> {
    return new Map(
      [...this.segments].sort((a, b) => a[0] - b[0]).map(([i, s]) => [i, Buffer.from(s)]),
    );
  }
}
