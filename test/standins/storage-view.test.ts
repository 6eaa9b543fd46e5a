import { randomBytes } from "node:crypto";
import {
  mkdir,
  open,
  readdir,
  readFile,
  readlink,
  rm,
  symlink,
  truncate,
  writeFile,
} from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { isAlive } from "../../lab/standins/processes.js";
import { isMountPoint, StorageView } from "../../lab/standins/storage-view.js";
import { ReopeningMetadataStore } from "../../src/broker/metadata-store.js";
import { silentLogger } from "../../src/common/log.js";
import { MetadataIoError, MetadataVolume } from "../../src/storage/direct-io.js";
import { removeDir, tempDir } from "../support/temp.js";

const SEG = 4096;
const METADATA_SIZE = 8 * 1024 * 1024;
const IMG = "0a1b2c3d-0000-4000-8000-000000000001";
const VOL = "0a1b2c3d-0000-4000-8000-000000000002";

/** a host's 4 KiB whiteboard segment, recognisable by its filler byte */
function segment(fill: number): Buffer {
  return Buffer.alloc(SEG, fill);
}

async function errnoOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
    return err.code ?? err.cause?.code;
  }
}

async function readAt(path: string, offset: number, length: number): Promise<Buffer> {
  const h = await open(path, "r");
  try {
    const buf = Buffer.alloc(length);
    await h.read(buf, 0, length, offset);
    return buf;
  } finally {
    await h.close();
  }
}

describe("StorageView: a host's own FUSE path to the shared storage domain", () => {
  let dir: string;
  let domain: string;
  let metadata: string;
  let view: StorageView;
  /** the metadata volume as host 1 reaches it: through its view */
  let viewMetadata: string;

  beforeAll(async () => {
    dir = await tempDir("storage-view");
    domain = join(dir, "storage", "domain");
    await mkdir(join(domain, "images", IMG), { recursive: true });
    await mkdir(join(domain, "ha_agent"));
    metadata = join(domain, "images", IMG, VOL);
    await writeFile(metadata, Buffer.alloc(0));
    await truncate(metadata, METADATA_SIZE);
    await symlink(`../images/${IMG}/${VOL}`, join(domain, "ha_agent", "hosted-engine.metadata"));
    await symlink(metadata, join(domain, "ha_agent", "absolute.metadata"));
    viewMetadata = join(dir, "host1", "mnt", "ha_agent", "hosted-engine.metadata");
  });

  beforeEach(async () => {
    view = await StorageView.mount({
      source: domain,
      mountpoint: join(dir, "host1", "mnt"),
      logFile: join(dir, "host1", "storage-view.log"),
    });
  });

  afterEach(async () => {
    await view?.unmount();
  });

  afterAll(async () => {
    await view?.unmount();
    await removeDir(dir);
  });

  it("shows the domain's tree and links, with absolute links into the domain kept inside the view", async () => {
    expect(await isMountPoint(view.mountpoint)).toBe(true);
    expect((await readdir(view.mountpoint)).sort()).toEqual(["ha_agent", "images"]);
    expect((await readdir(join(view.mountpoint, "ha_agent"))).sort()).toEqual([
      "absolute.metadata",
      "hosted-engine.metadata",
    ]);
    expect(await readlink(viewMetadata)).toBe(`../images/${IMG}/${VOL}`);
    expect(await readlink(join(view.mountpoint, "ha_agent", "absolute.metadata"))).toBe(
      join(view.mountpoint, "images", IMG, VOL),
    );
    // a link made through the view to a path in the view points into the domain itself
    await symlink(join(view.mountpoint, "images"), join(view.mountpoint, "ha_agent", "made"));
    expect(await readlink(join(domain, "ha_agent", "made"))).toBe(join(domain, "images"));
    await rm(join(domain, "ha_agent", "made"));
  });

  it("serves the broker's O_DIRECT metadata I/O: whole-volume reads and 4 KiB segment writes at offsets", async () => {
    const other = randomBytes(SEG);
    const direct = await open(metadata, "r+");
    await direct.write(other, 0, SEG, 2 * SEG);
    await direct.close();

    const vol = await MetadataVolume.open(viewMetadata);
    try {
      expect(vol.directIo).toBe(true);
      const all = await vol.readAll();
      expect(all.length).toBe(2001 * SEG);
      expect(all.subarray(2 * SEG, 3 * SEG).equals(other)).toBe(true);
      await vol.writeSegment(1, segment(0x31));
      expect((await readAt(metadata, SEG, SEG)).equals(segment(0x31))).toBe(true);
      // another host's write straight to the domain is seen at once (no cache in the view)
      const next = randomBytes(SEG);
      const h = await open(metadata, "r+");
      await h.write(next, 0, SEG, 2 * SEG);
      await h.sync();
      await h.close();
      expect((await vol.readSegment(2)).equals(next)).toBe(true);
    } finally {
      await vol.close();
    }
  });

  it("cutWrites: the broker's segment write fails with EIO, reads go on, other hosts' segments stay intact", async () => {
    const host2 = randomBytes(SEG);
    const h = await open(metadata, "r+");
    await h.write(host2, 0, SEG, 2 * SEG);
    await h.write(segment(0x31), 0, SEG, SEG);
    await h.close();
    const store = new ReopeningMetadataStore(viewMetadata, silentLogger);
    try {
      await store.writeSegment(1, segment(0x41));
      await view.cutWrites();
      expect(await view.status()).toEqual({ mode: "writes-cut", errno: "EIO" });

      const failed = await store.writeSegment(1, segment(0x42)).catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(MetadataIoError);
      expect((failed as MetadataIoError).op).toBe("write");
      expect((failed as Error).message).toContain("EIO");
      // the store reopens the volume for its next cycle: opening for writing fails as well
      const again = await store.writeSegment(1, segment(0x43)).catch((e: unknown) => e);
      expect(again).toBeInstanceOf(MetadataIoError);
      expect((again as MetadataIoError).op).toBe("open");
      expect((again as Error).message).toContain("EIO");
    } finally {
      await store.close();
    }
    const all = await MetadataVolume.open(viewMetadata, { readOnly: true });
    try {
      const wb = await all.readAll();
      expect(wb.subarray(SEG, 2 * SEG).equals(segment(0x41))).toBe(true);
      expect(wb.subarray(2 * SEG, 3 * SEG).equals(host2)).toBe(true);
    } finally {
      await all.close();
    }
    expect((await readAt(metadata, SEG, SEG)).equals(segment(0x41))).toBe(true);
    expect((await readAt(metadata, 2 * SEG, SEG)).equals(host2)).toBe(true);
  });

  it("cutWrites: every way of writing through the view fails; the domain itself stays writable", async () => {
    await view.cutWrites();
    const inView = (p: string) => join(view.mountpoint, p);
    expect(await errnoOf(open(viewMetadata, "r+"))).toBe("EIO");
    expect(await errnoOf(truncate(viewMetadata, 0))).toBe("EIO");
    expect(await errnoOf(writeFile(inView("new-file"), "x"))).toBe("EIO");
    expect(await errnoOf(mkdir(inView("new-dir")))).toBe("EIO");
    expect(await errnoOf(rm(inView("ha_agent/hosted-engine.metadata")))).toBe("EIO");
    expect(await errnoOf(symlink("images", inView("new-link")))).toBe("EIO");
    expect((await readFile(viewMetadata)).length).toBe(METADATA_SIZE);
    expect((await readdir(inView("images"))).length).toBe(1);
    await writeFile(join(domain, "written-by-host-2"), "still fine");
    expect(await readFile(inView("written-by-host-2"), "utf8")).toBe("still fine");
    await rm(join(domain, "written-by-host-2"));
  });

  it("cutWrites(EROFS) answers 'read-only file system' instead", async () => {
    await view.cutWrites("EROFS");
    expect(await errnoOf(open(viewMetadata, "r+"))).toBe("EROFS");
    expect(await errnoOf(writeFile(join(view.mountpoint, "x"), "x"))).toBe("EROFS");
  });

  it("cutAll fails reads too; restore brings reads and writes back", async () => {
    await view.cutAll();
    expect(await errnoOf(readFile(viewMetadata))).toBe("EIO");
    expect(await errnoOf(readdir(view.mountpoint))).toBe("EIO");
    expect(await errnoOf(MetadataVolume.open(viewMetadata, { readOnly: true }))).toBe("EIO");
    await view.restore();
    expect(await view.status()).toEqual({ mode: "ok", errno: "EIO" });
    const vol = await MetadataVolume.open(viewMetadata);
    try {
      await vol.writeSegment(5, segment(0x55));
      expect((await vol.readSegment(5)).equals(segment(0x55))).toBe(true);
    } finally {
      await vol.close();
    }
  });

  it("unmount ends the helper by pid and removes the mount, even with a file still open", async () => {
    const held = await open(viewMetadata, "r");
    const pid = view.pid;
    await view.unmount();
    expect(await isMountPoint(view.mountpoint)).toBe(false);
    expect(view.running).toBe(false);
    expect(isAlive(pid)).toBe(false);
    expect(await errnoOf(held.read(Buffer.alloc(16), 0, 16, 0))).toBe("ENOTCONN");
    await held.close().catch(() => undefined);
    await view.unmount();
  });
});
