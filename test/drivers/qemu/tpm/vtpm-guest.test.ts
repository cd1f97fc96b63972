/**
 * The tiny guest with a vTPM, through a revert. The guest's kernel drives the TPM (its TIS
 * driver is built in) and the test asks it, through the agent's guest-exec, for the TPM's
 * clock (TPM2_ReadClock on /dev/tpm0, a command that needs no authorisation). Its
 * resetCount lives in the TPM's non-volatile state and goes up by one at every boot. A
 * snapshot taken after one boot, two more boots, then a revert: the next boot sees the
 * count the first boot after the snapshot saw. So the guest runs on the TPM state the
 * snapshot holds, not on today's.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Domain } from '../../../../src/api/domain.js';
import { guestShell, tinyGuestWorld, tinyGuestXml, waitForAgent } from '../support/tiny-guest.js';
import { emulatorTpm } from '../support/tpm-domain.js';
import { SnapshotCreateFlags as C, SnapshotRevertFlags as R } from '../../../../src/api/flags.js';

process.env.SNAPVIRT_QEMU_ACCEL = 'tcg';

/** TPM2_ReadClock: tag TPM_ST_NO_SESSIONS, size 10, TPM_CC_ReadClock (0x181), as octal escapes for busybox's printf. */
const READ_CLOCK = String.raw`\200\001\000\000\000\012\000\000\001\201`;
const GUEST_SCRIPT = `exec 3<>/dev/tpm0 && printf '${READ_CLOCK}' >&3 && dd bs=64 count=1 <&3 2>/dev/null | od -An -tx1`;

/** Runs the script in the guest and returns the TPM's resetCount from the response. */
async function tpmResetCount(sock: string): Promise<number> {
  const { exitcode, out } = await guestShell(sock, GUEST_SCRIPT);
  const hex = out.toString('latin1').replace(/\s+/g, '');
  const response = Buffer.from(hex, 'hex');
  // Header (tag, size, response code), then TPMS_TIME_INFO: time (8), clock (8), resetCount (4), …
  assert.equal(response.length, 35, `a ReadClock response, not ${hex} (exit ${exitcode})`);
  assert.equal(response.readUInt32BE(6), 0, 'TPM_RC_SUCCESS');
  return response.readUInt32BE(26);
}

/** The tiny guest with a vTPM, defined in a fresh environment; `boot` starts it, reads the reset count and stops it; `sock` is where its current QEMU's agent answers. */
async function tpmGuest(t: TestContext): Promise<{ dom: Domain; sock: () => string; boot(): Promise<number> }> {
  const { env, data, agentSocketOf } = await tinyGuestWorld(t);
  const dom = await env.conn.domainDefineXML(tinyGuestXml(data, { devices: emulatorTpm('tpm-tis') }));
  const sock = (): string => agentSocketOf(dom);
  return {
    dom, sock,
    async boot() {
      await dom.create(0);
      await waitForAgent(sock());
      const count = await tpmResetCount(sock());
      await dom.destroy();
      return count;
    },
  };
}

test('a guest with a vTPM boots after a revert on the TPM state of the snapshot (its reset count)', { timeout: 900_000 }, async (t) => {
  const { dom, boot } = await tpmGuest(t);
  await boot();
  await dom.snapshotCreateXML('<domainsnapshot><name>s1</name></domainsnapshot>', 0);
  const afterSnapshot = await boot();
  const later = await boot();
  assert.ok(later > afterSnapshot, `the reset count goes up with every boot (${afterSnapshot}, then ${later})`);

  await dom.revertToSnapshot(await dom.snapshotLookupByName('s1'), 0);
  assert.equal(await boot(), afterSnapshot, 'the boot after the revert counts on from the snapshot\'s TPM state');
});

test('a live disk-only snapshot of a guest with a vTPM: after a revert the next boot counts on from the TPM state of the snapshot\'s moment', { timeout: 900_000 }, async (t) => {
  const { dom, sock, boot } = await tpmGuest(t);
  await dom.create(0);
  await waitForAgent(sock());
  const during = await tpmResetCount(sock());
  await dom.snapshotCreateXML('<domainsnapshot><name>live</name></domainsnapshot>', C.DISK_ONLY);
  await dom.destroy();
  const later = [await boot(), await boot()];
  assert.deepEqual(later, [during + 1, during + 2]);
  await dom.revertToSnapshot(await dom.snapshotLookupByName('live'), 0);
  assert.equal(await boot(), during + 1);
});

test('a snapshot with memory of a guest with a vTPM: the reverted guest runs on with the TPM as it was, in its QEMU or a new one', { timeout: 900_000 }, async (t) => {
  const { dom, sock, boot } = await tpmGuest(t);
  await dom.create(0);
  await waitForAgent(sock());
  const during = await tpmResetCount(sock());
  await dom.snapshotCreateXML('<domainsnapshot><name>mem</name></domainsnapshot>', 0);
  // The reset button restarts the TPM too (the firmware's TPM2_Startup counts a reset).
  await dom.reset();
  await waitForAgent(sock());
  assert.equal(await tpmResetCount(sock()), during + 1);
  // Loaded into the running QEMU: QEMU gives the running swtpm the saved state; the guest resumes, no boot.
  await dom.revertToSnapshot(await dom.snapshotLookupByName('mem'), 0);
  await waitForAgent(sock());
  assert.equal(await tpmResetCount(sock()), during);
  await dom.destroy();
  assert.equal(await boot(), during + 1);
  // From shut off: a new QEMU loads the machine state, its swtpm started on the snapshot's copy.
  await dom.revertToSnapshot(await dom.snapshotLookupByName('mem'), 0);
  await waitForAgent(sock());
  assert.equal(await tpmResetCount(sock()), during);
  await dom.destroy();
});

test('a running guest with a vTPM reverted through a new QEMU boots on the TPM state of the snapshot\'s moment (a new generation beside the old swtpm)', { timeout: 900_000 }, async (t) => {
  const { dom, sock } = await tpmGuest(t);
  await dom.create(0);
  await waitForAgent(sock());
  const during = await tpmResetCount(sock());
  await dom.snapshotCreateXML('<domainsnapshot><name>live</name></domainsnapshot>', C.DISK_ONLY);
  await dom.reset();
  await waitForAgent(sock());
  assert.equal(await tpmResetCount(sock()), during + 1);
  // The old QEMU and its swtpm run until the switch; the new one boots on the snapshot's disks and TPM state.
  await dom.revertToSnapshot(await dom.snapshotLookupByName('live'), R.RUNNING);
  await waitForAgent(sock());
  assert.equal(await tpmResetCount(sock()), during + 1, 'one boot after the snapshot\'s moment, not two');
  await dom.destroy();
});
