/**
 * Use after close(): every call of the public API on a closed connection, and on the
 * domains and snapshots reached through it, throws VIR_ERR_INVALID_CONN with libvirt's
 * "invalid connection pointer in <function>", on every driver, and changes nothing.
 * The sweep walks the classes' prototypes, so a method added later is swept too. Also:
 * `await using` closes a connection, and state the driver cannot read is a VirError.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect, Connection, Domain, DomainSnapshot, GroupSnapshot, isVirError, VirError, VirErrorCode } from '../../src/index.js';
import { domainXml, makeImages } from '../helpers/domain-fixture.js';
import { openQemuTestEnv } from '../helpers/qemu-connection.js';
import { makeTempDir } from '../helpers/temp-dir.js';

/** Accessors that read the handle itself, not the connection: they keep answering. */
const HANDLE_ACCESSORS = new Set(['constructor', 'getName', 'getUUIDString', 'getID', 'getConnect', 'getDomain']);

/** The public methods of `proto` (private ones are #names and are not on the prototype). */
function publicMethods(proto: object, internal: readonly string[]): string[] {
  return Object.getOwnPropertyNames(proto)
    .filter((name) => !HANDLE_ACCESSORS.has(name) && !internal.includes(name))
    .filter((name) => typeof Object.getOwnPropertyDescriptor(proto, name)?.value === 'function');
}

/** Calls every public method of `target` and asserts each throws INVALID_CONN; returns how many. */
async function sweep(target: object, proto: object, internal: readonly string[], args: Record<string, unknown[]>): Promise<number> {
  const methods = publicMethods(proto, internal);
  for (const name of methods) {
    const method = Reflect.get(target, name) as (...a: unknown[]) => unknown;
    await assert.rejects(async () => method.apply(target, args[name] ?? ['x']), (err: unknown) => {
      assert.ok(err instanceof VirError, `${name}: ${String(err)}`);
      assert.equal(err.code, VirErrorCode.INVALID_CONN, `${name}: ${err.message}`);
      assert.match(err.message, /^invalid connection pointer in vir[A-Za-z]+$/, name);
      return true;
    }, name);
  }
  return methods.length;
}

/** Internal members, close(), which is idempotent, and EventEmitter's removeAllListeners (no call of a driver). */
const CONNECTION_INTERNAL = ['driverFor', 'driver', 'denyIfReadOnly', 'denySecureIfReadOnly', 'snapshotChanged', 'close', 'removeAllListeners'];

async function sweepAll(conn: Connection, dom: Domain, snap: DomainSnapshot): Promise<void> {
  await conn.close();
  const swept = await sweep(conn, Connection.prototype, CONNECTION_INTERNAL, { domainLookupByID: [1] })
    + await sweep(dom, Domain.prototype, ['handle'], { revertToSnapshot: [snap] })
    + await sweep(snap, DomainSnapshot.prototype, [], {})
    + await sweep(GroupSnapshot.of(conn, 'g'), GroupSnapshot.prototype, [], {});
  // Connection 15 + Domain 23 + DomainSnapshot 11 + GroupSnapshot 5 public calls today:
  // fewer means the sweep lost some.
  assert.ok(swept >= 54, `only ${swept} methods swept`);
  assert.ok(dom.getName().length > 0, 'handle accessors still answer');
}

test('test driver: every call after close() is VIR_ERR_INVALID_CONN with libvirt message', async () => {
  const conn = await connect('test:///default');
  const dom = await conn.domainLookupByName('test');
  const snap = await dom.snapshotCreateXML('<domainsnapshot><name>s1</name></domainsnapshot>');
  await sweepAll(conn, dom, snap);
  assert.equal(snap.getName(), 's1');
});

test('qemu driver: every call after close() is VIR_ERR_INVALID_CONN, and nothing changed', async () => {
  const env = await openQemuTestEnv();
  try {
    const dom = await env.conn.domainDefineXML(domainXml('after-close', await makeImages(env.imageDir, 'after-close', ['qcow2'])));
    const snap = await dom.snapshotCreateXML('<domainsnapshot><name>s1</name></domainsnapshot>');
    await sweepAll(env.conn, dom, snap);
    const again = await env.reopen();
    const reopened = await again.domainLookupByName('after-close');
    assert.deepEqual(await reopened.snapshotListNames(), ['s1'], 'the sweep created or deleted nothing');
  } finally {
    await env.cleanup();
  }
});

test('the error names the libvirt function and its subsystem', async () => {
  const conn = await connect('test:///default');
  const dom = await conn.domainLookupByName('test');
  await conn.close();
  await assert.rejects(() => conn.listAllDomains(), { code: VirErrorCode.INVALID_CONN, domain: 0, message: 'invalid connection pointer in virConnectListAllDomains' });
  await assert.rejects(() => dom.getState(), { code: VirErrorCode.INVALID_CONN, domain: 20, message: 'invalid connection pointer in virDomainGetState' });
  await assert.rejects(() => dom.snapshotCreateXML('<domainsnapshot/>'), { code: VirErrorCode.INVALID_CONN, domain: 35, message: 'invalid connection pointer in virDomainSnapshotCreateXML' });
  await conn.close(); // closing twice is no error, as with a Node stream
});

test('await using closes the connection at the end of the block, once', async () => {
  let outer: Connection | undefined;
  {
    await using conn = await connect('test:///default');
    outer = conn;
    assert.equal((await conn.listAllDomains()).length, 1);
  }
  await assert.rejects(() => outer!.listAllDomains(), (err: unknown) => isVirError(err, VirErrorCode.INVALID_CONN));
  // Disposing a connection closed by hand is no error (close() inside `await using` is common).
  await outer[Symbol.asyncDispose]();
  await outer.close();
});

test('state the qemu driver cannot read is a VirError, never a raw exception', async () => {
  const tmp = await makeTempDir();
  // A file operation that failed with an errno is libvirt's system error; the store's own verdicts are operation failed.
  const cases: Array<[string, () => Promise<void>, VirErrorCode, RegExp]> = [
    ['damaged database', async () => { await mkdir(join(tmp.path, 'a')); await writeFile(join(tmp.path, 'a', 'snapvirt.db'), Buffer.alloc(8192, 0x5a)); },
      VirErrorCode.OPERATION_FAILED, /^operation failed: state database '.*' is damaged/],
    ['database is a directory', async () => { await mkdir(join(tmp.path, 'b', 'snapvirt.db'), { recursive: true }); },
      VirErrorCode.SYSTEM_ERROR, /^cannot open state database '.*': Is a directory$/],
    ['state dir is a file', async () => { await writeFile(join(tmp.path, 'c'), 'not a directory'); },
      VirErrorCode.OPERATION_FAILED, /^operation failed: state directory '.*' is not a directory$/],
  ];
  try {
    for (const [index, [what, make, code, message]] of cases.entries()) {
      await make();
      const saved = process.env.SNAPVIRT_STATE_DIR;
      process.env.SNAPVIRT_STATE_DIR = join(tmp.path, 'abc'[index]);
      try {
        await assert.rejects(() => connect('qemu:///session'), (err: unknown) => {
          assert.ok(err instanceof VirError, `${what}: ${String(err)}`);
          assert.equal(err.code, code, `${what}: ${err.message}`);
          assert.match(err.message, message, what);
          return true;
        });
      } finally {
        if (saved === undefined) delete process.env.SNAPVIRT_STATE_DIR;
        else process.env.SNAPVIRT_STATE_DIR = saved;
      }
    }
  } finally {
    await tmp.cleanup();
  }
});
