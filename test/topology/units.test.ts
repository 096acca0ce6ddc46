import { describe, expect, it } from 'vitest';
import { interpolate, parseDuration, parseSize } from '../../src/topology/units.ts';

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['60s', 60_000],
    ['5m', 300_000],
    ['24h', 86_400_000],
    ['30d', 2_592_000_000],
    ['1w', 604_800_000],
    ['1h30m', 5_400_000],
    ['1.5s', 1500],
    ['-5s', -5000],
    [' 2m ', 120_000],
  ])('%s -> %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['60', 'sixty', '5 minutes', '1.0001ms', '', 's', '5M', '1h 30m'])('refuses %j', (text) => expect(parseDuration(text)).toBeUndefined());
});

describe('parseSize', () => {
  it.each([
    ['64MiB', 64 * 1024 * 1024],
    ['1MB', 1_000_000],
    ['512KiB', 524_288],
    ['1kB', 1000],
    ['2GiB', 2 * 1024 ** 3],
    ['100B', 100],
    ['1.5KiB', 1536],
  ])('%s -> %d bytes', (text, bytes) => expect(parseSize(text)).toBe(bytes));

  it.each(['64', '64mb', 'big', '1TiB', 'kiB'])('refuses %j', (text) => expect(parseSize(text)).toBeUndefined());
});

describe('interpolate', () => {
  const env = { PREFIX: 'prod_', EMPTY: '' };
  it.each([
    ['${PREFIX}users', { value: 'prod_users' }],
    ['${MISSING:-dev_}users', { value: 'dev_users' }],
    ['${EMPTY:-x}', { value: 'x' }],
    ['${EMPTY}', { value: '' }],
    ['${PREFIX:-x}${PREFIX}', { value: 'prod_prod_' }],
    ['$${PREFIX} and $topic', { value: '${PREFIX} and $topic' }],
    ['no references', { value: 'no references' }],
    ['${MISSING}', { error: 'environment variable MISSING is not set (write ${MISSING:-default} to give a default)', unset: 'MISSING' }],
    ['a${PREFIX', { error: 'has an unclosed "${" at column 2' }],
    ['${1BAD}', { error: 'has a malformed variable reference "${1BAD}" (write ${NAME} or ${NAME:-default})' }],
  ])('%s', (text, expected) => expect(interpolate(text, env)).toEqual(expected));
});
