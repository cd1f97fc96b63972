/**
 * edit: the domain's inactive XML in $VISUAL/$EDITOR, then defined again (virsh's cmdEdit
 * over tools/virsh-edit.c): validated against libvirt's schema unless --skip-validate.
 * A definition that is refused: on a terminal, virsh's "Try again? [y,n,i,f,?]" question
 * (i: again without validation, offered after a schema failure); without one (where virsh
 * 9.0 goes on as if it had worked and prints "Domain '(null)' XML configuration edited.")
 * the error is reported and the command fails, the definition unchanged.
 */
import { isVirError, VirErrorCode } from '../../api/errors.js';
import { DomainXMLFlags } from '../../api/flags.js';
import type { CommandDef } from '../command-def.js';
import { lookupDomain } from '../domain-lookup.js';
import { readEditFile, runEditor, writeEditFile } from '../editor.js';
import { optBool } from '../option-values.js';
import { askReedit } from '../reedit-prompt.js';
import { DOMAIN_OPTION } from './snapshot-common.js';

/** VIR_DOMAIN_DEFINE_VALIDATE */
const DEFINE_VALIDATE = 1;

/** `edit DOMAIN [--skip-validate]` */
export const editCommand: CommandDef = {
  name: 'edit',
  help: 'edit XML configuration for a domain',
  desc: 'Edit the XML configuration for a domain.',
  opts: [DOMAIN_OPTION, { name: 'skip-validate', type: 'bool', help: 'skip validation of the XML against the schema' }],
  async handler(ctl, cmd) {
    let defineFlags = optBool(cmd, 'skip-validate') ? 0 : DEFINE_VALIDATE;
    const dom = await lookupDomain(ctl, cmd);
    const conn = await ctl.connection();
    const getXml = (): Promise<string> => dom.getXMLDesc(DomainXMLFlags.SECURE | DomainXMLFlags.INACTIVE);
    let doc = await getXml();
    const file = await writeEditFile(doc);
    try {
      let docEdited = '';
      let runEditorAgain = true;
      for (;;) {
        if (runEditorAgain) {
          await runEditor(ctl, file.path);
          docEdited = await readEditFile(ctl, file.path);
          if (doc === docEdited) {
            ctl.printExtra(`Domain '${dom.getName()}' XML configuration not changed.\n`);
            return true;
          }
        }
        let message: string;
        let failure: unknown;
        const reread = await getXml();
        if (reread !== doc) {
          message = 'The XML configuration was changed by another user.';
          doc = reread;
        } else {
          try {
            const edited = await conn.domainDefineXML(docEdited, defineFlags);
            ctl.printExtra(`Domain '${edited.getName()}' XML configuration edited.\n`);
            return true;
          } catch (err) {
            message = 'Failed.';
            failure = err;
          }
        }
        const answer = await askReedit(ctl, message, failure, isVirError(failure, VirErrorCode.XML_INVALID_SCHEMA));
        if (answer === 'y') { runEditorAgain = true; continue; }
        if (answer === 'f') { runEditorAgain = false; continue; }
        if (answer === 'i') { defineFlags &= ~DEFINE_VALIDATE; runEditorAgain = false; continue; }
        if (answer === null) {
          ctl.error(message);
          if (failure !== undefined) throw failure;
        }
        return false;
      }
    } finally {
      await file.remove();
    }
  },
};
