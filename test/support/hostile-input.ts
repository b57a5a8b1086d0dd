/**
 * Values for one path segment (a model name, a version, an id), raw as they go on the wire: too long, percent-encoded
 * NULs, broken UTF-8, dot segments, numbers out of range, prototype keys, SQL. The security fuzzes of the api
 * (management-fuzz) and of the dashboard's pages (web-fuzz) send each of them.
 */
export const HOSTILE_SEGMENTS = [
  'a'.repeat(3000),
  '%00',
  'x%00y',
  '..%2F..%2Fetc%2Fpasswd',
  '%E0%A4%A',
  '%FF%FE',
  '-1',
  '0',
  '99999999999999999999999',
  '1e400',
  '0x10',
  '%F0%9F%98%80',
  '__proto__',
  'constructor',
  '%20',
  "'%20OR%201%3D1--",
  '%25',
];
