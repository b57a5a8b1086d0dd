import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AddressPolicy, classifyAddress, parseAllowEntry, parseAllowList } from './address-policy.js';

const refusedAs = (ip: string) => {
  const v = classifyAddress(ip);
  return v.allowed ? 'allowed' : v.label;
};

describe('classifyAddress', () => {
  it('refuses every IPv4 special-purpose range, at both ends', () => {
    const cases: [string, string][] = [
      ['0.0.0.0', 'unspecified'],
      ['0.255.255.255', 'unspecified'],
      ['10.0.0.1', 'private'],
      ['10.255.255.255', 'private'],
      ['100.64.0.1', 'shared (CGNAT)'],
      ['100.127.255.254', 'shared (CGNAT)'],
      ['127.0.0.1', 'loopback'],
      ['127.255.255.254', 'loopback'],
      ['169.254.169.254', 'link-local'],
      ['169.254.0.1', 'link-local'],
      ['172.16.0.1', 'private'],
      ['172.31.255.255', 'private'],
      ['192.0.0.8', 'IETF protocol assignments'],
      ['192.0.2.1', 'documentation'],
      ['198.51.100.7', 'documentation'],
      ['203.0.113.9', 'documentation'],
      ['192.88.99.1', '6to4 relay'],
      ['192.168.0.1', 'private'],
      ['192.168.255.255', 'private'],
      ['198.18.0.1', 'benchmarking'],
      ['198.19.255.255', 'benchmarking'],
      ['224.0.0.1', 'multicast'],
      ['239.255.255.250', 'multicast'],
      ['240.0.0.1', 'reserved'],
      ['255.255.255.255', 'reserved'],
    ];
    for (const [ip, label] of cases) assert.equal(refusedAs(ip), label, ip);
  });

  it('allows public IPv4 just outside those ranges', () => {
    for (const ip of [
      '1.1.1.1',
      '8.8.8.8',
      '9.255.255.255',
      '11.0.0.0',
      '100.63.255.255',
      '100.128.0.0',
      '126.255.255.255',
      '128.0.0.0',
      '169.253.255.255',
      '169.255.0.0',
      '172.15.255.255',
      '172.32.0.0',
      '192.167.255.255',
      '192.169.0.0',
      '198.17.255.255',
      '198.20.0.0',
      '223.255.255.255',
    ]) {
      assert.equal(refusedAs(ip), 'allowed', ip);
    }
  });

  it('refuses IPv6 loopback, unspecified, link-local, ULA, site-local, multicast and other special ranges', () => {
    const cases: [string, string][] = [
      ['::1', 'loopback'],
      ['0:0:0:0:0:0:0:1', 'loopback'],
      ['[::1]', 'loopback'],
      ['::', 'unspecified'],
      ['fe80::1', 'link-local'],
      ['fe80::1%eth0', 'link-local'],
      ['febf:ffff::1', 'link-local'],
      ['fc00::1', 'unique local'],
      ['fd12:3456:789a::1', 'unique local'],
      ['fec0::1', 'site-local'],
      ['ff02::1', 'multicast'],
      ['ff05::1:3', 'multicast'],
      ['2001:db8::1', 'documentation'],
      ['2001::1', 'IETF protocol assignments'],
      ['100::1', 'discard-only'],
      ['64:ff9b:1::1', 'local NAT64'],
      ['::2', 'IPv4-compatible IPv6 (deprecated)'],
      ['1::1', 'reserved'],
      ['4000::1', 'reserved'],
    ];
    for (const [ip, label] of cases) assert.equal(refusedAs(ip), label, ip);
  });

  it('judges IPv6 forms that carry an IPv4 address by that address', () => {
    const cases: [string, string][] = [
      ['::ffff:127.0.0.1', 'loopback'],
      ['::ffff:7f00:1', 'loopback'],
      ['[::ffff:127.0.0.1]', 'loopback'],
      ['0:0:0:0:0:ffff:7f00:0001', 'loopback'],
      ['::ffff:169.254.169.254', 'link-local'],
      ['::ffff:a00:1', 'private'],
      ['::ffff:0.0.0.0', 'unspecified'],
      ['::127.0.0.1', 'IPv4-compatible IPv6 (deprecated)'],
      ['::7f00:1', 'IPv4-compatible IPv6 (deprecated)'],
      ['64:ff9b::127.0.0.1', 'loopback (via NAT64)'],
      ['64:ff9b::a9fe:a9fe', 'link-local (via NAT64)'],
      ['2002:7f00:1::', 'loopback (via 6to4)'],
      ['2002:c0a8:1::1', 'private (via 6to4)'],
    ];
    for (const [ip, label] of cases) assert.equal(refusedAs(ip), label, ip);
    assert.equal(refusedAs('::ffff:8.8.8.8'), 'allowed');
    assert.equal(refusedAs('64:ff9b::808:808'), 'allowed');
    assert.equal(refusedAs('2002:808:808::1'), 'allowed');
  });

  it('allows global IPv6 unicast', () => {
    for (const ip of ['2606:4700:4700::1111', '2a00:1450:4001:82a::200e', '2001:4860:4860::8888'])
      assert.equal(refusedAs(ip), 'allowed', ip);
  });

  it('refuses what is not an IP literal (names, shorthand and numeric forms are never connected as such)', () => {
    for (const s of [
      'localhost',
      '127.1',
      '2130706433',
      '0x7f000001',
      '017700000001',
      '1.2.3',
      '1.2.3.4.5',
      '::ffff:1.2.3',
      '',
    ]) {
      assert.equal(refusedAs(s), 'not an IP address', s);
    }
  });
});

describe('the operator allow-list', () => {
  it('parses addresses, CIDRs and names with optional ports, and refuses junk', () => {
    assert.ok(parseAllowEntry('127.0.0.1')?.cidr);
    assert.equal(parseAllowEntry('127.0.0.1:8080')?.port, 8080);
    assert.equal(parseAllowEntry('[::1]:9000')?.port, 9000);
    assert.ok(parseAllowEntry('fd00::/8')?.cidr);
    assert.deepEqual(parseAllowEntry('Hooks.Corp.internal:8443'), { host: 'hooks.corp.internal', port: 8443 });
    for (const bad of ['10.0.0.0/33', 'http://x', 'a b', 'x:99999', '10.0.0.0/8/1', '-bad.example'])
      assert.equal(parseAllowEntry(bad), null, bad);
    assert.throws(() => parseAllowList(['ok.example', 'http://x']), /OUTBOUND_ALLOW_HOSTS: "http:\/\/x"/);
  });

  it('lets through only the listed ranges, names and ports', () => {
    const p = new AddressPolicy(parseAllowList(['10.20.0.0/16', '127.0.0.1:9000', 'hooks.internal']));
    assert.equal(p.check('10.20.3.4', 443).allowed, true);
    assert.equal(p.check('::ffff:10.20.3.4', 443).allowed, true);
    assert.equal(p.check('10.21.0.1', 443).allowed, false);
    assert.equal(p.check('127.0.0.1', 9000).allowed, true);
    assert.equal(p.check('127.0.0.1', 9001).allowed, false);
    assert.equal(p.check('169.254.169.254', 80).allowed, false);
    assert.equal(p.check('8.8.8.8', 80).allowed, true);
    assert.equal(p.hostAllowed('HOOKS.internal', 80), true);
    assert.equal(p.hostAllowed('other.internal', 80), false);
    assert.equal(new AddressPolicy().check('127.0.0.1', 80).allowed, false);
  });
});
