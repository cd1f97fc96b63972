/**
 * A toy operation for the engine's tests, used both in-process and by the child processes
 * that get SIGKILLed at failpoints: a "snapshot create" that makes one file per disk and
 * then commits a snapshot row, the current-snapshot flag and a new domain definition.
 * Wholly before: no files, no snapshot, definition 'base'. Wholly after: every file, the
 * snapshot current, definition 's1'.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { createTxnContext, type TxnContext } from '../../src/txn/context.js';
import { declareOperationKind } from '../../src/txn/failpoints.js';
import { openEntries } from '../../src/txn/journal.js';
import { lockDomain, runOperation, type Step } from '../../src/txn/operation.js';
import { TxnRegistry } from '../../src/txn/registry.js';
import { resourceString } from '../../src/txn/resources.js';

/** The toy domain. */
export const TOY_DOMAIN = { uuid: '6f0f6d3c-8a43-4c5e-9d1b-0a2b3c4d5e6f', name: 'toy' } as const;

/** How many "disks" (files) the toy create makes. */
export const TOY_DISKS = 3;

/** An extra operation kind for the live-switch toy. */
export const LIVE_KIND = 'toylive';
declareOperationKind(LIVE_KIND);

/** Where the toy files go. */
export function filesDir(stateDir: string): string {
  return join(stateDir, 'images');
}

/** Creates the state dir with the toy domain defined and no snapshot. */
export function setupToyState(stateDir: string): void {
  const store = openStore(stateDir);
  try {
    if (!store.domains.get(TOY_DOMAIN.uuid)) {
      store.domains.insert({
        uuid: TOY_DOMAIN.uuid, name: TOY_DOMAIN.name, persistentXml: '<domain>base</domain>', liveXml: null,
        persistent: true, autostart: false, runtime: null,
      });
    }
  } finally {
    store.close();
  }
  mkdirSync(filesDir(stateDir), { recursive: true });
}

/** The registry the toy operations recover with. The live kind rolls forward when its switch marker exists. */
export function toyRegistry(stateDir: string): TxnRegistry {
  const marker = join(stateDir, 'switched');
  return new TxnRegistry()
    .registerResource('toy-marker', {
      async undo(r) {
        const p = resourceString(r, 'path');
        if (existsSync(p)) writeFileSync(p, 'undone');
      },
    })
    .registerOperation(LIVE_KIND, {
      async decide() {
        return existsSync(marker) ? 'forward' : 'back';
      },
      commitForward(entry, store) {
        const intent = entry.intent as { xml: string };
        commitToy(store, intent.xml);
      },
    });
}

/** A context over an open store with the toy registry. */
export function toyContext(stateDir: string): TxnContext {
  return createTxnContext(openStore(stateDir), { registry: toyRegistry(stateDir), warn: () => {} });
}

function commitToy(store: Store, snapXml: string): void {
  store.snapshots.insert({ domainUuid: TOY_DOMAIN.uuid, name: 's1', xml: snapXml, parent: null, isCurrent: true });
  store.domains.update(TOY_DOMAIN.uuid, { persistentXml: '<domain>s1</domain>' });
}

/** The toy create's steps: one file per disk, each journaled as a created file. */
export function toySteps(stateDir: string, log?: string[]): Step[] {
  return Array.from({ length: TOY_DISKS }, (_, i): Step => {
    const path = join(filesDir(stateDir), `disk${i}.s1`);
    return {
      name: `overlay.disk${i}`,
      resources: [{ kind: 'file-created', path }],
      async do() {
        log?.push(`do ${i}`);
        writeFileSync(path, `overlay ${i}\n`, { flag: 'wx', mode: 0o600 });
      },
    };
  });
}

/** Runs the toy create (kind 'create') end to end, as a driver would. */
export async function runToyCreate(ctx: TxnContext): Promise<void> {
  await lockDomain(ctx, TOY_DOMAIN.uuid, 'snapshot-create', (lock) => runOperation(ctx, lock, {
    kind: 'create',
    domain: TOY_DOMAIN,
    intent: { snapshot: 's1' },
    steps: toySteps(ctx.store.stateDir),
    commit: (store) => commitToy(store, '<domainsnapshot><name>s1</name></domainsnapshot>'),
  }));
}

/** The live toy: the same steps, then a "switch" that drops a marker (a stand-in for a QMP transaction). */
export async function runToyLive(ctx: TxnContext): Promise<void> {
  const marker = join(ctx.store.stateDir, 'switched');
  const xml = '<domainsnapshot><name>s1</name></domainsnapshot>';
  await lockDomain(ctx, TOY_DOMAIN.uuid, 'snapshot-create', (lock) => runOperation(ctx, lock, {
    kind: LIVE_KIND,
    domain: TOY_DOMAIN,
    intent: { xml },
    steps: toySteps(ctx.store.stateDir),
    switch: async () => writeFileSync(marker, 'yes'),
    commit: (store) => commitToy(store, xml),
  }));
}

/** What the tests compare: the files, the snapshot rows, the definition and the open journal. */
export interface ToyState {
  files: string[];
  snapshots: string[];
  current: string | null;
  definition: string | null;
  openEntries: number;
}

/** Reads the toy state from disk (opening the store read-write, as a restart would). */
export function readToyState(stateDir: string): ToyState {
  const store = openStore(stateDir);
  try {
    return {
      files: readdirSync(filesDir(stateDir)).filter((f) => !f.startsWith('.')).sort(),
      snapshots: store.snapshots.list(TOY_DOMAIN.uuid).map((s) => s.name),
      current: store.snapshots.current(TOY_DOMAIN.uuid)?.name ?? null,
      definition: store.domains.get(TOY_DOMAIN.uuid)?.persistentXml ?? null,
      openEntries: openEntries(store).length,
    };
  } finally {
    store.close();
  }
}

/** The state wholly before the toy create. */
export const TOY_BEFORE: ToyState = { files: [], snapshots: [], current: null, definition: '<domain>base</domain>', openEntries: 0 };

/** The state wholly after the toy create. */
export const TOY_AFTER: ToyState = {
  files: Array.from({ length: TOY_DISKS }, (_, i) => `disk${i}.s1`),
  snapshots: ['s1'], current: 's1', definition: '<domain>s1</domain>', openEntries: 0,
};

/** Reads a toy file (tests check content survived). */
export function readToyFile(stateDir: string, name: string): string {
  return readFileSync(join(filesDir(stateDir), name), 'utf8');
}
