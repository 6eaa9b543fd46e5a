import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { OvfError } from "./errors.js";

/** Heap of the conversion worker: a hostile OVF exhausts this, not the daemon's own heap. */
const WORKER_HEAP_MB = 256;
/** A conversion that takes longer is abandoned (a real OVF takes milliseconds). */
const WORKER_TIMEOUT_MS = 30_000;

/**
 * The worker: the compiled .js next to this one; from TypeScript sources (tests, tsx)
 * a small bootstrap that registers tsx's loader in the worker first.
 */
function workerSource(): { source: string | URL; eval: boolean } {
  const here = fileURLToPath(import.meta.url);
  if (!here.endsWith(".ts"))
    return { source: new URL("./convert-worker.js", import.meta.url), eval: false };
  // the ESM entry of "tsx/esm/api" (require.resolve would give its CommonJS one)
  const pkg = createRequire(import.meta.url).resolve("tsx/package.json");
  const api = pathToFileURL(path.join(path.dirname(pkg), "dist/esm/api/index.mjs")).href;
  const body = new URL("./convert-worker.ts", import.meta.url).href;
  return {
    source: `import(${JSON.stringify(api)}).then((t) => { t.register(); return import(${JSON.stringify(body)}); });`,
    eval: true,
  };
}

/**
 * ovfToVmConf in a worker thread with its own bounded heap, so parsing never blocks the
 * caller's event loop and an OVF that would exhaust memory ends the worker, not the
 * daemon. Rejects with the converter's OvfError (same text), or an OvfError saying the
 * worker ran out of memory or time.
 */
export function ovfToVmConfOffThread(ovf: string): Promise<string> {
  const { source, eval: isEval } = workerSource();
  return new Promise((resolve, reject) => {
    const worker = new Worker(source, {
      eval: isEval,
      workerData: ovf,
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
      stdout: false,
      stderr: false,
    });
    let settled = false;
    const settle = (f: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      f();
    };
    const timer = setTimeout(
      () =>
        settle(() =>
          reject(new OvfError("document", `conversion took more than ${WORKER_TIMEOUT_MS} ms`)),
        ),
      WORKER_TIMEOUT_MS,
    );
    worker.once("message", (m: { vmConf?: string; error?: { name: string; message: string } }) => {
      settle(() => {
        if (m.vmConf !== undefined) resolve(m.vmConf);
        else {
          const e = new Error(m.error?.message ?? "conversion failed");
          e.name = m.error?.name ?? "Error";
          reject(e);
        }
      });
    });
    worker.once("error", (e: Error & { code?: string }) =>
      settle(() =>
        reject(
          e.code === "ERR_WORKER_OUT_OF_MEMORY"
            ? new OvfError("document", `conversion ran out of its ${WORKER_HEAP_MB} MB heap`)
            : e,
        ),
      ),
    );
    worker.once("exit", (code) =>
      settle(() => reject(new OvfError("document", `conversion worker exited with ${code}`))),
    );
  });
}
