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
