/**
 * The product tree (src/, what runs on a host) imports nothing from the lab (lab/: the demo
 * and the real-daemon harness), the tests or the benchmarks: the RPM and the container ship
 * dist/src alone, so such an import would break on a host. Inside src/, every import runs
 * down the layers of SRC_LAYERS (the one place the order is written), and no files import
 * each other in a circle (type-only imports count: a circle of types is a circle of
 * concepts); the lab is held to no circle either.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const OUTSIDE_PRODUCT = ["lab", "test", "bench"];

/**
 * The layers of src/, bottom first: a folder imports only from folders of lower layers
 * (and from itself). Folders of one layer do not import each other. A new top folder of
 * src/ must be placed here.
 */
const SRC_LAYERS: readonly (readonly string[])[] = [
  ["common"], // configuration, logging, time, shared words (states, monitors)
  ["sanlock", "score"], // sanlock through koffi; the pure score
  ["storage"], // the storage domain: volumes, whiteboard codec, OVF, connecting
  ["libvirt"], // the hypervisor and the domain XML
  ["vdsm"], // VDSM's JSON-RPC and what rides on it
  ["broker"], // ovirt-ha-broker
  ["agent"], // ovirt-ha-agent
  ["simulator", "explain"], // both daemons on one virtual clock; why a host acts as it does
  ["doctor"], // what could make failover fail; explain's and doctor's reports as the broker serves them
  ["whatif"], // the simulator seeded from the live cluster
  ["cli"], // he-ha
  ["bin"], // the entry points
];

const LAYER_OF = new Map(SRC_LAYERS.flatMap((layer, i) => layer.map((f) => [f, i] as const)));

/** The file (repo-relative, .ts) a relative specifier of `file` names; undefined for packages. */
function target(file: string, spec: string): string | undefined {
  if (!spec.startsWith(".")) return undefined;
  const rel = path.relative(REPO, path.resolve(path.dirname(path.join(REPO, file)), spec));
  return rel.replace(/\.js$/, ".ts");
}

/** "src/<folder>/..." → folder ("" for a file directly in src/). */
const folderOf = (file: string) => file.split(path.sep)[1] ?? "";

/** The imports of a src/ file that run up a layer or sideways into another folder of its layer. */
function upward(file: string, text: string): string[] {
  const from = folderOf(file);
  return specifiers(text).filter((s) => {
    const to = target(file, s);
    if (to === undefined || !to.startsWith(`src${path.sep}`)) return false;
    const dest = folderOf(to);
    if (dest === from) return false;
    const a = LAYER_OF.get(from);
    const b = LAYER_OF.get(dest);
    return a === undefined || b === undefined || b >= a;
  });
}

/** The import circles among `graph`'s files (strongly connected parts of more than one file). */
function circles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const part: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        part.push(w);
      } while (w !== v);
      if (part.length > 1) out.push(part.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

async function importGraph(dir: string): Promise<Map<string, string[]>> {
  const graph = new Map<string, string[]>();
  for (const f of await sourceFiles(dir)) {
    const text = await readFile(path.join(REPO, f), "utf8");
    const deps = specifiers(text).flatMap((s) => target(f, s) ?? []);
    graph.set(f, deps);
  }
  return graph;
}

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
      'import { a } from "../../lab/standins/processes.js";',
      'export { b } from "../../test/support/x.js";',
      'const c = await import("../../bench/run.js");',
      'import { d } from "../common/log.js";',
      'import { e } from "node:fs";',
    ].join("\n");
    expect(forbidden("src/agent/x.ts", text)).toEqual([
      "../../lab/standins/processes.js",
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

  it("finds an import that runs up a layer or sideways, and an import circle", () => {
    const text = [
      'import { a } from "../agent/daemon.js";',
      'import { b } from "../common/log.js";',
      'import { c } from "./storage-cycle.js";',
      'import { d } from "../score/score.js";',
    ].join("\n");
    expect(upward(path.join("src", "broker", "x.ts"), text)).toEqual(["../agent/daemon.js"]);
    expect(upward(path.join("src", "sanlock", "x.ts"), text)).toEqual([
      "../agent/daemon.js",
      "../score/score.js",
    ]);
    const g = new Map([
      ["a", ["b"]],
      ["b", ["c"]],
      ["c", ["a"]],
      ["d", ["a"]],
    ]);
    expect(circles(g)).toEqual([["a", "b", "c"]]);
  });

  it("every import of src/ runs down the layers, and every top folder has a layer", async () => {
    const files = await sourceFiles("src");
    const folders = new Set(files.map(folderOf).filter((f) => !f.endsWith(".ts")));
    expect([...folders].filter((f) => !LAYER_OF.has(f))).toEqual([]);
    const bad: string[] = [];
    for (const f of files) {
      for (const s of upward(f, await readFile(path.join(REPO, f), "utf8"))) bad.push(`${f}: ${s}`);
    }
    expect(bad).toEqual([]);
  });

  it("no files of src/ or lab/ import each other in a circle", async () => {
    expect(circles(await importGraph("src"))).toEqual([]);
    expect(circles(await importGraph("lab"))).toEqual([]);
  });
});
