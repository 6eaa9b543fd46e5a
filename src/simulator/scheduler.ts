import { SeededRandom } from "./random.js";

interface Timer {
  at: number;
  /** tie-break among timers due at the same time: insertion order, or seeded when shuffled */
  rank: number;
  seq: number;
  fire: () => void;
  cancelled: boolean;
}

/**
 * One virtual clock for the whole simulated cluster. Code under simulation waits with
 * `sleep`/`after`; `runUntil` advances time to the next due timer, fires it and lets every
 * promise chain it resumed settle before the next one, so each agent loop runs whole and
 * the run depends only on the scenario and the seed, never on the machine.
 */
export class VirtualScheduler {
  private t = 0;
  private seq = 0;
  private readonly timers: Timer[] = [];
  private readonly random: SeededRandom | null;

  /** `seed`: shuffle the order of timers due at the same instant (null: insertion order) */
  constructor(seed: number | null = null) {
    this.random = seed === null ? null : new SeededRandom(seed);
  }

  /** virtual seconds since the start */
  get now(): number {
    return this.t;
  }

  /** Calls `fn` after `seconds`; returns a cancel function. */
  after(seconds: number, fn: () => void): () => void {
    const timer: Timer = {
      at: this.t + Math.max(0, seconds),
      rank: this.random ? this.random.next() : 0,
      seq: this.seq++,
      fire: fn,
      cancelled: false,
    };
    this.timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  /** Calls `fn` every `seconds`, first after `first` seconds (default one period). */
  every(seconds: number, fn: () => void, first = seconds): () => void {
    let cancel = () => {};
    let stopped = false;
    const tick = () => {
      if (stopped) return;
      fn();
      if (!stopped) cancel = this.after(seconds, tick);
    };
    cancel = this.after(first, tick);
    return () => {
      stopped = true;
      cancel();
    };
  }

  /** A promise resolved after `ms` of virtual time (at once for ms ≤ 0 or an aborted signal). */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted || ms <= 0) return resolve();
      const cancel = this.after(ms / 1000, done);
      function done() {
        cancel();
        signal?.removeEventListener("abort", done);
        resolve();
      }
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  /** Lets every promise chain resumed so far run until it waits on the clock again. */
  async settle(): Promise<void> {
    // in-memory ports only: one macrotask turn drains every microtask they queue
    await new Promise<void>((r) => setImmediate(r));
  }

  /** Fires timers in time order until `end` (inclusive), calling `afterEach` after each; the clock then reads `end`. */
  async runUntil(end: number, afterEach?: () => void): Promise<void> {
    await this.settle();
    for (;;) {
      const next = this.popDue(end);
      if (!next) break;
      this.t = next.at;
      next.fire();
      await this.settle();
      afterEach?.();
    }
    this.t = Math.max(this.t, end);
  }

  private popDue(end: number): Timer | undefined {
    let best = -1;
    for (let i = 0; i < this.timers.length; i++) {
      const c = this.timers[i]!;
      if (c.cancelled || c.at > end) continue;
      const b = best < 0 ? undefined : this.timers[best]!;
      if (
        !b ||
        c.at < b.at ||
        (c.at === b.at && (c.rank < b.rank || (c.rank === b.rank && c.seq < b.seq)))
      )
        best = i;
    }
    // drop cancelled timers now and then so the list stays short
    if (this.timers.length > 256) {
      const keep = this.timers.filter((t, i) => i === best || !t.cancelled);
      const chosen = best < 0 ? undefined : this.timers[best];
      this.timers.length = 0;
      this.timers.push(...keep);
      best = chosen ? this.timers.indexOf(chosen) : -1;
    }
    if (best < 0) return undefined;
    return this.timers.splice(best, 1)[0];
  }
}
