import { isIPv6 } from "node:net";

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
 * body is not read: the engine answers 200 only while its database is up.
 */
export async function checkLiveliness(
  url: string,
  timeoutS: number,
  signal: AbortSignal,
): Promise<LivelinessResult> {
  // One controller per check rather than AbortSignal.any over the monitor's long-lived
  // signal, so nothing accumulates on it between checks.
  const ac = new AbortController();
  let timedOut = false;
  const onAbort = () => ac.abort();
  signal.addEventListener("abort", onAbort, { once: true });
  const timer = setTimeout(() => {
    timedOut = true;
    ac.abort();
  }, timeoutS * 1000);
  timer.unref();
  try {
    const res = await fetch(url, { signal: ac.signal, redirect: "manual" });
    // only the status counts; an error while discarding the body changes nothing
    await res.body?.cancel().catch(() => undefined);
    return res.status === 200 ? { ok: true } : { ok: false, why: `HTTP ${res.status}` };
  } catch (err) {
    if (timedOut) return { ok: false, why: `no answer within ${timeoutS} s` };
    if (signal.aborted) return { ok: false, why: "stopped" };
    const e = err as Error & { cause?: { code?: string } };
    return { ok: false, why: e.cause?.code ?? e.message };
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
  }
}
