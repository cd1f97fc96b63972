/**
 * The plan of a live disk-only snapshot (planLiveDiskSnapshot, the driver's first step,
 * before anything is journaled): every bad request is refused with no side effect. The
 * snapshot itself runs on the driver path and is tested through the public API in
 * test/drivers/qemu/snapshot/active-snapshots.test.ts and the live crash matrix.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { planLiveDiskSnapshot } from '../../../../../src/drivers/qemu/snapshot/create/create-active-external-plan.js';
import { readActiveChain } from '../../../../../src/drivers/qemu/qmp/active-chain.js';
import { VirError, VirErrorCode } from '../../../../../src/api/errors.js';
import { destroyTestVm, listDir, startTestVm, type TestVm } from '../../support/active-test-support.js';

test('planning refuses bad requests before touching anything', async (t) => {
  let vm: TestVm | undefined;
  t.after(() => destroyTestVm(vm));
  vm = await startTestVm(2);
  const { qmp } = vm.proc;
  const existing = join(vm.dir, 'exists.qcow2');
  await writeFile(existing, 'x', { mode: 0o600 });
  const ov = (name: string): string => join(vm!.dir, name);
  const cases: Array<[string, Array<{ target: string; overlayPath: string }>, number]> = [
    ['no disks', [], VirErrorCode.OPERATION_INVALID],
    ['unknown disk', [{ target: 'vdz', overlayPath: ov('z') }], VirErrorCode.OPERATION_INVALID],
    ['disk twice', [{ target: 'vda', overlayPath: ov('a') }, { target: 'vda', overlayPath: ov('b') }], VirErrorCode.OPERATION_INVALID],
    ['same file twice', [{ target: 'vda', overlayPath: ov('a') }, { target: 'vdb', overlayPath: ov('a') }], VirErrorCode.OPERATION_INVALID],
    ['relative path', [{ target: 'vda', overlayPath: 'a.qcow2' }], VirErrorCode.CONFIG_UNSUPPORTED],
    ['existing file', [{ target: 'vda', overlayPath: existing }], VirErrorCode.OPERATION_INVALID],
    ['the base itself', [{ target: 'vda', overlayPath: vm.basePaths[0]! }], VirErrorCode.OPERATION_INVALID],
    ['missing directory', [{ target: 'vda', overlayPath: ov('nope/a.qcow2') }], VirErrorCode.OPERATION_INVALID],
  ];
  const listing = await listDir(vm.dir);
  for (const [what, requests, code] of cases) {
    await assert.rejects(planLiveDiskSnapshot(qmp, requests), (e: unknown) => e instanceof VirError && e.code === code, what);
  }
  assert.deepEqual(await listDir(vm.dir), listing);
  assert.deepEqual((await readActiveChain(qmp)).map((c) => c.backingDepth), [0, 0]);
});
