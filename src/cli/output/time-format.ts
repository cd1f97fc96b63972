/** Time formatting as virsh's strftime("%Y-%m-%d %H:%M:%S %z") over localtime_r. */

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** Formats epoch seconds in local time as `YYYY-MM-DD HH:MM:SS +ZZZZ`. */
export function formatLocalTime(epochSeconds: number): string {
  const d = new Date(epochSeconds * 1000);
  const offsetMinutes = -d.getTimezoneOffset();
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} `
    + `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} `
    + `${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`;
}
