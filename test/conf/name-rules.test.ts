import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isVirError, VirErrorCode } from '../../src/api/errors.js';
import { checkDomainName, MAX_NAME_BYTES, unsafeNameReason } from '../../src/conf/name-rules.js';
import { checkSnapshotName } from '../../src/conf/snapshot-xml.js';

test('control characters and over-long names are unsafe; ordinary names are not', () => {
  for (const bad of ['a\nb', 'a\tb', 'a\u007fb', 'a\u0001b', 'x'.repeat(MAX_NAME_BYTES + 1), 'é'.repeat(128)]) {
    assert.ok(unsafeNameReason(bad), JSON.stringify(bad));
  }
  for (const good of ['s1', 'before-upgrade', 'snäp', 'x'.repeat(MAX_NAME_BYTES), 'a b']) {
    assert.equal(unsafeNameReason(good), undefined, good);
  }
});

test('snapshot names: libvirt rules plus the unsafe ones', () => {
  const message = (name: string): string => {
    try {
      checkSnapshotName(name);
    } catch (err) {
      assert.ok(isVirError(err, VirErrorCode.XML_DETAIL));
      return err.message;
    }
    return 'accepted';
  };
  assert.equal(message('a/b'), "invalid snapshot name 'a/b': name can't contain '/'");
  assert.equal(message('..'), "invalid snapshot name '..': name can't start with '.'");
  assert.equal(message('a\nb'), "invalid snapshot name: name can't contain control characters");
  assert.equal(message('s1'), 'accepted');
});

test('domain names: no slash, not . or .., nothing unsafe', () => {
  for (const bad of ['a/b', '.', '..', 'a\nb', 'x'.repeat(300)]) {
    assert.throws(() => checkDomainName(bad), (err: unknown) => isVirError(err, VirErrorCode.XML_ERROR), bad);
  }
  assert.doesNotThrow(() => checkDomainName('db-01.example'));
});
