import type { HostTime } from "../common/host-time.js";
import type { Logger } from "../common/log.js";
import type { LocalFacts } from "../explain/gather.js";
import { type DoctorFacts, type Finding, runChecks } from "./checks.js";

/** `GET /v1/doctor`'s answer: the latest findings and how old they are. */
export interface DoctorAnswer {
  findings: Finding[];
  /** wall-clock seconds (epoch) when the facts were gathered */
  checked_at: number;
  /** seconds since then, at the time of the answer */
  age_seconds: number;
}

export interface DoctorScheduleOptions {
  /** this host's explain inputs in local files (explain/gather.ts), bounded in time */
  gatherLocal: () => Promise<LocalFacts>;
  /** reads every doctor fact once; each I/O check bounded by its own timeout (doctor/gather.ts) */
  gatherDoctor: () => Promise<DoctorFacts>;
  /** seconds between the end of one run and the start of the next */
  intervalSeconds: number;
  time: HostTime;
  log: Logger;
}

/**
 * Gathers `he-ha doctor`'s facts and explain's local facts on the broker's own schedule
 * (never two runs at once: the next starts `intervalSeconds` after the last ended) and
 * keeps the latest, so a `/metrics` scrape answers from memory with the facts' age and a
 * hung VDSM or slow storage never slows or hangs it. Only `GET /v1/doctor` and explain's
 * first answers wait, for the first run (bounded by the per-check timeouts).
 */
export class DoctorSchedule {
  private doctor: { facts: DoctorFacts; atWallMs: number } | undefined;
  private local: LocalFacts | undefined;
  private firstLocal: Promise<void> | undefined;
  private firstDoctor: Promise<void> | undefined;
  private cancel: (() => void) | undefined;
  private stopped = false;

  constructor(private readonly o: DoctorScheduleOptions) {}

  start(): void {
    if (this.firstDoctor !== undefined || this.stopped) return;
    const run = this.runOnce();
    this.firstLocal = run.local;
    this.firstDoctor = run.doctor;
  }

  stop(): void {
    this.stopped = true;
    this.cancel?.();
  }

  private runOnce(): { local: Promise<void>; doctor: Promise<void> } {
    const local = this.o.gatherLocal().then(
      (l) => {
        this.local = l;
      },
      (e: unknown) => this.o.log.warn({ err: e as Error }, "explain's local facts not read"),
    );
    const doctor = local
      .then(() => this.o.gatherDoctor())
      .then(
        (facts) => {
          this.doctor = { facts, atWallMs: this.o.time.wallMs() };
        },
        // gather reports unknowns as facts: an exception here is a bug, logged, retried
        (e: unknown) => this.o.log.warn({ err: e as Error }, "doctor checks failed; retried"),
      )
      .finally(() => {
        if (!this.stopped) {
          this.cancel = this.o.time.after(this.o.intervalSeconds, () => {
            this.runOnce();
          });
        }
      });
    return { local, doctor };
  }

  /** explain's local facts: the latest read (the first call waits for the first read). */
  async localFacts(): Promise<LocalFacts> {
    this.start();
    if (this.local === undefined) await this.firstLocal;
    return this.local ?? { localMaintenance: false, vmMemSizeMb: null };
  }

  /** The latest findings with their age, without waiting; undefined before the first run. */
  peek(staleAfterSeconds?: number): DoctorAnswer | undefined {
    const got = this.doctor;
    if (got === undefined) return undefined;
    const facts = staleAfterSeconds === undefined ? got.facts : { ...got.facts, staleAfterSeconds };
    return {
      findings: runChecks(facts),
      checked_at: got.atWallMs / 1000,
      age_seconds: Math.max(0, (this.o.time.wallMs() - got.atWallMs) / 1000),
    };
  }

  /** The latest findings with their age (the first call waits for the first run). */
  async answer(staleAfterSeconds?: number): Promise<DoctorAnswer> {
    this.start();
    if (this.doctor === undefined) await this.firstDoctor;
    const a = this.peek(staleAfterSeconds);
    if (a === undefined)
      throw new Error("doctor checks have not completed yet (see the broker log)");
    return a;
  }
}
