/**
 * Worker thread body of ovfToVmConfOffThread: converts the OVF it is given and posts
 * `{ vmConf }` or `{ error: { name, message } }` back.
 */
import { parentPort, workerData } from "node:worker_threads";
import { ovfToVmConf } from "./ovf-to-vmconf.js";

try {
  parentPort?.postMessage({ vmConf: ovfToVmConf(workerData as string) });
} catch (e) {
  const err = e instanceof Error ? e : new Error(String(e));
  parentPort?.postMessage({ error: { name: err.name, message: err.message } });
}
