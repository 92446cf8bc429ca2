/**
 * Python `datetime` semantics for conf.json's `created` and `mtime`:
 * `datetime.fromisoformat`, `datetime.isoformat()` and `int(dt.timestamp())`.
 */
import { performance } from 'node:perf_hooks';
import { StrataError } from '../errors.js';
import { pyRepr } from './pyrepr.js';

export interface IsoTime {
  /** The UTC instant in microseconds since 1970 (for a naive time: as if it were UTC). */
  epochMicros: bigint;
  /**
   * Offset from UTC in seconds, east positive; null for a naive time. Python
   * allows offsets with microseconds, so this may have a fraction.
   */
  offsetSeconds: number | null;
}

const US_PER_SECOND = 1_000_000n;
const US_PER_DAY = 86_400n * US_PER_SECOND;

const DASH = 0x2d;
const COLON = 0x3a;
const DOT = 0x2e;
const COMMA = 0x2c;
const PLUS = 0x2b;
const W = 0x57;
const Z = 0x5a;

/** Reads a byte; past the end it reads 0, like the NUL that ends a C string. */
type ByteAt = (i: number) => number;

interface Clock {
  hour: number;
  minute: number;
  second: number;
  micro: number;
  /** Something other than the end of the text follows what was read. */
  trailing: boolean;
}

interface Fields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  micro: number;
  offsetMicros: number | null;
}

/**
 * Parse `s` as Python 3.11+'s `datetime.fromisoformat` does. Where Python
 * versions disagree, accept only what all of 3.11 to 3.14 accept: 3.11 also
 * reads a decimal mark after the hour or minute (`12.5`) and a colon before
 * the fraction (`12:30:45:123`), up to 3.13 an offset's minutes and seconds
 * may exceed 59 (`+05:99`), and 3.14 reads `24:00` as the next midnight.
 * The caller handles conf.json's `"now"`.
 */
export function parseIsoTime(s: string, source: string): IsoTime {
  const f = parseFields(s);
  const bad = (why: string): never => {
    throw new StrataError(`${source}: ${pyRepr(s)} ${why}`);
  };
  if (f === null) {
    return bad('is not an ISO 8601 time such as 2024-01-02, 2024-01-02T03:04:05 or 2024-01-02T03:04:05.678+01:00');
  }
  if (f.year < 1 || f.year > 9999) bad(`has year ${f.year}, expected 1..9999`);
  if (f.month < 1 || f.month > 12) bad('has a month outside 1..12');
  if (f.day < 1 || f.day > daysInMonth(f.year, f.month)) bad('has a day outside its month');
  if (f.hour > 23) bad('has an hour outside 0..23');
  if (f.minute > 59) bad('has a minute outside 0..59');
  if (f.second > 59) bad('has a second outside 0..59');
  if (f.offsetMicros !== null && Math.abs(f.offsetMicros) >= 86_400_000_000) {
    bad('has a UTC offset of 24 hours or more');
  }
  const wallMicros =
    BigInt(daysFromCivil(f.year, f.month, f.day)) * US_PER_DAY +
    BigInt((f.hour * 60 + f.minute) * 60 + f.second) * US_PER_SECOND +
    BigInt(f.micro);
  return {
    epochMicros: wallMicros - BigInt(f.offsetMicros ?? 0),
    offsetSeconds: f.offsetMicros === null ? null : f.offsetMicros / 1e6,
  };
}

/**
 * Python reads the UTF-8 bytes of the text with C string conventions; we do
 * the same so that odd inputs get the same answer.
 */
function parseFields(s: string): Fields | null {
  const chars = [...s];
  if (chars.length < 7) return null;
  // The separator alone may be a lone surrogate (it then reads as 'T'); Python
  // looks for one where a separator can be.
  const surrogateSeparator = [7, 8, 10].find((i) => i < chars.length && isSurrogate(chars[i]!));
  if (surrogateSeparator !== undefined) chars[surrogateSeparator] = 'T';
  if (chars.some(isSurrogate)) return null;
  const bytes = new TextEncoder().encode(chars.join(''));
  const at: ByteAt = (i) => (i < bytes.length ? bytes[i]! : 0);

  const dateEnd = dateLength(at, bytes.length);
  if (dateEnd < 0) return null;
  const date = readDate(at, dateEnd);
  if (date === null) return null;
  if (bytes.length <= dateEnd) {
    return { ...date, hour: 0, minute: 0, second: 0, micro: 0, offsetMicros: null };
  }
  // Any one character separates date and time; skip its UTF-8 bytes.
  const lead = at(dateEnd);
  const timeStart = dateEnd + (lead < 0x80 ? 1 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2);
  const time = readTime(at, timeStart, bytes.length);
  return time === null ? null : { ...date, ...time };
}

function isSurrogate(c: string): boolean {
  const cp = c.codePointAt(0)!;
  return cp >= 0xd800 && cp <= 0xdfff;
}

function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}

/** The value of `count` decimal digits at `start`, or -1 if any is not a digit. */
function digitsAt(at: ByteAt, start: number, count: number): number {
  let n = 0;
  for (let i = start; i < start + count; i++) {
    if (!isDigit(at(i))) return -1;
    n = n * 10 + at(i) - 0x30;
  }
  return n;
}

/**
 * How many bytes the date takes (so where the separator is), or -1. The
 * forms are YYYY-MM-DD, YYYYMMDD, YYYY-Www, YYYYWww, YYYY-Www-D and YYYYWwwD.
 */
function dateLength(at: ByteAt, length: number): number {
  if (length === 7) return 7;
  if (at(4) === DASH) {
    if (at(5) !== W) return 10;
    if (length > 8 && at(8) === DASH) {
      if (length === 9) return -1;
      // YYYY-Www-D, unless a digit follows, which makes it YYYY-Www, '-', hour.
      return length > 10 && isDigit(at(10)) ? 8 : 10;
    }
    return 8;
  }
  if (at(4) === W) {
    // Time fields come in digit pairs, so an odd run of digits after Www
    // holds the weekday digit.
    let end = 7;
    while (end < length && isDigit(at(end))) end++;
    if (end < 9) return end;
    return end % 2 === 0 ? 7 : 8;
  }
  return 8;
}

function readDate(at: ByteAt, end: number): { year: number; month: number; day: number } | null {
  const year = digitsAt(at, 0, 4);
  if (year < 0) return null;
  const dashes = at(4) === DASH;
  let p = dashes ? 5 : 4;
  if (at(p) === W) {
    const week = digitsAt(at, p + 1, 2);
    if (week < 0) return null;
    p += 3;
    let weekday = 1;
    if (p < end) {
      if (dashes && at(p++) !== DASH) return null;
      weekday = digitsAt(at, p, 1);
      if (weekday < 0) return null;
    }
    return isoWeekDate(year, week, weekday);
  }
  const month = digitsAt(at, p, 2);
  if (month < 0) return null;
  p += 2;
  if (dashes && at(p++) !== DASH) return null;
  const day = digitsAt(at, p, 2);
  return day < 0 ? null : { year, month, day };
}

/** The calendar date of ISO year, week and weekday (Monday = 1). */
function isoWeekDate(year: number, week: number, weekday: number): { year: number; month: number; day: number } | null {
  if (year < 1 || weekday < 1 || weekday > 7) return null;
  const jan1 = daysFromCivil(year, 1, 1);
  const jan1Weekday = mod(jan1 + 3, 7); // Monday = 0; 1970-01-01 was a Thursday
  // Years that start on a Thursday, and leap years that start on a Wednesday, have 53 weeks.
  const weeks = jan1Weekday === 3 || (jan1Weekday === 2 && isLeap(year)) ? 53 : 52;
  if (week < 1 || week > weeks) return null;
  // Week 1 is the one with the year's first Thursday.
  const week1Monday = jan1 - jan1Weekday + (jan1Weekday > 3 ? 7 : 0);
  const [y, month, day] = civilFromDays(week1Monday + (week - 1) * 7 + weekday - 1);
  return { year: y, month, day };
}

/** Time of day and offset from the text after the separator. */
function readTime(at: ByteAt, start: number, end: number): Omit<Fields, 'year' | 'month' | 'day'> | null {
  // The offset starts at the first 'Z', '+' or '-'.
  let tz = start;
  while (tz < end && at(tz) !== Z && at(tz) !== PLUS && at(tz) !== DASH) tz++;
  const clock = readClock(at, start, tz);
  if (clock === null) return null;
  const { hour, minute, second, micro } = clock;
  // Stray text after the clock is an error only when no offset follows it.
  if (tz === end) return clock.trailing ? null : { hour, minute, second, micro, offsetMicros: null };
  if (at(tz) === Z) return at(tz + 1) === 0 ? { hour, minute, second, micro, offsetMicros: 0 } : null;
  const off = readClock(at, tz + 1, end);
  if (off === null || off.trailing || off.minute > 59 || off.second > 59) return null;
  const sign = at(tz) === DASH ? -1 : 1;
  const offSeconds = off.hour * 3600 + off.minute * 60 + off.second;
  // Python drops the offset's microseconds when its whole seconds are zero.
  const offsetMicros = offSeconds === 0 ? 0 : sign * (offSeconds * 1e6 + off.micro);
  return { hour, minute, second, micro, offsetMicros };
}

/** HH[:MM[:SS[.f...]]] or HHMMSS style, between `start` and `end` (exclusive); no range checks. */
function readClock(at: ByteAt, start: number, end: number): Clock | null {
  const hms = [0, 0, 0];
  const clock = (micro: number, trailing: boolean): Clock => {
    const [hour = 0, minute = 0, second = 0] = hms;
    return { hour, minute, second, micro, trailing };
  };
  let colons = false;
  let p = start;
  for (let field = 0; field < 3; field++) {
    const n = digitsAt(at, p, 2);
    if (n < 0) return null;
    hms[field] = n;
    const c = at(p + 2);
    p += 3;
    if (field === 0) colons = c === COLON;
    if (p >= end) return clock(0, c !== 0);
    if (colons && c === COLON) {
      if (field === 2) return null;
      continue;
    }
    if (c === DOT || c === COMMA) {
      if (field < 2) return null;
      break;
    }
    if (colons) return null;
    p--; // no separators: the next field starts right here
  }
  // Up to six fraction digits count; Python skips further digits.
  const count = Math.min(end - p, 6);
  const fraction = digitsAt(at, p, count);
  if (fraction < 0) return null;
  p += count;
  while (isDigit(at(p))) p++;
  return clock(fraction * 10 ** (6 - count), at(p) !== 0);
}

/** Python's `datetime.isoformat()`. */
export function isoformat(t: IsoTime): string {
  const offsetMicros = t.offsetSeconds === null ? 0n : BigInt(Math.round(t.offsetSeconds * 1e6));
  const wall = t.epochMicros + offsetMicros;
  const days = floorDiv(wall, US_PER_DAY);
  const [year, month, day] = civilFromDays(Number(days));
  const [h, m, s, us] = splitMicros(Number(wall - days * US_PER_DAY));
  let out = `${pad(year, 4)}-${pad(month)}-${pad(day)}T${pad(h)}:${pad(m)}:${pad(s)}`;
  if (us !== 0) out += '.' + pad(us, 6);
  if (t.offsetSeconds === null) return out;
  const [oh, om, os, ous] = splitMicros(Math.abs(Number(offsetMicros)));
  out += `${offsetMicros < 0n ? '-' : '+'}${pad(oh)}:${pad(om)}`;
  if (os !== 0 || ous !== 0) out += ':' + pad(os);
  if (ous !== 0) out += '.' + pad(ous, 6);
  return out;
}

/**
 * `int(dt.timestamp())`: seconds since 1970, truncated toward zero. Python
 * takes a naive time as local time; we take it as UTC so that output never
 * depends on the TZ of the machine that builds the image.
 */
export function unixSeconds(t: IsoTime): number {
  // Python divides the microseconds by 10**6 into a float, correctly rounded,
  // so .999999 can round up to the next second. Parsing the exact decimal
  // rounds the same way.
  const abs = t.epochMicros < 0n ? -t.epochMicros : t.epochMicros;
  const decimal = `${t.epochMicros < 0n ? '-' : ''}${abs / US_PER_SECOND}.${pad(Number(abs % US_PER_SECOND), 6)}`;
  return Math.trunc(Number(decimal)) + 0; // + 0 turns -0 into 0
}

/** The current time in UTC, to the microsecond, like `datetime.now(tz=timezone.utc)`. */
export function nowIsoTime(): IsoTime {
  // The wall clock's milliseconds (timeOrigin plus the monotonic clock drifts
  // from it when the clock is adjusted), the monotonic clock's microseconds.
  const micros = BigInt(Date.now()) * 1000n + BigInt(Math.floor((performance.now() % 1) * 1000));
  return { epochMicros: micros, offsetSeconds: 0 };
}

function splitMicros(micros: number): [number, number, number, number] {
  const seconds = Math.floor(micros / 1e6);
  return [Math.floor(seconds / 3600), Math.floor(seconds / 60) % 60, seconds % 60, micros % 1e6];
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b < 0n ? q - 1n : q;
}

function isLeap(y: number): boolean {
  return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
}

function daysInMonth(y: number, m: number): number {
  return m === 2 ? (isLeap(y) ? 29 : 28) : [31, 0, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]!;
}

// Proleptic Gregorian day numbers (days since 1970-01-01), after Howard
// Hinnant's civil-date algorithms: years are counted from March so the leap
// day falls at the end of the 400-year era.
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yearOfEra = yy - era * 400;
  const dayOfYear = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

function civilFromDays(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const dayOfEra = z - era * 146097;
  const yearOfEra = Math.floor(
    (dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36524) - Math.floor(dayOfEra / 146096)) / 365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153);
  const month = mp < 10 ? mp + 3 : mp - 9;
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  return [yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day];
}
