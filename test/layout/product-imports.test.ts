/**
 * The product tree (src/, what runs on a host) imports nothing from the lab (lab/: the demo
 * and the real-daemon harness), the tests or the benchmarks: the RPM and the container ship
 * dist/src alone, so such an import would break on a host.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const OUTSIDE_PRODUCT = ["lab", "test", "bench"];

/** Every module specifier of a TypeScript text: static imports, re-exports, import(). */
function specifiers(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/\b(?:from|import)\s*\(?\s*["']([^"']+)["']/g)) found.push(m[1]!);
  return found;
}

/** The imports of `file` (a path under the repo) that resolve outside src/ into the lab, test/ or bench/. */
function forbidden(file: string, text: string): string[] {
  return specifiers(text).filter((s) => {
    if (!s.startsWith(".")) return false;
    const rel = path.relative(REPO, path.resolve(path.dirname(path.join(REPO, file)), s));
    return OUTSIDE_PRODUCT.includes(rel.split(path.sep)[0] ?? "");
  });
}

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(path.join(REPO, dir), { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith(".ts"))
    .map((e) => path.relative(REPO, path.join(e.parentPath, e.name)));
}

describe("the product tree", () => {
  it("finds a lab, test or bench import wherever it is written", () => {
    const text = [
      'import { a } from "../../lab/sim/processes.js";',
      'export { b } from "../../test/support/x.js";',
      'const c = await import("../../bench/run.js");',
      'import { d } from "../common/log.js";',
      'import { e } from "node:fs";',
    ].join("\n");
    expect(forbidden("src/agent/x.ts", text)).toEqual([
      "../../lab/sim/processes.js",
      "../../test/support/x.js",
      "../../bench/run.js",
    ]);
  });

  it("src/ imports nothing from lab/, test/ or bench/", async () => {
    const files = await sourceFiles("src");
    expect(files.length).toBeGreaterThan(100);
    const bad: string[] = [];
    for (const f of files) {
      for (const s of forbidden(f, await readFile(path.join(REPO, f), "utf8")))
        bad.push(`${f}: ${s}`);
    }
    expect(bad).toEqual([]);
  });
});
