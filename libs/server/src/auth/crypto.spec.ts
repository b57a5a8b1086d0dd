import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  displayPrefix,
  generateApiKey,
  hashPassword,
  isOurKeyShape,
  sessionTokenHash,
  sha256Hex,
  storedPrefixOf,
  verifyPassword,
} from './crypto.js';

describe('generateApiKey', () => {
  it('has the my_<prefix>_<secret> shape and never repeats', () => {
    const keys = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const { key, prefix } = generateApiKey();
      assert.match(key, /^my_[a-z0-9]{8}_[A-Za-z0-9]{40}$/);
      assert.equal(key.split('_')[1], prefix);
      keys.add(key);
    }
    assert.equal(keys.size, 200);
  });
});

describe('displayPrefix', () => {
  it('shows our prefix, or a short stub of a foreign key', () => {
    assert.equal(displayPrefix('my_abcd1234_' + 'x'.repeat(40)), 'abcd1234');
    assert.equal(displayPrefix('operator-chosen-key-with-32-characters'), 'oper…');
  });
});

describe('hashPassword / verifyPassword', () => {
  it('uses argon2id, salts every hash and verifies only the right password', async () => {
    const a = await hashPassword('correct horse battery');
    const b = await hashPassword('correct horse battery');
    assert.match(a, /^\$argon2id\$/);
    assert.notEqual(a, b);
    assert.equal(await verifyPassword(a, 'correct horse battery'), true);
    assert.equal(await verifyPassword(a, 'correct horse batterY'), false);
    assert.equal(await verifyPassword('not-a-hash', 'x'), false);
  });

  it('hashes on a thread of its own at the lowest CPU priority (nice 19), not on the main thread', async () => {
    await verifyPassword(await hashPassword('correct horse battery'), 'correct horse battery');
    // /proc/self/task/<tid>/stat: field 19 is the thread's nice value (fields counted after the command name).
    const nice = (tid: string) =>
      Number(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]);
    const threads = readdirSync('/proc/self/task');
    assert.equal(nice(String(process.pid)), 0, 'the main thread keeps its priority');
    assert.ok(
      threads.some((tid) => nice(tid) === 19),
      `thread nice values: ${threads.map(nice).join(' ')}`,
    );
  });
});

describe('token hashing', () => {
  it('keys session hashes by the secret', () => {
    assert.notEqual(sessionTokenHash('secret-a', 't'), sessionTokenHash('secret-b', 't'));
    assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('storedPrefixOf', () => {
  it('names the stored prefix of our keys and of foreign (bootstrap) keys, none for tokens no key can be', () => {
    const { key, prefix } = generateApiKey();
    assert.equal(isOurKeyShape(key), true);
    assert.equal(storedPrefixOf(key), prefix);
    const foreign = 'operator-chosen-key-with-32-characters';
    assert.equal(storedPrefixOf(foreign), displayPrefix(foreign));
    for (const bad of ['short-token-xyz', `my_${prefix}_tooShort`, `my_${prefix.toUpperCase()}_${'a'.repeat(40)}`]) {
      assert.equal(isOurKeyShape(bad), false, bad);
    }
    assert.equal(storedPrefixOf('x'.repeat(31)), null);
    assert.equal(storedPrefixOf('x'.repeat(513)), null);
  });
});
