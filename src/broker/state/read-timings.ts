/** The durations of the broker's last whiteboard reads (seconds), for `he-ha doctor`. */
export class ReadTimings {
  private readonly samples: number[] = [];

  constructor(private readonly keep = 60) {}

  add(seconds: number): void {
    this.samples.push(seconds);
    if (this.samples.length > this.keep) this.samples.shift();
  }

  recent(): number[] {
    return [...this.samples];
  }
}
