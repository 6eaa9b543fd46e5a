import { loadHostConfig } from "../../common/host-config.js";
import { httpGet } from "../../common/http-get.js";
import { haPaths } from "../../common/paths.js";
import { CliError, UsageError } from "../errors.js";

export interface LivelinessResult {
  url: string;
  healthy: boolean;
  /** HTTP status, absent when the engine did not answer */
  status?: number;
  /** the health page's text (first line), or why it could not be read */
  detail: string;
}

/** The engine's health page (behaviour.md §5): healthy only on HTTP 200. */
export async function checkLiveliness(fqdn: string, timeoutMs: number): Promise<LivelinessResult> {
  const url = `http://${fqdn}/ovirt-engine/services/health`;
  try {
    const res = await httpGet(url, { timeoutMs });
    return { url, healthy: res.status === 200, status: res.status, detail: res.firstLine };
  } catch (e) {
    return { url, healthy: false, detail: (e as Error).message };
  }
}

/** `he-ha liveliness`: the engine of hosted-engine.conf `fqdn`; exit 1 when not healthy. */
export async function liveliness(opts: { timeout: string; json?: boolean }): Promise<void> {
  const seconds = Number(opts.timeout);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new UsageError(`--timeout "${opts.timeout}" is not a positive number`);
  const conf = await loadHostConfig(haPaths().hostConf);
  if (!conf.fqdn) throw new CliError(`${haPaths().hostConf}: fqdn (the engine's name) is not set`);
  const result = await checkLiveliness(conf.fqdn, seconds * 1000);
  if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    const how =
      result.status === undefined ? result.detail : `HTTP ${result.status}: ${result.detail}`;
    process.stdout.write(
      `${result.healthy ? "Hosted Engine is up!" : "Hosted Engine is not up!"} (${result.url}: ${how})\n`,
    );
  }
  if (!result.healthy) process.exitCode = 1;
}
