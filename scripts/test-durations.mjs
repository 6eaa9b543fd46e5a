#!/usr/bin/env node
// Prints each test file's duration from the last `npm test` (test-results.json), longest
// first, with the share of the suite: what test/support/sequencer.ts starts first.
import { readFileSync } from "node:fs";
import path from "node:path";

const r = JSON.parse(readFileSync(process.argv[2] ?? "test-results.json", "utf8"));
const rows = r.testResults
  .map((t) => [(t.endTime - t.startTime) / 1000, path.relative(process.cwd(), t.name)])
  .sort((a, b) => b[0] - a[0]);
const total = rows.reduce((s, [d]) => s + d, 0);
for (const [d, f] of rows.slice(0, Number(process.env.TOP ?? 25)))
  console.log(`${d.toFixed(0).padStart(5)} s  ${((100 * d) / total).toFixed(1).padStart(5)} %  ${f}`);
console.log(`${total.toFixed(0).padStart(5)} s  in ${rows.length} files`);
