/**
 * A domain's sector geometry (src/common/sector-geometry.ts) and its sanlock flags
 * (src/sanlock/sector-flags.ts): what VDSM's StorageDomain.getInfo and dom_md/metadata
 * say turned into one value, the combinations sanlock refuses refused with the source
 * named, and the flag bits checked against sanlock's own header.
 */
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  blockVolumeLeaseOffset,
  checkDeviceSectorSize,
  DEFAULT_GEOMETRY,
  geometryFromDomainMetadata,
  geometryFromVdsmDomainInfo,
  MiB,
  maxHosts,
  parseAlignment,
  parseSectorSize,
  SectorGeometryError,
  SectorSizeMismatchError,
} from "../../src/common/sector-geometry.js";
import { directInitGeometryArgs, geometryFlags } from "../../src/sanlock/sector-flags.js";
import { geometryThroughVdsm } from "../../src/storage/domain-geometry.js";

const SD = "8e2b4bb1-4f2e-4ac8-9e0b-0f3b9a9f2c11";
const SANLOCK_H = "/usr/include/sanlock.h";

describe("geometry from VDSM's StorageDomain.getInfo", () => {
  it("reads block_size and alignment of a 4K domain", () => {
    expect(geometryFromVdsmDomainInfo({ block_size: 4096, alignment: 2 * MiB }, SD)).toEqual({
      sectorSize: 4096,
      alignment: 2 * MiB,
    });
  });

  it("takes 1 MiB when alignment is missing, and refuses a missing block_size as the original does", () => {
    expect(geometryFromVdsmDomainInfo({ block_size: 512 }, SD)).toEqual(DEFAULT_GEOMETRY);
    expect(() => geometryFromVdsmDomainInfo({ alignment: MiB }, SD)).toThrow(
      `StorageDomain.getInfo of ${SD}: no block_size`,
    );
  });

  it("refuses what sanlock cannot use, naming the source", () => {
    expect(() => geometryFromVdsmDomainInfo({ block_size: 1024 }, SD)).toThrow(
      /StorageDomain.getInfo of .*: sector size 1024 is not 512 or 4096/,
    );
    expect(() => geometryFromVdsmDomainInfo({ block_size: 512, alignment: 2 * MiB }, SD)).toThrow(
      /512-byte sectors need 1 MiB alignment/,
    );
    expect(() => geometryFromVdsmDomainInfo({ block_size: 4096, alignment: 3 * MiB }, SD)).toThrow(
      SectorGeometryError,
    );
    expect(() => geometryFromVdsmDomainInfo({ block_size: "4k" }, SD)).toThrow(
      /not a whole number/,
    );
  });
});

describe("geometry from dom_md/metadata", () => {
  it("reads BLOCK_SIZE and ALIGNMENT, and VDSM's defaults for a domain written before them", () => {
    const g = geometryFromDomainMetadata(
      new Map([
        ["BLOCK_SIZE", "4096"],
        ["ALIGNMENT", String(8 * MiB)],
      ]),
      "dom_md/metadata",
    );
    expect(g).toEqual({ sectorSize: 4096, alignment: 8 * MiB });
    expect(maxHosts(g)).toBe(2000);
    expect(geometryFromDomainMetadata(new Map([["VERSION", "4"]]), "m")).toEqual(DEFAULT_GEOMETRY);
  });

  it("names the file and key of a bad value", () => {
    expect(() =>
      geometryFromDomainMetadata(new Map([["BLOCK_SIZE", "lots"]]), "/sd/dom_md/metadata"),
    ).toThrow('/sd/dom_md/metadata: BLOCK_SIZE "lots" is not a whole number');
  });
});

describe("a device of another sector size", () => {
  it("is refused with the device named; an unmeasurable one (no O_DIRECT) is let through", () => {
    const g = { sectorSize: 4096, alignment: MiB } as const;
    let err: unknown;
    try {
      checkDeviceSectorSize(g, "/dev/loop7", 512, "4K/1M from dom_md/metadata");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SectorSizeMismatchError);
    expect((err as Error).message).toBe(
      "/dev/loop7 has 512-byte sectors but the storage domain uses 4096-byte sectors (4K/1M from dom_md/metadata): not touching it",
    );
    expect(() => checkDeviceSectorSize(g, "/dev/loop7", 4096, "x")).not.toThrow();
    expect(() => checkDeviceSectorSize(g, "/mnt/tmpfs/ids", null, "x")).not.toThrow();
  });
});

describe("sanlock's view", () => {
  it("host ids per lockspace follow sanlock_admin.h's table", () => {
    expect([1, 2, 4, 8].map((m) => maxHosts({ sectorSize: 4096, alignment: m * MiB }))).toEqual([
      250, 500, 1000, 2000,
    ]);
    expect(maxHosts(DEFAULT_GEOMETRY)).toBe(2000);
  });

  it("volume leases on a block domain sit at (100 + slot) x alignment (VDSM blockSD)", () => {
    expect(blockVolumeLeaseOffset(3, DEFAULT_GEOMETRY)).toBe(103 * MiB);
    expect(blockVolumeLeaseOffset(3, { sectorSize: 4096, alignment: 2 * MiB })).toBe(206 * MiB);
    expect(() => blockVolumeLeaseOffset(-1, DEFAULT_GEOMETRY)).toThrow(/slot -1/);
  });

  it("direct init gets -Z and -A, and no geometry adds nothing", () => {
    expect(directInitGeometryArgs({ sectorSize: 4096, alignment: 4 * MiB })).toEqual([
      "-Z",
      "4096",
      "-A",
      "4M",
    ]);
    expect(directInitGeometryArgs(undefined)).toEqual([]);
    expect(geometryFlags(undefined)).toBe(0);
  });

  it.skipIf(!existsSync(SANLOCK_H))(
    "the flag bits are sanlock.h's SANLK_LSF_/SANLK_RES_ ALIGN and SECTOR values (skipped without libsanlock-dev: no header to compare with)",
    () => {
      const header = readFileSync(SANLOCK_H, "utf8");
      const define = (name: string) => {
        const m = new RegExp(`#define\\s+${name}\\s+(0x[0-9a-fA-F]+)`).exec(header);
        if (!m) throw new Error(`${name} not in ${SANLOCK_H}`);
        return Number(m[1]);
      };
      for (const prefix of ["SANLK_LSF_", "SANLK_RES_"]) {
        for (const m of [1, 2, 4, 8]) {
          expect(geometryFlags({ sectorSize: 4096, alignment: m * MiB })).toBe(
            define(`${prefix}ALIGN${m}M`) | define(`${prefix}SECTOR4K`),
          );
        }
        expect(geometryFlags(DEFAULT_GEOMETRY)).toBe(
          define(`${prefix}ALIGN1M`) | define(`${prefix}SECTOR512`),
        );
      }
    },
  );
});

describe("the CLI's words", () => {
  it("accepts 512, 4096, 4K and 1M..8M; refuses others", () => {
    expect(parseSectorSize("4K")).toBe(4096);
    expect(parseSectorSize("512")).toBe(512);
    expect(parseAlignment("2M")).toBe(2 * MiB);
    expect(parseAlignment(String(8 * MiB))).toBe(8 * MiB);
    expect(() => parseSectorSize("1024")).toThrow('sector size "1024" is not 512 or 4096');
    expect(() => parseAlignment("3M")).toThrow('alignment "3M" is not 1M, 2M, 4M or 8M');
  });
});

describe("the geometry through VDSM", () => {
  it("is StorageDomain.getInfo's block_size and alignment; a domain VDSM does not know reads null (the metadata file decides); other errors pass", async () => {
    const asked: string[] = [];
    const api = (answer: () => Promise<unknown>) => ({
      storageDomainInfo: (sd: string) => {
        asked.push(sd);
        return answer();
      },
    });
    const fourK = geometryThroughVdsm(
      api(async () => ({ block_size: 4096, alignment: 2 * MiB })),
      SD,
    );
    expect(await fourK()).toEqual({ sectorSize: 4096, alignment: 2 * MiB });
    expect(asked).toEqual([SD]);
    const unknown = geometryThroughVdsm(
      api(() =>
        Promise.reject(Object.assign(new Error("Storage domain does not exist"), { code: 358 })),
      ),
      SD,
    );
    expect(await unknown()).toBeNull();
    const down = geometryThroughVdsm(
      api(() => Promise.reject(new Error("ECONNREFUSED"))),
      SD,
    );
    await expect(down()).rejects.toThrow("ECONNREFUSED");
  });
});
