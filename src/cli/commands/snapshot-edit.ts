/**
 * snapshot-edit: edit a snapshot's XML in $VISUAL/$EDITOR and redefine it
 * (tools/virsh-edit.c). A changed name needs --rename (the old metadata is then
 * deleted) or --clone (it is kept). Rejected XML: on a terminal, virsh's "Try again?"
 * question; without one (where virsh crashes) the error is reported and the command fails.
 */
import type { DomainSnapshot } from '../../api/domain-snapshot.js';
import { isVirError } from '../../api/errors.js';
import { SnapshotCreateFlags as F, SnapshotDeleteFlags, SnapshotXMLFlags } from '../../api/flags.js';
import type { CommandDef } from '../command-def.js';
import { lookupDomain } from '../domain-lookup.js';
import { readEditFile, runEditor, writeEditFile } from '../editor.js';
import { askReedit } from '../reedit-prompt.js';
import { CommandAborted, exclusiveOptions, optBool } from '../option-values.js';
import { currentOption, DOMAIN_OPTION, lookupSnapshot } from './snapshot-common.js';

/** `snapshot-edit DOMAIN {SNAPSHOTNAME | --current} [--rename | --clone]` */
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
    let defineFlags: number = F.REDEFINE;
    if (optBool(cmd, 'current') && optBool(cmd, 'snapshotname')) defineFlags |= F.CURRENT;
    const dom = await lookupDomain(ctl, cmd);
    const snapshot = await lookupSnapshot(ctl, cmd, 'snapshotname', false, dom);
    const name = snapshot.getName();
    const failUpdate = (): false => {
      ctl.error(`Failed to update ${name}`);
      return false;
    };

    let doc = await snapshot.getXMLDesc(SnapshotXMLFlags.SECURE);
    const file = await writeEditFile(doc);
    let edited: DomainSnapshot | undefined;
    try {
      let docEdited = '';
      let runEditorAgain = true;
      // virsh-edit.c's reedit/redefine loop; asking again needs a terminal.
      for (;;) {
        if (runEditorAgain) {
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
        }
        let message: string | undefined;
        let failure: unknown;
        let reread: string;
        try {
          reread = await snapshot.getXMLDesc(SnapshotXMLFlags.SECURE);
        } catch (err) {
          if (isVirError(err)) ctl.error(err.message);
          return failUpdate();
        }
        if (reread !== doc) {
          message = 'The XML configuration was changed by another user.';
          doc = reread;
        } else {
          if (doc.includes('<state>disk-snapshot</state>')) defineFlags |= F.DISK_ONLY;
          try {
            edited = await dom.snapshotCreateXML(docEdited, defineFlags);
            break;
          } catch (err) {
            message = 'Failed.';
            failure = err;
          }
        }
        const answer = await askReedit(ctl, message, failure);
        if (answer === 'y') { runEditorAgain = true; continue; }
        if (answer === 'f') { runEditorAgain = false; continue; }
        if (answer === null) {
          // Without a terminal virsh would crash here (it prints the message, then
          // dereferences the missing snapshot); snapvirt reports the failure instead, in
          // the order virsh uses elsewhere: its own lines, then libvirt's error last.
          ctl.error(message);
          failUpdate();
          if (isVirError(failure)) ctl.error(failure.message);
          return false;
        }
        return failUpdate();
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
