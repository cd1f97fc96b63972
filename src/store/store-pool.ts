/**
 * One open state store per state directory, lent to every connection opened with the pool
 * (snapvirtd's clients), so that opening a connection opens no database. Opening a store
 * checks the file, applies the pragmas, prepares every statement and, at close, records the
 * clean close: about 3.5 ms of a warm process's time, which a daemon would otherwise pay for
 * each virsh command (each one is a new client that opens, calls once or twice, and closes).
 *
 * Sharing is safe because a store already serves concurrent calls: better-sqlite3 is
 * synchronous, every write is one synchronous transaction, and changes made by other
 * processes are seen through the store's change stamp (store.ts). A lent store stays open
 * while the pool lives, with or without borrowers; the next lease opens a new one when the
 * database file is no longer the one the pool holds (replaced or removed: the pool never
 * hands out a store on a file nobody else sees). A store that could only be opened
 * read-only (a copy in memory: the directory cannot be written) is never pooled, as it is
 * a picture of one moment; each lease gets its own, as without a pool.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { openStore } from './open-store.js';
import type { Store } from './store.js';

/** A store lent to one connection; release() once the connection is done with it. */
export interface StoreLease {
  readonly store: Store;
  release(): void;
}

interface Pooled {
  store: Store;
  /** The database file the store has open, by device and inode. */
  file: string;
  borrowers: number;
  /** Set once the pool gave the store up (closed, or its file replaced): it closes when its last borrower is done. */
  retired: boolean;
}

/** `path`'s device and inode, or undefined when it is gone. */
function fileIdentity(path: string): string | undefined {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

/** A lease of a store nobody else holds: its release closes it. */
function soleLease(store: Store): StoreLease {
  return { store, release: () => store.close() };
}

/** A store of one's own: what a connection opened without a pool gets. */
export function privateStoreLease(stateDir: string): StoreLease {
  return soleLease(openStore(stateDir));
}

/**
 * Beyond libvirt: one open state store per state directory, shared by every connection
 * opened with the pool (`connect(uri, { storePool })`, qemu:/// URIs) and kept open between
 * them, so that opening a connection opens no database. Each connection still owns what
 * it owns (the autodestroy domains it started go when it closes). A database file that was
 * removed or replaced is opened anew at the next lease; a state directory that cannot be
 * written is never pooled. close() it once the connections are done. snapvirtd keeps one.
 */
export class StorePool {
  readonly #byDir = new Map<string, Pooled>();
  #closed = false;

  /** The store of `stateDir`: the pool's own, opened at the first lease (openStore's errors as they are). */
  lease(stateDir: string): StoreLease {
    const dir = resolve(stateDir);
    let p = this.#byDir.get(dir);
    if (p && fileIdentity(p.store.path) !== p.file) {
      this.#retire(p);
      this.#byDir.delete(dir);
      p = undefined;
    }
    if (!p) {
      if (this.#closed) return privateStoreLease(stateDir);
      const store = openStore(dir);
      const file = store.writeRefusal ? undefined : fileIdentity(store.path);
      if (file === undefined) return soleLease(store);
      p = { store, file, borrowers: 0, retired: false };
      this.#byDir.set(dir, p);
    }
    const pooled = p;
    pooled.borrowers++;
    let released = false;
    return {
      store: pooled.store,
      release: () => {
        if (released) return;
        released = true;
        pooled.borrowers--;
        if (pooled.retired && pooled.borrowers === 0) pooled.store.close();
      },
    };
  }

  /** Closes every store no connection holds; the others close as their last borrower releases them. Later leases are private. */
  close(): void {
    this.#closed = true;
    for (const p of this.#byDir.values()) this.#retire(p);
    this.#byDir.clear();
  }

  #retire(p: Pooled): void {
    p.retired = true;
    if (p.borrowers === 0) p.store.close();
  }
}
