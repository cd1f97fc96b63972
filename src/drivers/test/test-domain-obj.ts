/**
 * One domain of the test driver (libvirt's virDomainObj as the test driver uses it): the
 * live definition, the pending persistent one while running, state and reason, the runtime
 * id, and its snapshot tree. The state transitions mirror testDomainStartState and
 * testDomainShutdownState.
 */
import { DomainState } from '../../api/flags.js';
import { cloneDomainDef } from '../../conf/domain-xml.js';
import type { DomainDef } from '../../conf/domain-types.js';
import type { DomainRef } from '../driver.js';
import { SnapshotTree } from '../../snapshot/snapshot-tree.js';

/** A test-driver domain. */
export class TestDomainObj {
  /** The live definition while running, the persistent one otherwise. */
  def: DomainDef;
  /** The persistent definition to return to at shutdown (libvirt's vm->newDef). */
  newDef: DomainDef | undefined;
  persistent: boolean;
  state: DomainState;
  reason: number;
  /** The runtime id, -1 when inactive. */
  id = -1;
  autostart = false;
  hasManagedSave = false;
  readonly snapshots = new SnapshotTree();

  constructor(def: DomainDef, persistent: boolean) {
    this.def = def;
    this.persistent = persistent;
    this.state = DomainState.SHUTOFF;
    this.reason = 0;
  }

  get name(): string { return this.def.name; }
  get uuid(): string { return this.def.uuid; }

  /** virDomainObjIsActive: a domain is active while it has an id. */
  isActive(): boolean { return this.id !== -1; }

  /** The persistent definition: the pending one while running, else the live one. */
  persistentDef(): DomainDef { return this.newDef ?? this.def; }

  /** What a virDomainPtr for this domain carries now. */
  ref(): DomainRef { return { name: this.name, uuid: this.uuid, id: this.id }; }

  /** testDomainStartState: running with `reason`, a fresh id, and a pending persistent copy. */
  start(reason: number, id: number): void {
    this.state = DomainState.RUNNING;
    this.reason = reason;
    this.id = id;
    if (this.persistent && !this.newDef) this.newDef = cloneDomainDef(this.def);
    this.hasManagedSave = false;
  }

  /** testDomainShutdownState: shut off with `reason`, back on the persistent definition. */
  shutoff(reason: number): void {
    if (this.newDef) {
      this.def = this.newDef;
      this.newDef = undefined;
    }
    this.state = DomainState.SHUTOFF;
    this.reason = reason;
    this.id = -1;
  }

  /** virDomainObjSetState. */
  setState(state: DomainState, reason: number): void {
    this.state = state;
    this.reason = reason;
  }

  /**
   * virDomainObjAssignDef(live=false): a running domain gets `def` as its pending
   * persistent definition, an inactive one as its definition.
   */
  assignPersistentDef(def: DomainDef): void {
    if (this.isActive()) this.newDef = def;
    else this.def = def;
  }
}
