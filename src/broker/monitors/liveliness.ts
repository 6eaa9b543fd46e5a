import { isIPv6 } from "node:net";
import { HttpGetAborted, HttpGetTimeout, httpGet } from "../../common/http-get.js";

/** The engine's health page, as `hosted-engine --check-liveliness` asks it. */
export function engineHealthUrl(fqdn: string): string {
  const host = isIPv6(fqdn) ? `[${fqdn}]` : fqdn;
  return `http://${host}/ovirt-engine/services/health`;
}

export type LivelinessResult = { ok: true } | { ok: false; why: string };

/** GET of the engine's health page (checkLiveliness on a host). */
export type LivelinessCheck = (
  url: string,
  timeoutS: number,
  signal: AbortSignal,
) => Promise<LivelinessResult>;

/**
 * GET the health page; good only on HTTP 200 within the timeout (behaviour.md §5). The
 * body is not read: the engine answers 200 only while its database is up. node:http, not
 * fetch(): see common/http-get.ts.
 */
export async function checkLiveliness(
  url: string,
  timeoutS: number,
  signal: AbortSignal,
): Promise<LivelinessResult> {
  try {
    const res = await httpGet(url, { timeoutMs: timeoutS * 1000, signal, maxBody: 0 });
    return res.status === 200 ? { ok: true } : { ok: false, why: `HTTP ${res.status}` };
  } catch (err) {
    if (err instanceof HttpGetTimeout) return { ok: false, why: `no answer within ${timeoutS} s` };
    if (err instanceof HttpGetAborted || signal.aborted) return { ok: false, why: "stopped" };
    const e = err as NodeJS.ErrnoException;
    return { ok: false, why: e.code ?? e.message };
  }
}
