import { stat } from "node:fs/promises";
import type { Logger } from "../common/log.js";
import { MetadataVolume } from "../storage/direct-io.js";
import type { MetadataStore } from "./storage-cycle.js";

/**
 * The metadata volume for the storage cycle, opened on first use and reopened after any
 * I/O failure. Before each I/O the path is checked to still name the file we have open
 * (as the original opened the file for every access): storage that is unmounted or
 * replaced fails visibly instead of being read from a detached file, and storage that
 * comes back is picked up again on a later cycle.
 */
export class ReopeningMetadataStore implements MetadataStore {
  private volume: MetadataVolume | undefined;
  private identity: { dev: number; ino: number } | undefined;
  private opening: Promise<MetadataVolume> | undefined;

  constructor(
    readonly path: string,
    private readonly log: Logger,
  ) {}

  async readAll(): Promise<Buffer> {
    return this.withVolume((v) => v.readAll());
  }

  async writeSegment(index: number, data: Buffer): Promise<void> {
    return this.withVolume((v) => v.writeSegment(index, data));
  }

  /** true while I/O bypasses the page cache (undefined before the volume is open) */
  get directIo(): boolean | undefined {
    return this.volume?.directIo;
  }

  async close(): Promise<void> {
    const v = this.volume;
    this.volume = undefined;
    await v?.close().catch(() => undefined);
  }

  private async withVolume<T>(io: (v: MetadataVolume) => Promise<T>): Promise<T> {
    if (this.volume) await this.checkIdentity();
    const v = await this.open();
    try {
      return await io(v);
    } catch (e) {
      if (this.volume === v) this.drop();
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
    const v = this.volume;
    this.volume = undefined;
    this.identity = undefined;
    void v?.close().catch(() => undefined);
  }

  private async open(): Promise<MetadataVolume> {
    if (this.volume) return this.volume;
    this.opening ??= MetadataVolume.open(this.path, { logger: this.log }).finally(() => {
      this.opening = undefined;
    });
    const v = await this.opening;
    const st = await stat(this.path);
    this.volume = v;
    this.identity = { dev: st.dev, ino: st.ino };
    this.log.info({ path: this.path, direct_io: v.directIo }, "metadata volume opened");
    return v;
  }
}
