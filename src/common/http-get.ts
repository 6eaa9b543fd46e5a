import http from "node:http";

/**
 * One plain-HTTP GET through node:http (not `fetch()`, whose undici stack costs a daemon
 * ~10 MiB and needs WebAssembly, which `--jitless` removes). Redirects are not followed.
 * Resolves with the status and the body's first line (up to `maxBody` bytes are read);
 * rejects with `HttpGetTimeout` when no full answer came within `timeoutMs`, with
 * `HttpGetAborted` when `signal` aborted, else with the socket's error (its `code`, e.g.
 * ECONNREFUSED, kept).
 */
export interface HttpGetResult {
  status: number;
  firstLine: string;
}

export class HttpGetTimeout extends Error {
  override name = "HttpGetTimeout";
}

export class HttpGetAborted extends Error {
  override name = "HttpGetAborted";
}

export function httpGet(
  url: string,
  opts: { timeoutMs: number; signal?: AbortSignal; maxBody?: number },
): Promise<HttpGetResult> {
  const maxBody = opts.maxBody ?? 4096;
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      fn();
    };
    const req = http.get(url, { agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let n = 0;
      const finish = () => {
        const text = Buffer.concat(chunks).toString("utf8");
        done(() =>
          resolve({ status: res.statusCode ?? 0, firstLine: text.trim().split("\n")[0] ?? "" }),
        );
        res.destroy();
      };
      // only the status wanted: settled at the headers, as fetch() resolves
      if (maxBody === 0) return finish();
      res.on("data", (c: Buffer) => {
        if (n < maxBody) chunks.push(c.subarray(0, maxBody - n));
        n += c.length;
        if (n >= maxBody) finish();
      });
      res.on("end", finish);
      res.on("error", (e) => done(() => reject(e)));
    });
    const onAbort = () => {
      done(() => reject(new HttpGetAborted("aborted")));
      req.destroy();
    };
    const timer = setTimeout(() => {
      done(() => reject(new HttpGetTimeout(`no answer within ${opts.timeoutMs} ms`)));
      req.destroy();
    }, opts.timeoutMs);
    timer.unref();
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener("abort", onAbort, { once: true });
    req.on("error", (e) => done(() => reject(e)));
  });
}
