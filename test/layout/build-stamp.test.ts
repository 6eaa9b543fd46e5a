/**
 * The integration tests run the compiled binaries: they refuse a dist/ older than the
 * sources (test/support/global-setup.ts). Checked on a throw-away tree with set mtimes.
 */
import { mkdir, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildProblem, staleSources } from "../support/build-stamp.js";
import { removeDir, tempDir } from "../support/temp.js";

let repo: string;

async function touch(rel: string, seconds: number): Promise<void> {
  const file = path.join(repo, rel);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, "");
  await utimes(file, seconds, seconds);
}

describe("the build stamp check", () => {
  beforeAll(async () => {
    repo = await tempDir("stamp");
    await mkdir(path.join(repo, "src"), { recursive: true });
    await mkdir(path.join(repo, "lab"), { recursive: true });
  });
  afterAll(() => removeDir(repo));

  it("names the missing build", async () => {
    expect(await buildProblem(repo)).toMatch(
      /dist\/build-info\.json is missing: run "npm run build"/,
    );
  });

  it("passes a build newer than every source, and names each source edited after it", async () => {
    await touch("src/agent/a.ts", 1_000);
    await touch("lab/standins/b.ts", 1_000);
    await touch("dist/build-info.json", 2_000);
    expect(await buildProblem(repo)).toBeNull();
    await touch("lab/standins/b.ts", 3_000);
    await touch("src/agent/a.ts", 3_000);
    await touch("src/notes.md", 3_000); // not compiled: does not count
    expect((await staleSources(repo)).newer).toEqual(["lab/standins/b.ts", "src/agent/a.ts"]);
    expect(await buildProblem(repo)).toBe(
      'dist/ is older than lab/standins/b.ts, src/agent/a.ts: run "npm run build" (the tests start the compiled binaries)',
    );
  });
});
