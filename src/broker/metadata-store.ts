import { stat } from "node:fs/promises";
import type { Logger } from "../common/log.js";
import { MetadataVolume } from "../storage/direct-io.js";
import type { DomainGeometry } from "../storage/domain-geometry.js";
import { volumeBytes } from "../storage/volume-size.js";
import { SEGMENT_COUNT, SEGMENT_SIZE, WHITEBOARD_BYTES } from "../storage/whiteboard/types.js";
import type { MetadataStore } from "./storage-cycle.js";

/** Open errors after which the volume is still opened for reading. */
const READ_ONLY_CODES = new Set(["EROFS", "EACCES", "EPERM"]);

function errnoOf(e: unknown): string | undefined {
  const err = e as { code?: string; cause?: { code?: string } } | undefined;
  return err?.cause?.code ?? err?.code;
}

/**
 * The metadata volume is shorter than the whiteboard: reading it would show missing
 * segments (the global block among them) as empty, writing it would extend the file.
 */
export class ShortVolumeError extends Error {
  override name = "ShortVolumeError";
  constructor(
    readonly path: string,
    readonly size: number,
  ) {
    super(
      `metadata volume ${path} is ${size} bytes; the whiteboard needs ${WHITEBOARD_BYTES} (${SEGMENT_COUNT} segments × ${SEGMENT_SIZE}): refusing to read or write it`,
    );
  }
}

interface OpenVolume {
  volume: MetadataVolume;
  /** why it could not be opened for writing, when it is open read-only */
  readOnlyBecause: Error | undefined;
}

/**
 * The metadata volume for the storage cycle, opened on first use and reopened after any
 * I/O failure. Before each I/O the path is checked to still name the file we have open
 * (as the original opened the file for every access): storage that is unmounted or
 * replaced fails visibly instead of being read from a detached file, and storage that
 * comes back is picked up again on a later cycle. Read-only storage is still read; each
 * write tries to open it for writing again and fails with the reason. A volume shorter
 * than the whiteboard is neither read nor written (ShortVolumeError): never read as
 * empty segments, never extended by a write.
 */
export class ReopeningMetadataStore implements MetadataStore {
  private current: OpenVolume | undefined;
  private identity: { dev: number; ino: number } | undefined;
  private opening: Promise<OpenVolume> | undefined;

  constructor(
    readonly path: string,
    private readonly log: Logger,
    /**
     * the domain's sector geometry, resolved (and every volume checked against it) before
     * the volume is first opened: a device with another sector size is never read or
     * written (the error names it)
     */
    private readonly geometry?: DomainGeometry,
  ) {}

  async scanSegments(visit: (index: number, segment: Buffer) => void): Promise<number> {
    return this.withVolume((v) => v.volume.scanSegments(visit));
  }

  async writeSegment(index: number, data: Buffer): Promise<void> {
    // a volume opened read-only is reopened: the storage may be writable again
    if (this.current?.readOnlyBecause) this.drop();
    return this.withVolume((v) => {
      if (v.readOnlyBecause) throw v.readOnlyBecause;
      return v.volume.writeSegment(index, data);
    });
  }

  /** true while I/O bypasses the page cache (undefined before the volume is open) */
  get directIo(): boolean | undefined {
    return this.current?.volume.directIo;
  }

  async close(): Promise<void> {
    const v = this.current;
    this.current = undefined;
    // closing a volume we are done with: a failure leaves nothing to do
    await v?.volume.close().catch(() => undefined);
  }

  private async withVolume<T>(io: (v: OpenVolume) => Promise<T>): Promise<T> {
    if (this.current) await this.checkIdentity();
    const v = await this.open();
    const size = await volumeBytes(this.path);
    if (size < WHITEBOARD_BYTES) throw new ShortVolumeError(this.path, size);
    try {
      return await io(v);
    } catch (e) {
      if (this.current === v && !v.readOnlyBecause) this.drop();
      throw e;
    }
  }

  /** Drops the open volume when the path now names another file (or nothing). */
  private async checkIdentity(): Promise<void> {
    let st: { dev: number; ino: number } | undefined;
    try {
      st = await stat(this.path);
    } catch (e) {
      this.drop();
      throw e;
    }
    if (st.dev !== this.identity?.dev || st.ino !== this.identity?.ino) {
      this.log.warn({ path: this.path }, "metadata volume was replaced; reopening");
      this.drop();
    }
  }

  private drop(): void {
    const v = this.current;
    this.current = undefined;
    this.identity = undefined;
    // the volume was replaced or failed: closing the old handle is best effort
    void v?.volume.close().catch(() => undefined);
  }

  private async open(): Promise<OpenVolume> {
    if (this.current) return this.current;
    this.opening ??= this.openVolume().finally(() => {
      this.opening = undefined;
    });
    const v = await this.opening;
    const st = await stat(this.path);
    this.current = v;
    this.identity = { dev: st.dev, ino: st.ino };
    return v;
  }

  private async openVolume(): Promise<OpenVolume> {
    const sectorSize = (await this.geometry?.resolve())?.sectorSize ?? 512;
    try {
      const volume = await MetadataVolume.open(this.path, { logger: this.log, sectorSize });
      this.log.info({ path: this.path, direct_io: volume.directIo }, "metadata volume opened");
      return { volume, readOnlyBecause: undefined };
    } catch (e) {
      if (!READ_ONLY_CODES.has(errnoOf(e) ?? "")) throw e;
      const volume = await MetadataVolume.open(this.path, {
        logger: this.log,
        readOnly: true,
        sectorSize,
      });
      this.log.warn(
        { path: this.path, err: e as Error },
        "metadata volume is read-only: reading only",
      );
      return { volume, readOnlyBecause: e as Error };
    }
  }
}
