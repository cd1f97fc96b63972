/**
 * The shape of one differential scenario: a single virsh/snapvirt invocation (one process,
 * because the test driver keeps its state per process) plus the files it needs.
 *
 * Placeholders: the string `{dir}` in `commands`, `argv`, `uri`, `env` values and file
 * contents is replaced by the scenario's temporary working directory (absolute path).
 */

/** A file written into the scenario's temporary working directory before it runs. */
export interface ScenarioFile {
  /** File contents; `{dir}` is substituted in strings, bytes are written as they are. */
  readonly content: string | Uint8Array;
  /** Permission bits, e.g. 0o755 for editor scripts. Default 0o644. */
  readonly mode?: number;
}

/** What one process produced, after normalisation. */
export interface Outcome {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

/** One scenario. Exactly one of `commands` or `argv` is given. */
export interface Scenario {
  /** Unique, human-readable identifier; used as the test name. */
  readonly name: string;
  /** A batch string `cmd1; cmd2; ...` passed as one argument after the global options. */
  readonly commands?: string;
  /** Commands given as separate argv words after the global options. */
  readonly argv?: readonly string[];
  /**
   * Connection URI passed with `-c`. Default `test:///default`. `null` means no `-c`
   * (the scenario then usually sets LIBVIRT_DEFAULT_URI in `env`).
   */
  readonly uri?: string | null;
  /** Run with `-q` (quiet). */
  readonly quiet?: boolean;
  /** Extra global options placed before the command (after `-c URI` and `-q`). */
  readonly globalArgs?: readonly string[];
  /** Extra environment variables (on top of the fixed, minimal environment). */
  readonly env?: Readonly<Record<string, string>>;
  /** Files for the working directory, by relative name. */
  readonly files?: Readonly<Record<string, string | ScenarioFile>>;
  /**
   * Set when snapvirt deliberately differs from virsh (it supports more than libvirt's
   * test driver, or virsh crashes). The scenario then asserts `expected` against
   * snapvirt only, and the reason is listed in docs/COMPATIBILITY.md.
   */
  readonly deviation?: string;
  /** snapvirt's own expected outcome (after normalisation); required with `deviation`. */
  readonly expected?: Outcome;
}
