/** Every differential scenario, grouped by command. */
import type { Scenario } from '../scenario.js';
import { createAsScenarios } from './snapshot-create-as.js';
import { createScenarios } from './snapshot-create.js';
import { currentScenarios } from './snapshot-current.js';
import { deleteScenarios } from './snapshot-delete.js';
import { deviationScenarios } from './deviations.js';
import { diskKindScenarios, diskModeScenarios } from './disk-modes.js';
import { domainScenarios } from './domain.js';
import { domainOptionScenarios } from './domain-options.js';
import { dumpxmlScenarios } from './snapshot-dumpxml.js';
import { editScenarios } from './snapshot-edit.js';
import { edgeScenarios } from './edge-cases.js';
import { infoParentScenarios } from './snapshot-info-parent.js';
import { listScenarios } from './snapshot-list.js';
import { nodeFileScenarios } from './node-file.js';
import { randomScenarios } from './random-sequences.js';
import { randomListScenarios } from './random-list.js';
import { revertScenarios } from './snapshot-revert.js';
import { shellScenarios } from './shell.js';
import { xmlInputScenarios } from './xml-input.js';
import { xmlOutputScenarios } from './xml-output.js';

/** All scenarios, in a stable order; names are unique. */
export const allScenarios: readonly Scenario[] = [
  ...createAsScenarios,
  ...createScenarios,
  ...listScenarios,
  ...currentScenarios,
  ...deleteScenarios,
  ...revertScenarios,
  ...dumpxmlScenarios,
  ...infoParentScenarios,
  ...editScenarios,
  ...xmlInputScenarios,
  ...xmlOutputScenarios,
  ...nodeFileScenarios,
  ...domainScenarios,
  ...domainOptionScenarios,
  ...shellScenarios,
  ...edgeScenarios,
  ...diskModeScenarios,
  ...diskKindScenarios,
  ...randomScenarios,
  ...randomListScenarios,
  ...deviationScenarios,
];
