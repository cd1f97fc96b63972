/**
 * The ssh transport's failures, as libvirt's client reports them (real virsh over the same
 * URI is the oracle): ssh that cannot reach the host or log in ("Cannot recv data: …:
 * Connection reset by peer"), a far side whose netcat or socket is missing ("End of file
 * while reading data: …: Input/output error"), each with what ssh or the far side said;
 * and a daemon that dies while a call is in flight over ssh. A real sshd on 127.0.0.1
 * and a real snapvirtd are started and stopped here.
 */
import assert from 'node:assert/strict';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, VirError } from '../../../src/index.js';
import { startSnapvirtd, type RunningDaemon } from '../../helpers/snapvirtd.js';
import { startSshd, type TestSshd } from '../../helpers/sshd.js';
import { snapvirtCommand, virshCommand } from '../../helpers/run-command.js';
import { makeTempDir, type TempDir } from '../../helpers/temp-dir.js';



describe('the ssh transport', () => {
  let tmp: TempDir;
  let sshd: TestSshd;
  let daemon: RunningDaemon;
  const user = userInfo().username;
  const uri = (who: string, port: number, socket: string, extra = ''): string =>
    `test+ssh://${who}@127.0.0.1:${port}/default?socket=${socket}&keyfile=${sshd.keyfile}&command=${sshd.sshCommand}&no_tty=1${extra}`;
  before(async () => {
    tmp = await makeTempDir('snapvirt-remote-ssh-');
    sshd = await startSshd();
    daemon = await startSnapvirtd(tmp.path, { SNAPVIRT_STATE_DIR: join(tmp.path, 'state') });
  });
  after(async () => {
    if (daemon.child.exitCode === null && daemon.child.signalCode === null) daemon.child.kill('SIGKILL');
    await daemon.exited;
    await sshd.stop();
    await tmp.cleanup();
  });

  const FAILURES: Record<string, () => string> = {
    'no sshd on the port': () => uri(user, 1, daemon.socket),
    'a user sshd does not let in': () => uri('nobody', sshd.port, daemon.socket),
    'no daemon socket on the far side': () => uri(user, sshd.port, join(tmp.path, 'nonexistent-sock')),
    'no netcat on the far side': () => uri(user, sshd.port, daemon.socket, '&netcat=/nonexistent/nc'),
  };
  for (const [what, target] of Object.entries(FAILURES)) {
    it(`reports ${what} as virsh does`, async () => {
      const [v, s] = await Promise.all([virshCommand(['-c', target(), 'list']), snapvirtCommand(['-c', target(), 'list'])]);
      assert.match(v.stderr, /^error: failed to connect to the hypervisor\nerror: (Cannot recv data|End of file while reading data): .+\n$/);
      assert.deepEqual(s, v);
    });
  }

  it('fails a call in flight when the daemon dies behind ssh, and every call after it', async () => {
    const conn = await connect(uri(user, sshd.port, daemon.socket));
    const dom = await conn.domainLookupByName('test');
    daemon.child.kill('SIGSTOP');
    const settled = dom.snapshotCreateXML('<domainsnapshot><name>never</name></domainsnapshot>').then(() => undefined, (err: unknown) => err);
    daemon.child.kill('SIGKILL');
    await daemon.exited;
    const err = await settled;
    assert.ok(err instanceof VirError, String(err));
    assert.deepEqual([err.code, err.domain], [38, 7]);
    assert.match(err.message, /^End of file while reading data: .*Input\/output error$/);
    await assert.rejects(dom.getState(), /client socket is closed/);
    await conn.close();
  });
});
