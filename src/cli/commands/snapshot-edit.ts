/**
 * snapshot-edit: edit a snapshot's XML in $VISUAL/$EDITOR and redefine it
 * (tools/virsh-edit.c). A changed name needs --rename (the old metadata is then
 * deleted) or --clone (it is kept). Where virsh would ask "Try again?" or, without a
 * terminal, crash on rejected XML, snapvirt reports the error and fails.
 */
import type { DomainSnapshot } from '../../api/domain-snapshot.js';
import { isVirError } from '../../api/errors.js';
import { SnapshotCreateFlags as F, SnapshotDeleteFlags, SnapshotXMLFlags } from '../../api/flags.js';
import type { CommandDef } from '../command-def.js';
import { lookupDomain } from '../domain-lookup.js';
import { readEditFile, runEditor, writeEditFile } from '../editor.js';
import { CommandAborted, exclusiveOptions, optBool } from '../option-values.js';
import { currentOption, DOMAIN_OPTION, lookupSnapshot } from './snapshot-common.js';

export const snapshotEdit: CommandDef = {
  name: 'snapshot-edit',
  help: 'edit XML for a snapshot',
  desc: 'Edit the domain snapshot XML for a named snapshot',
  opts: [
    DOMAIN_OPTION,
    { name: 'snapshotname', type: 'string', help: 'snapshot name' },
    currentOption('also set edited snapshot as current'),
    { name: 'rename', type: 'bool', help: 'allow renaming an existing snapshot' },
    { name: 'clone', type: 'bool', help: 'allow cloning to new name' },
  ],
  async handler(ctl, cmd) {
    const renameOkay = optBool(cmd, 'rename');
    const cloneOkay = optBool(cmd, 'clone');
    exclusiveOptions(ctl, 'rename', renameOkay, 'clone', cloneOkay);
    let defineFlags = F.REDEFINE;
    if (optBool(cmd, 'current') && optBool(cmd, 'snapshotname')) defineFlags |= F.CURRENT;
    const dom = await lookupDomain(ctl, cmd);
    const snapshot = await lookupSnapshot(ctl, cmd, 'snapshotname', false, dom);
    const name = snapshot.getName();
    const failUpdate = (): false => {
      ctl.error(`Failed to update ${name}`);
      return false;
    };

    const doc = await snapshot.getXMLDesc(SnapshotXMLFlags.SECURE);
    const file = await writeEditFile(doc);
    let edited: DomainSnapshot;
    try {
      let docEdited: string;
      try {
        await runEditor(ctl, file.path);
        docEdited = await readEditFile(ctl, file.path);
      } catch (err) {
        if (isVirError(err)) ctl.error(err.message);
        return failUpdate();
      }
      if (doc === docEdited && !(defineFlags & F.CURRENT)) {
        ctl.printExtra(`Snapshot ${name} XML configuration not changed.\n`);
        return true;
      }
      let reread: string;
      try {
        reread = await snapshot.getXMLDesc(SnapshotXMLFlags.SECURE);
      } catch (err) {
        if (isVirError(err)) ctl.error(err.message);
        return failUpdate();
      }
      if (reread !== doc) {
        ctl.error('The XML configuration was changed by another user.');
        return failUpdate();
      }
      if (doc.includes('<state>disk-snapshot</state>')) defineFlags |= F.DISK_ONLY;
      try {
        edited = await dom.snapshotCreateXML(docEdited, defineFlags);
      } catch (err) {
        ctl.error('Failed.');
        failUpdate();
        throw err;
      }
    } finally {
      await file.remove();
    }

    const editedName = edited.getName();
    if (editedName === name) {
      ctl.printExtra(`Snapshot ${name} edited.\n`);
      return true;
    }
    if (cloneOkay) {
      ctl.printExtra(`Snapshot ${name} cloned to ${editedName}.\n`);
      return true;
    }
    try {
      await (renameOkay ? snapshot : edited).delete(SnapshotDeleteFlags.METADATA_ONLY);
    } catch (err) {
      if (isVirError(err)) ctl.error(err.message);
      ctl.error(`Failed to clean up ${renameOkay ? name : editedName}`);
      failUpdate();
      throw new CommandAborted();
    }
    if (!renameOkay) {
      ctl.error(`Must use --rename or --clone to change ${name} to ${editedName}`);
      return failUpdate();
    }
    return true;
  },
};
