import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

/**
 * A fresh directory `<tmpdir>/he-ha-<name>-XXXXXX`: the one temp-dir maker of the tests.
 * A test that needs a particular filesystem (a loop mount, /dev/shm, a directory inside
 * another test directory) makes its own, saying why.
 */
export function tempDir(name: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), `he-ha-${name}-`));
}

/** Removes `dir` and everything below it; no error when it is gone already. */
export function removeDir(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true });
}
