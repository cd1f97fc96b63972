/**
 * Runs one row of the failure matrix: a world of `n` disks failing on disk `k`, then every
 * fault against every operation of that kind, checking the picture after each failure.
 */
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VirError } from '../../src/api/errors.js';
import { SnapshotCreateFlags as C } from '../../src/api/flags.js';
import type { Domain } from '../../src/api/domain.js';
import {
  COMMON_FAULTS, immutableFault, matrixPicture, matrixWorld, unmountMatrix, type MatrixFault, type MatrixWorld,
} from './failure-matrix.js';

/** One operation of the matrix: what it does, the file it touches on disk k, the faults that apply. */
interface MatrixOp {
  name: string;
  /** The failpoint spec that fails as the (k+1)-th disk finishes (or before the commit). */
  failpoint(w: MatrixWorld): string;
  /** The image of disk k the operation reads or changes (locked, made immutable). */
  file(w: MatrixWorld): string;
  faults: MatrixFault[];
  run(dom: Domain, w: MatrixWorld, target: string): Promise<unknown>;
}

function failpointFault(op: MatrixOp): MatrixFault {
  return {
    // Disks run at once: the failpoint fails whichever disk finishes (k+1)-th, not disk k+1.
    name: 'failpoint error once k+1 disks are done',
    message: /failpoint/,
    async arm(w) {
      const saved = process.env.SNAPVIRT_FAILPOINTS;
      process.env.SNAPVIRT_FAILPOINTS = op.failpoint(w);
      return async () => {
        if (saved === undefined) delete process.env.SNAPVIRT_FAILPOINTS;
        else process.env.SNAPVIRT_FAILPOINTS = saved;
      };
    },
  };
}

/** External create's own faults: the target of disk k is elsewhere or already there. */
const TARGET_FAULTS: Array<MatrixFault & { target(w: MatrixWorld): string }> = [
  { name: 'target directory missing', message: /No such file or directory/, target: (w) => join(w.faultDir, 'nope', 'x.ov'), arm: async () => async () => {} },
  { name: 'target in a read-only bind mount', message: /Read-only file system/, target: (w) => join(w.roBindDir, 'x.ov'), arm: async () => async () => {} },
  {
    name: 'target exists', message: /already exists/, target: (w) => join(w.faultDir, 'exists.ov'),
    async arm(w) {
      const path = join(w.faultDir, 'exists.ov');
      await writeFile(path, 'keep me', { mode: 0o600 });
      return async () => {
        // The user's file must be untouched; then it goes, so the picture compares as before.
        assert.equal(await readFile(path, 'utf8'), 'keep me');
        await rm(path);
      };
    },
  },
];

function externalCreateXml(w: MatrixWorld, target: string): string {
  return `<domainsnapshot><name>x</name><disks><disk name='${w.disks[w.k]!.target}' snapshot='external'><source file='${target}'/></disk></disks></domainsnapshot>`;
}

function opsFor(kind: 'internal' | 'external'): MatrixOp[] {
  const step = (op: string) => (w: MatrixWorld) => `${op}.prepare.disk.after=error@${w.k + 1}`;
  const imageK = (w: MatrixWorld) => w.disks[w.k]!.path;
  const createExternal: MatrixOp = {
    name: 'create external',
    failpoint: step('create'),
    // The image the new overlay sits on: the one a holder must lock.
    file: (w) => (kind === 'internal' ? imageK(w) : imageK(w).replace(/\.qcow2$/, '.e1')),
    faults: [...COMMON_FAULTS, immutableFault('dir')],
    run: (dom, w, target) => dom.snapshotCreateXML(externalCreateXml(w, target), C.DISK_ONLY | C.ATOMIC),
  };
  if (kind === 'internal') {
    return [
      { name: 'create internal', failpoint: step('create'), file: imageK, faults: [...COMMON_FAULTS, immutableFault('image')],
        run: (dom) => dom.snapshotCreateXML('<domainsnapshot><name>x</name></domainsnapshot>', C.ATOMIC) },
      { name: 'revert internal', failpoint: step('revert'), file: imageK, faults: [...COMMON_FAULTS, immutableFault('image')],
        run: async (dom) => (await dom.snapshotLookupByName('i1')).revert() },
      { name: 'delete internal', failpoint: () => 'delete.commit.before=error', file: imageK, faults: [COMMON_FAULTS[0]!],
        run: async (dom) => (await dom.snapshotLookupByName('i1')).delete() },
      createExternal,
    ];
  }
  return [
    { name: 'revert external', failpoint: step('revert'), file: imageK, faults: [...COMMON_FAULTS, immutableFault('dir')],
      run: async (dom) => (await dom.snapshotLookupByName('e1')).revert() },
    { name: 'delete external', failpoint: () => 'delete.commit.before=error', file: imageK, faults: [COMMON_FAULTS[0]!],
      run: async (dom) => (await dom.snapshotLookupByName('e1')).delete() },
    createExternal,
  ];
}

/** Runs every fault of every operation of `kind` on a world of `n` disks failing on disk `k`. */
export async function runMatrixRow(n: number, k: number, kind: 'internal' | 'external'): Promise<void> {
  const w = await matrixWorld(n, k, kind);
  try {
    const before = await matrixPicture(w);
    for (const op of opsFor(kind)) {
      const faults: Array<MatrixFault & { target?(w: MatrixWorld): string }> = [...op.faults, failpointFault(op)];
      if (op.name === 'create external') faults.push(...TARGET_FAULTS);
      for (const fault of faults) {
        const target = fault.target ? fault.target(w) : join(w.faultDir, 'x.ov');
        const disarm = await fault.arm(w, op.file(w));
        let outcome: unknown;
        try {
          outcome = await op.run(await w.dom(), w, target).then(() => 'succeeded', (e: unknown) => e);
        } finally {
          await disarm();
        }
        const where = `${op.name} / ${fault.name} (${n} disks, disk ${k + 1})`;
        assert.ok(outcome instanceof VirError, `${where}: expected a VirError, got ${String(outcome)}`);
        assert.match(outcome.message, fault.message, where);
        assert.deepEqual(await matrixPicture(w), before, where);
      }
    }
  } finally {
    await unmountMatrix(w);
    await w.env.cleanup();
  }
}
