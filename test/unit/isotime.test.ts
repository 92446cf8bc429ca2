import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { hasPython, python } from '../helpers/python.js';
import { isoformat, nowIsoTime, parseIsoTime, StrataError, unixSeconds } from '../../src/index.js';


/** isoformat and unix seconds of `s`, or null where we reject it. */
function ours(s: string): [string, number] | null {
  try {
    const t = parseIsoTime(s, 'conf.json');
    return [isoformat(t), unixSeconds(t)];
  } catch (e) {
    if (e instanceof StrataError) return null;
    throw e;
  }
}

describe('parseIsoTime, isoformat and unixSeconds', () => {
  const cases: Array<[string, string, number]> = [
    ['1970-01-01T00:00:00Z', '1970-01-01T00:00:00+00:00', 0],
    ['2024-01-02', '2024-01-02T00:00:00', 1704153600],
    ['20240102', '2024-01-02T00:00:00', 1704153600],
    ['2024-01-02T03:04:05', '2024-01-02T03:04:05', 1704164645],
    ['20240102T030405', '2024-01-02T03:04:05', 1704164645],
    ['2024-01-02 03:04', '2024-01-02T03:04:00', 1704164640],
    ['2024-01-02x03', '2024-01-02T03:00:00', 1704164400],
    ['2024-01-02T03:04:05.5', '2024-01-02T03:04:05.500000', 1704164645],
    ['2024-01-02T03:04:05,123456789', '2024-01-02T03:04:05.123456', 1704164645],
    ['2024-01-02T03:04:05.000000', '2024-01-02T03:04:05', 1704164645],
    ['2024-01-02T03:04:05-00:00', '2024-01-02T03:04:05+00:00', 1704164645],
    ['2024-01-02T03:04:05+01:00', '2024-01-02T03:04:05+01:00', 1704161045],
    ['2024-01-02T03:04:05-0530', '2024-01-02T03:04:05-05:30', 1704184445],
    ['2024-01-02T03:04:05+05', '2024-01-02T03:04:05+05:00', 1704146645],
    ['2024-01-02T03:04:05+01:02:03', '2024-01-02T03:04:05+01:02:03', 1704160922],
    ['2024-01-02T00:00:00-01:00:00.5', '2024-01-02T00:00:00-01:00:00.500000', 1704157200],
    ['2024-01-02T00:00:00+00:00:00.5', '2024-01-02T00:00:00+00:00', 1704153600],
    ['2024-W01-2', '2024-01-02T00:00:00', 1704153600],
    ['2020W537T12', '2021-01-03T12:00:00', 1609675200],
    ['0001-01-01T00:00:00+01:00', '0001-01-01T00:00:00+01:00', -62135600400],
    ['9999-12-31T23:59:59.999999+00:00', '9999-12-31T23:59:59.999999+00:00', 253402300800],
    ['1969-12-31T23:59:59.5Z', '1969-12-31T23:59:59.500000+00:00', 0],
    ['1969-12-31T23:59:58.5Z', '1969-12-31T23:59:58.500000+00:00', -1],
    ['2024-01-02\udc8003:04', '2024-01-02T03:04:00', 1704164640],
  ];
  for (const [input, iso, seconds] of cases) {
    it(`reads ${JSON.stringify(input)}`, () => assert.deepEqual(ours(input), [iso, seconds]));
  }

  it('keeps the instant and the offset', () => {
    assert.deepEqual(parseIsoTime('2024-01-02T03:04:05.25+02:00', 'x'), {
      epochMicros: 1704157445250000n,
      offsetSeconds: 7200,
    });
    assert.deepEqual(parseIsoTime('2024-01-02', 'x'), { epochMicros: 1704153600000000n, offsetSeconds: null });
  });

  const rejected = [
    '',
    '2024-01',
    '2024-1-02',
    '2024-01-02T',
    '2024-01-02 ',
    ' 2024-01-02',
    '2024-01-02T3',
    '2024-01-02T03:4',
    '2024-01-02T03:04:05z',
    '2024-01-02T03:04:05Z ',
    '2024-01-02T03:04:05+1',
    '2024-13-02',
    '2024-02-30',
    '0000-01-01',
    '2024-01-02T24:00',
    '2024-01-02T03:60',
    '2024-01-02T03:04:60',
    '2024-01-02T00:00+24:00',
    '2023-W53',
    '2024-01\udc80-02',
    '2024-01-02T03:04\udc80',
    // Accepted by some Python versions only.
    '2024-01-02T03.5',
    '2024-01-02T03:04.5',
    '2024-01-02T03:04:05:123',
    '2024-01-02T00:00+05:99',
  ];
  for (const input of rejected) {
    it(`rejects ${JSON.stringify(input)}`, () => assert.equal(ours(input), null));
  }

  it('names the source and the expected form', () => {
    assert.throws(
      () => parseIsoTime('yesterday', 'conf.json created'),
      new StrataError(
        "conf.json created: 'yesterday' is not an ISO 8601 time such as 2024-01-02, 2024-01-02T03:04:05 or 2024-01-02T03:04:05.678+01:00",
      ),
    );
    assert.throws(() => parseIsoTime('2024-02-30', 'm'), new StrataError("m: '2024-02-30' has a day outside its month"));
  });

  it('tells the time now, in UTC to the microsecond', () => {
    const before = Date.now();
    const t = nowIsoTime();
    const after = Date.now();
    assert.equal(t.offsetSeconds, 0);
    // Between the clock readings around it (Date.now() is in whole milliseconds).
    assert.ok(BigInt(before) * 1000n <= t.epochMicros && t.epochMicros < (BigInt(after) + 1n) * 1000n, `${before} <= ${t.epochMicros} us <= ${after}`);
    assert.match(isoformat(t), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$/);
  });
});

describe('against python3', { skip: !hasPython && 'python3 is not on PATH' }, () => {
  // Read the same by Python 3.11 and later.
  const stable = [
    '2024-01-02', '20240102', '2024-W01', '2024W01', '2024-W01-1', '2024W017', '2020-W53', '2020W537', '2021-W53',
    '2024-01-02T03', '2024-01-02T0304', '2024-01-02T03:04', '2024-01-02T030405', '2024-01-02T03:04:05',
    '2024-01-02T03:04:05.1', '2024-01-02T03:04:05.12', '2024-01-02T03:04:05.123', '2024-01-02T03:04:05.1234',
    '2024-01-02T03:04:05.12345', '2024-01-02T03:04:05.123456', '2024-01-02T03:04:05.1234567',
    '2024-01-02T03:04:05.999999999', '2024-01-02T03:04:05,5', '2024-01-02T030405.5', '2024-01-02T03:04:05.',
    '2024-01-02T03:04:05Z', '2024-01-02T03:04:05.5Z', '2024-01-02T03Z', '2024-01-02T03:04:05+00:00',
    '2024-01-02T03:04:05-00:00', '2024-01-02T03:04:05+01', '2024-01-02T03:04:05+0130', '2024-01-02T03:04:05+01:30',
    '2024-01-02T03:04:05-01:30', '2024-01-02T03:04:05+01:30:15', '2024-01-02T03:04:05+013015',
    '2024-01-02T03:04:05+01:30:15.25', '2024-01-02T03:04:05-01:30:15.000001', '2024-01-02T03:04:05+00:00:00.5',
    '2024-01-02T03:04:05+23:59:59.999999', '2024-01-02T03:04:05-23:59', '2024-01-02T03:04:05+24:00',
    '2024-01-02T03:04:05+1', '2024-01-02T03:04:05+01:', '2024-01-02T03:04:05+0130x', '2024-01-02T03:04:05Z+01',
    '2024-01-02T03:04:05+01:00Z', '2024-01-02 03:04', '2024-01-02t03:04', '2024-01-02_03:04', '2024-01-02é03:04',
    '2024-01-02😀03:04', '2024-01-02\udc8003:04', '2024-01-02\ud80003:04', '2024-01-02T03:04\udc80', '2024-01-0203:04',
    '2024-01-02-03:04', '2024-01-02T03:04x+01:00', '2024-01-02T03.+01:00', '2024-01-02T03:04:05.+01:00',
    '2024-01-02T0', '2024-01-02T003', '2024-01-02T03:4', '2024-01-02T03::04', '2024-01-02T03:0405', '2024-01-02T0304:05',
    '2024-01-02T03:04:05 ', ' 2024-01-02', '2024-01-02 ', '2024-01-02T', '2024-01-02T03:04:05z',
    '2024-01-02T03:04:05\u0000', '2024-01-02T03:04Z\u0000x', '2024-01-02T03:04\u0000x',
    '2024-W01-112:00', '2024-W01-1-12:00', '2024-W0112:00', '2024W0112:00', '2024W01112:00', '2024W011T12:00',
    '2024-W011', '2024W01-1', '2024-W01-', '2024-W00', '2024-W54', '2024-W01-0', '2024-W01-8', '2023-W53',
    '0000-W01-1', '9999-W52-5', '9999-W52-6', '0001-W01-1',
    '2024-1-02', '2024-01-2', '2024/01/02', '2024-0102', '202401-02', '2024-01', '2024010', '202401',
    '0000-01-01', '0001-01-01', '9999-12-31', '10000-01-01', '2024-00-01', '2024-13-01', '2024-01-00', '2024-01-32',
    '2023-02-29', '2024-02-29', '1900-02-29', '2000-02-29', '2024-01-02T23:59:59.999999', '2024-01-02T24:00',
    '2024-01-02T03:60', '2024-01-02T03:04:60', '1969-12-31T23:59:59.999999Z', '1969-12-31T23:59:59.000001+00:00',
    '1970-01-01T00:00:00.000001-00:00:01', '0001-01-01T00:00:00+23:59', '9999-12-31T23:59:59-23:59',
    '9999-12-31T23:59:59.999999+00:00', '9999-12-31T23:59:59.999999', '0001-01-01T00:00:00',
    '1234-05-06T07:08:09.101112-13:14:15.161718', 'now', 'yesterday', '', '2024',
  ];

  // Mutations of valid times; on these we must never accept what Python
  // rejects, nor read anything differently (we may reject what only some
  // Python versions accept).
  const fuzz: string[] = [];
  const seeds = ['2024-01-02T03:04:05.678+01:30', '20240102T030405,5Z', '2024-W01-2T03:04:05-00:30:15.5'];
  const alphabet = '0123456789-:.,+ZWT \u00e9';
  let seed = 0x9e3779b9;
  const next = (n: number): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  for (let i = 0; i < 6000; i++) {
    const chars = [...seeds[next(seeds.length)]!];
    for (let edits = 1 + next(3); edits > 0; edits--) {
      const at = next(chars.length + 1);
      const c = alphabet[next(alphabet.length)]!;
      const kind = next(3);
      if (kind === 0) chars.splice(at, 1);
      else if (kind === 1) chars.splice(at, 0, c);
      else chars[at] = c;
    }
    fuzz.push(chars.join(''));
  }

  let answer: { stable: Array<[string, number] | null>; fuzz: Array<[string, number] | null> };
  before(() => {
    answer = python(
      `
import json, sys
from datetime import datetime, timezone
def read(s):
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        return None
    # Naive times as UTC, as strata reads them.
    seconds = int((dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)).timestamp())
    return [dt.isoformat(), seconds]
cases = json.load(sys.stdin)
print(json.dumps({"stable": [read(s) for s in cases["stable"]], "fuzz": [read(s) for s in cases["fuzz"]]}))
`,
      { stable, fuzz },
    ) as typeof answer;
  });

  it('reads times identically', () => {
    stable.forEach((s, i) => assert.deepEqual(ours(s), answer.stable[i], JSON.stringify(s)));
  });

  it('accepts no mutated time that Python rejects or reads differently', () => {
    let accepted = 0;
    fuzz.forEach((s, i) => {
      const mine = ours(s);
      if (mine === null) return;
      accepted++;
      assert.deepEqual(mine, answer.fuzz[i], JSON.stringify(s));
    });
    assert.ok(accepted > 100, `only ${accepted} mutations were valid`);
  });
});
