/**
 * Remote URIs read as libvirt's remote driver reads them, with real virsh as the oracle:
 * the name CONNECT_OPEN carries (the URI without its transport, server and client-only
 * parameters) is recorded from virsh and from snapvirt's remote driver on the same URIs,
 * and the URIs libvirt refuses before connecting are refused by `snapvirt -c` with
 * virsh's stderr and exit status. The ssh command line is checked against libvirt's.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, VirError } from '../../../src/index.js';
import { parseRemoteURI } from '../../../src/drivers/remote/remote-uri.js';
import { socketPathFor } from '../../../src/drivers/remote/socket-path.js';
import { netcatCommand, sshArgs } from '../../../src/drivers/remote/ssh-transport.js';
import { startOpenRecorder, type OpenRecorder } from '../../helpers/open-recorder.js';
import { snapvirtCommand, virshCommand } from '../../helpers/run-command.js';
import { makeTempDir, type TempDir } from '../../helpers/temp-dir.js';



describe('remote URIs, as libvirt reads them', () => {
  let dir: TempDir;
  let sock: string;
  let recorder: OpenRecorder;
  before(async () => {
    dir = await makeTempDir('snapvirt-remote-uri-');
    sock = join(dir.path, 'sock');
    recorder = await startOpenRecorder(sock);
  });
  after(async () => {
    await recorder.close();
    await dir.cleanup();
  });

  const QUERIES = [
    '',
    '&mode=legacy',
    '&mode=direct&foo=bar',
    '&Name2=x&no_tty=1&netcat=/usr/bin/nc&keyfile=/k&no_verify=0&command=ssh&authfile=/a',
    '&x=a%20b&y=1#frag',
    '&SOCKET_NOT=1&sshauth=agent&pkipath=/p&known_hosts=/kh&tls_priority=NORMAL',
  ];
  for (const base of ['qemu+unix:///session', 'qemu+unix:///system', 'test+unix:///default', 'test+unix:///tmp/node.xml']) {
    for (const q of QUERIES) {
      it(`sends virsh's CONNECT_OPEN name for ${base}?socket=…${q}`, async () => {
        const [hash, rest] = q.includes('#') ? [q.slice(q.indexOf('#')), q.slice(0, q.indexOf('#'))] : ['', q];
        const uri = `${base}?socket=${sock}${rest}${hash}`;
        const before = recorder.names.length;
        const v = await virshCommand(['-c', uri, 'uri']);
        assert.match(v.stderr, /recorded, not opened/);
        await assert.rejects(connect(uri), (err: unknown) => err instanceof VirError && err.message === 'internal error: recorded, not opened');
        assert.equal(recorder.names.length, before + 2);
        const [fromVirsh, fromSnapvirt] = recorder.names.slice(before);
        assert.equal(fromSnapvirt, fromVirsh);
        assert.equal(parseRemoteURI(uri, new URL(uri)).name, fromVirsh);
      });
    }
  }

  it('opens read-only with VIR_CONNECT_RO, as virsh -r does', async () => {
    const uri = `qemu+unix:///session?socket=${sock}`;
    const before = recorder.flags.length;
    await virshCommand(['-r', '-c', uri, 'uri']);
    await assert.rejects(connect(uri, { readOnly: true }));
    assert.deepEqual(recorder.flags.slice(before), [1, 1]);
  });

  const REFUSED = [
    'qemu+bogus:///session',
    'qemu+unix://host/session',
    `qemu+unix:///session?mode=weird`,
    'qemu+unix:///session?no_tty=x',
    'qemu+unix:///session?no_verify=yes',
    'qemu+unix:///session?socket=/nonexistent/snapvirt-sock',
    'qemu+unix:///session?mode=direct&socket=/nonexistent/snapvirt-sock',
    'qemu+ssh://localhost/system?mode=direct',
  ];
  for (const uri of REFUSED) {
    it(`refuses ${uri} with virsh's error and exit status`, async () => {
      const [v, s] = await Promise.all([virshCommand(['-c', uri, 'list']), snapvirtCommand(['-c', uri, 'list'])]);
      assert.deepEqual(s, v);
      assert.equal(s.code, 1);
    });
  }

  it('gives the library a missing socket as libvirt does: VIR_ERR_SYSTEM_ERROR from the RPC subsystem', async () => {
    await assert.rejects(connect('qemu+unix:///system?socket=/nonexistent/snapvirt-sock'), (err: unknown) => {
      assert.ok(err instanceof VirError);
      assert.deepEqual([err.code, err.domain, err.message], [38, 7, "Failed to connect socket to '/nonexistent/snapvirt-sock': No such file or directory"]);
      return true;
    });
  });

  for (const transport of ['tls', 'tcp', 'libssh', 'libssh2', 'ext']) {
    it(`refuses the ${transport} transport clearly (snapvirt speaks unix and ssh)`, async () => {
      await assert.rejects(connect(`qemu+${transport}://host/system`), (err: unknown) => {
        assert.ok(err instanceof VirError);
        assert.deepEqual([err.code, err.domain], [84, 13]);
        assert.equal(err.message, `Operation not supported: transport '${transport}' is not supported by snapvirt's remote driver (unix and ssh are)`);
        return true;
      });
    });
  }

  it("builds libvirt's ssh command line (port, user, key, no tty, no verify, netcat on the far side)", () => {
    const uri = 'qemu+ssh://alice@example.org:2222/system?socket=/run/x y&keyfile=/k/id&no_tty=1&no_verify=1&netcat=/opt/nc';
    const t = parseRemoteURI(uri, new URL(uri));
    assert.equal(t.name, 'qemu:///system');
    assert.deepEqual(sshArgs(t, socketPathFor(t, false)), [
      '-p', '2222', '-l', 'alice', '-i', '/k/id', '-T', '-e', 'none', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no',
      '--', 'example.org', netcatCommand('/opt/nc', '/run/x y'),
    ]);
    assert.equal(netcatCommand(undefined, '/s'),
      `sh -c 'if nc -q 2>&1 | grep "requires an argument" >/dev/null 2>&1; then ARG=-q0;else ARG=;fi;nc $ARG -U /s'`);
  });

  it('reaches snapvirtd\'s sockets when socket= is absent, and needs socket= for a user daemon over ssh', () => {
    const target = (uri: string) => parseRemoteURI(uri, new URL(uri));
    const env = { XDG_RUNTIME_DIR: '/run/user/1000' };
    assert.equal(socketPathFor(target('qemu+unix:///system'), false, 0, env), '/run/snapvirt/snapvirtd-sock');
    assert.equal(socketPathFor(target('qemu+unix:///system'), true, 0, env), '/run/snapvirt/snapvirtd-sock-ro');
    assert.equal(socketPathFor(target('qemu+unix:///session'), false, 1000, env), '/run/user/1000/snapvirt/snapvirtd-sock');
    assert.equal(socketPathFor(target('test+unix:///default'), false, 1000, env), '/run/user/1000/snapvirt/snapvirtd-sock');
    assert.equal(socketPathFor(target('qemu+unix:///session'), false, 0, env), '/run/snapvirt/snapvirtd-sock');
    assert.equal(socketPathFor(target('qemu+ssh://h/system'), false, 1000, env), '/run/snapvirt/snapvirtd-sock');
    assert.throws(() => socketPathFor(target('qemu+ssh://h/session'), false, 1000, env), /needs the socket=PATH URI parameter/);
  });
});
