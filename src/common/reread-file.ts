import { type FileHandle, open } from "node:fs/promises";

/**
 * A file read again and again whole, kept open between reads: each read starts at
 * offset 0 (pread), so a /proc file such as /proc/self/mountinfo is generated afresh by
 * the kernel, without the open, fstat and close of readFile() every time (the agent
 * reads its mountinfo every loop). A failed read closes the file; the next read opens it
 * again. Reads are serialized.
 */
export class RereadFile {
  private handle: FileHandle | undefined;
  private buf = Buffer.alloc(16 * 1024);
  private busy: Promise<unknown> = Promise.resolve();

  constructor(readonly path: string) {}

  read(): Promise<string> {
    const next = this.busy.then(
      () => this.readNow(),
      () => this.readNow(),
    );
    this.busy = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    const h = this.handle;
    this.handle = undefined;
    await h?.close();
  }

  private async readNow(): Promise<string> {
    try {
      this.handle ??= await open(this.path, "r");
      let len = 0;
      for (;;) {
        if (len === this.buf.length) {
          const bigger = Buffer.alloc(this.buf.length * 2);
          this.buf.copy(bigger, 0, 0, len);
          this.buf = bigger;
        }
        const { bytesRead } = await this.handle.read(this.buf, len, this.buf.length - len, len);
        if (bytesRead === 0) return this.buf.toString("utf8", 0, len);
        len += bytesRead;
      }
    } catch (e) {
      await this.close().catch(() => undefined);
      throw e;
    }
  }
}
