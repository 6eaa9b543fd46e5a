const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

const two = (n: number) => String(n).padStart(2, "0");

/**
 * Python's `time.ctime(seconds)`: local time as `Sat Nov 21 06:48:20 2026`, the day of
 * the month space-padded to two characters (`Jan  5`), fractional seconds dropped.
 */
export function pythonCtime(seconds: number): string {
  const d = new Date(Math.floor(seconds) * 1000);
  const day = String(d.getDate()).padStart(2, " ");
  return (
    `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${day} ` +
    `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ${d.getFullYear()}`
  );
}

/**
 * Unix seconds of a pythonCtime string (`Mon Dec  7 21:00:00 2026`), read in this
 * process's time zone as it was written in the writer's; null when it is not one.
 */
export function parseCtime(text: string): number | null {
  const m = /^\w{3} (\w{3}) +(\d{1,2}) (\d\d):(\d\d):(\d\d) (\d{4})$/.exec(text.trim());
  if (!m) return null;
  const month = MONTHS.indexOf(m[1]!);
  if (month < 0) return null;
  const d = new Date(Number(m[6]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]));
  return d.getTime() / 1000;
}
