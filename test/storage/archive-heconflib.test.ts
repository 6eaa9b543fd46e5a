import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CONF_MEMBERS,
  type ConfContents,
  writeConfArchive,
} from "../../src/storage/archive/conf-archive.js";
import { removeDir, tempDir } from "../support/temp.js";
import { ddTarList, haCheckout, NO_HA_CHECKOUT, readWithHeconflib } from "../support/upstream.js";

/**
 * What our writer puts on a configuration volume (`he-ha storage init`, `he-ha config
 * set`, updateConfMember: all writeConfArchive/buildConfArchive) is what a Python host
 * reads: the pipe heconflib runs (`dd bs=4k | tar -tvf -`) and the original's heconflib
 * itself (validateConfImage, extractConfFile), run from its checkout.
 */
const CONTENTS: ConfContents = {
  version: "2.5.3",
  "fhanswers.conf": "[environment:default]\nOVEHOSTED_NETWORK/fqdn=str:engine.example.com\n",
  "hosted-engine.conf":
    "fqdn=engine.example.com\nvm_disk_id=1b52d184-a370-48a7-8335-a4755b01ec0a\n",
  "broker.conf": "[email]\nsmtp-server = localhost\n",
  "vm.conf": "vmId=7e3a9f0c-1b2d-4c5e-8f90-a1b2c3d4e5f6\nmemSize=4096\n",
};

let dir: string;
let volume: string;

describe("the configuration archive our writer makes, read as a Python host reads it", () => {
  beforeAll(async () => {
    dir = await tempDir("archive-heconflib");
    volume = path.join(dir, "conf-volume");
    // a configuration volume: 1 MiB of old bytes, the archive written at its start
    await writeFile(volume, Buffer.alloc(1 << 20, 0x5a));
    await writeConfArchive(volume, CONTENTS);
  });
  afterAll(async () => {
    if (dir) await removeDir(dir);
  });

  it("dd bs=4k | tar -tvf - lists the five members", async () => {
    const r = await ddTarList(volume);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/compressed/i);
    for (const m of CONF_MEMBERS)
      expect(r.stdout).toMatch(new RegExp(` ${m.replace(".", "\\.")}\\n`));
  });

  it("the original's heconflib validates it and extracts every member", async (ctx) => {
    const checkout = haCheckout();
    if (!checkout) return ctx.skip(NO_HA_CHECKOUT);
    const read = await readWithHeconflib(checkout, volume);
    expect(read.valid).toBe(true);
    expect(read.members).toEqual(CONTENTS);
  });
});
