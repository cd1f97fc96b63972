/**
 * The operations of the crash matrix, each with the world it runs on:
 * create internal and external with 1 and 8 disks; revert internal and external; delete a
 * leaf, a middle snapshot and one with --children (internal and external); redefine;
 * undefine --snapshots-metadata; define; a UEFI domain's create, revert and delete; and a
 * group's create, revert and delete (internal and external) over two domains of two disks
 * each. Every world has data written before and between its snapshots, so "wholly before
 * or after" covers what each disk and snapshot presents.
 */
import { DomainUndefineFlags as U, SnapshotCreateFlags as C, SnapshotDeleteFlags as D } from '../../src/api/flags.js';
import type { PrepareContext, Scenario } from './crash-world.js';
import { DOMAIN } from './crash-world.js';

const snap = (name: string): string => `<domainsnapshot><name>${name}</name></domainsnapshot>`;

/** Takes snapshots `names` in order (internal, or external disk-only), writing data after each. */
async function snapshots(ctx: PrepareContext, names: string[], external: boolean): Promise<void> {
  for (const name of names) {
    await ctx.dom.snapshotCreateXML(snap(name), external ? C.DISK_ONLY : 0);
    await ctx.writeData();
  }
}

function createScenario(kind: 'internal' | 'external', disks: number): Scenario {
  return {
    name: `create ${kind}, ${disks} disk${disks > 1 ? 's' : ''}`,
    disks,
    async prepare(ctx) {
      // One earlier snapshot, so the new one gets a parent and the tree is not trivial.
      await snapshots(ctx, ['base'], kind === 'external');
      return { op: 'create', domain: DOMAIN, xml: snap('s1'), flags: kind === 'external' ? C.DISK_ONLY : 0 };
    },
  };
}

/**
 * Create, revert and delete (internal and external) of a domain with a state file beside
 * its disks: a UEFI domain's NVRAM, or a shut-off vTPM's permanent state. The file is
 * copied, written back or its copy removed in the same journal entry as the disks (a step
 * after theirs), so a crash between the disks and the file must leave both wholly before
 * or wholly after.
 */
function stateFileScenarios(label: 'NVRAM' | 'vTPM', world: Pick<Scenario, 'nvram' | 'tpm'>): Scenario[] {
  return (['internal', 'external'] as const).flatMap((kind): Scenario[] => {
    const external = kind === 'external';
    const scenario = (op: string, prepare: Scenario['prepare']): Scenario => ({ name: `${op} ${kind} with ${label}, 2 disks`, disks: 2, ...world, prepare });
    return [
      scenario('create', async (ctx) => {
        await snapshots(ctx, ['base'], external);
        return { op: 'create', domain: DOMAIN, xml: snap('s1'), flags: external ? C.DISK_ONLY : 0 };
      }),
      scenario('revert', async (ctx) => {
        await snapshots(ctx, ['A', 'B'], external);
        return { op: 'revert', domain: DOMAIN, snapshot: 'A', flags: 0 };
      }),
      scenario('delete', async (ctx) => {
        await snapshots(ctx, ['A', 'B'], external);
        return { op: 'delete', domain: DOMAIN, snapshot: 'B', flags: 0 };
      }),
    ];
  });
}

const NVRAM_SCENARIOS = stateFileScenarios('NVRAM', { nvram: true });
const TPM_SCENARIOS = stateFileScenarios('vTPM', { tpm: true });

const group = (name: string): string => `<groupsnapshot><name>${name}</name></groupsnapshot>`;

/** Takes group snapshots `names` of every domain in order (internal, or external disk-only), writing data after each. */
async function groupSnapshots(ctx: PrepareContext, names: string[], external: boolean): Promise<void> {
  for (const name of names) {
    await ctx.conn.groupSnapshotCreateXML(ctx.doms, group(name), external ? C.DISK_ONLY : 0);
    await ctx.writeData();
  }
}

const kindOf = (external: boolean): string => (external ? 'external' : 'internal');

/**
 * The group operations, on two shut-off domains of two disks each: every member's files,
 * chains, data and metadata and the group records must end wholly before or wholly after.
 */
function groupScenarios(): Scenario[] {
  const on = { disks: 2, domains: 2 } as const;
  return [false, true].flatMap((external): Scenario[] => [
    {
      name: `group create ${kindOf(external)}, 2 domains × 2 disks`,
      ...on,
      async prepare(ctx) {
        // Each member has an earlier snapshot of its own, so the group's member gets a parent.
        for (const dom of ctx.doms) await dom.snapshotCreateXML(snap('base'), external ? C.DISK_ONLY : 0);
        await ctx.writeData();
        return { op: 'group-create', domains: ctx.doms.map((d) => d.getName()), xml: group('g'), flags: external ? C.DISK_ONLY : 0 };
      },
    },
    {
      name: `group revert ${kindOf(external)}, 2 domains × 2 disks`,
      ...on,
      async prepare(ctx) {
        await groupSnapshots(ctx, ['A', 'B'], external);
        return { op: 'group-revert', group: 'A', flags: 0 };
      },
    },
    {
      name: `group delete ${kindOf(external)} ${external ? 'middle (merge and rebase)' : 'leaf'}, 2 domains × 2 disks`,
      ...on,
      async prepare(ctx) {
        await groupSnapshots(ctx, ['A', 'B'], external);
        return { op: 'group-delete', group: external ? 'A' : 'B', flags: 0 };
      },
    },
  ]);
}

/** Every scenario of the matrix, in a fixed order (the sample and the report use it). */
export const SCENARIOS: Scenario[] = [
  createScenario('internal', 1),
  createScenario('internal', 8),
  createScenario('external', 1),
  createScenario('external', 8),
  {
    name: 'create external through the CLI (snapshot-create-as --disk-only --atomic), 2 disks',
    disks: 2,
    async prepare(ctx) {
      await snapshots(ctx, ['base'], false);
      return { op: 'cli', argv: ['-c', 'qemu:///session', 'snapshot-create-as', DOMAIN, 's1', '--disk-only', '--atomic'] };
    },
  },
  {
    name: 'revert internal, 3 disks',
    disks: 3,
    async prepare(ctx) {
      await snapshots(ctx, ['A', 'B'], false);
      return { op: 'revert', domain: DOMAIN, snapshot: 'A', flags: 0 };
    },
  },
  {
    name: 'revert internal under an external overlay (copy-out), 2 disks',
    disks: 2,
    async prepare(ctx) {
      await snapshots(ctx, ['A'], false);
      await snapshots(ctx, ['B'], true);
      return { op: 'revert', domain: DOMAIN, snapshot: 'A', flags: 0 };
    },
  },
  {
    name: 'revert external, 3 disks',
    disks: 3,
    async prepare(ctx) {
      await snapshots(ctx, ['A', 'B'], true);
      return { op: 'revert', domain: DOMAIN, snapshot: 'A', flags: 0 };
    },
  },
  {
    name: 'delete internal leaf, 3 disks',
    disks: 3,
    async prepare(ctx) {
      await snapshots(ctx, ['A', 'B'], false);
      return { op: 'delete', domain: DOMAIN, snapshot: 'B', flags: 0 };
    },
  },
  {
    name: 'delete internal middle, 3 disks',
    disks: 3,
    async prepare(ctx) {
      await snapshots(ctx, ['A', 'B', 'C'], false);
      return { op: 'delete', domain: DOMAIN, snapshot: 'B', flags: 0 };
    },
  },
  {
    name: 'delete internal with --children, 3 disks',
    disks: 3,
    async prepare(ctx) {
      await snapshots(ctx, ['A', 'B', 'C'], false);
      return { op: 'delete', domain: DOMAIN, snapshot: 'B', flags: D.CHILDREN };
    },
  },
  {
    name: 'delete external leaf (merge), 2 disks',
    disks: 2,
    async prepare(ctx) {
      await snapshots(ctx, ['A', 'B'], true);
      return { op: 'delete', domain: DOMAIN, snapshot: 'B', flags: 0 };
    },
  },
  {
    name: 'delete external middle (merge and rebase), 2 disks',
    disks: 2,
    async prepare(ctx) {
      await snapshots(ctx, ['A', 'B'], true);
      return { op: 'delete', domain: DOMAIN, snapshot: 'A', flags: 0 };
    },
  },
  {
    name: 'redefine (metadata only), 2 disks',
    disks: 2,
    async prepare(ctx) {
      await snapshots(ctx, ['A', 'B'], false);
      const xml = await (await ctx.dom.snapshotLookupByName('B')).getXMLDesc();
      await (await ctx.dom.snapshotLookupByName('B')).delete(D.METADATA_ONLY);
      return { op: 'create', domain: DOMAIN, xml, flags: C.REDEFINE | C.CURRENT };
    },
  },
  {
    name: 'undefine --snapshots-metadata, 2 disks',
    disks: 2,
    async prepare(ctx) {
      await snapshots(ctx, ['A', 'B'], false);
      return { op: 'undefine', domain: DOMAIN, flags: U.SNAPSHOTS_METADATA };
    },
  },
  {
    name: 'define (change of an existing domain), 2 disks',
    disks: 2,
    async prepare(ctx) {
      await snapshots(ctx, ['A'], false);
      const xml = (await ctx.dom.getXMLDesc()).replace(/<memory unit='KiB'>\d+<\/memory>/, "<memory unit='KiB'>262144</memory>");
      return { op: 'define', xml };
    },
  },
  ...NVRAM_SCENARIOS,
  ...TPM_SCENARIOS,
  ...groupScenarios(),
];
