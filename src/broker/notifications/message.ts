const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** Python's `email.utils.formatdate(localtime=True)`: "Sat, 21 Nov 2026 07:15:02 +0100". */
export function rfc2822LocalDate(d: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  const offsetMin = -d.getTimezoneOffset();
  const sign = offsetMin < 0 ? "-" : "+";
  const abs = Math.abs(offsetMin);
  return (
    `${DAYS[d.getDay()]}, ${two(d.getDate())} ${MONTHS[d.getMonth()]} ${d.getFullYear()} ` +
    `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ` +
    `${sign}${two(Math.floor(abs / 60))}${two(abs % 60)}`
  );
}

/**
 * The filled template as the original sent it: parsed as a message, a `Date` header
 * appended after the template's headers, lines ended with CRLF for SMTP.
 */
export function buildMessage(filled: string, date: Date): string {
  const text = filled.replace(/\r\n/g, "\n");
  const split = text.indexOf("\n\n");
  const headers = split < 0 ? text.replace(/\n$/, "") : text.slice(0, split);
  const body = split < 0 ? "" : text.slice(split + 2);
  const lines = headers === "" ? [] : headers.split("\n");
  lines.push(`Date: ${rfc2822LocalDate(date)}`);
  return `${lines.join("\r\n")}\r\n\r\n${body.replace(/\n/g, "\r\n")}`;
}
