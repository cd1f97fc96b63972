/**
 * What only the running QEMU knows, shown as libvirt shows it: the live XML carries the
 * VNC port an autoport display got and the ptys of serial ports and consoles (the
 * inactive XML keeps port -1), `vncdisplay`/`domdisplay` print them as virsh does, and the
 * password from the definition is in force (the VNC server asks for VNC authentication).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { killAllQemu } from '../../support/active-env.js';
import { createQcow2 } from '../../support/active-test-support.js';
import { openQemuTestEnv } from '../../../../helpers/qemu-connection.js';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../../../../../bin/snapvirt', import.meta.url));

/** The security types a VNC server offers after the RFB 3.8 handshake (1: none, 2: VNC authentication). */
function vncSecurityTypes(port: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let buffer = Buffer.alloc(0);
    let greeted = false;
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!greeted && buffer.length >= 12) {
        greeted = true;
        socket.write('RFB 003.008\n');
        buffer = buffer.subarray(12);
      }
      if (greeted && buffer.length >= 1 && buffer.length >= 1 + buffer[0]!) {
        resolve([...buffer.subarray(1, 1 + buffer[0]!)]);
        socket.destroy();
      }
    });
    socket.on('error', reject);
  });
}

test('live XML: the VNC port and ptys QEMU chose; vncdisplay and domdisplay; the VNC password is in force', async () => {
  const env = await openQemuTestEnv();
  try {
    const disk = join(env.imageDir, 'vda.qcow2');
    await createQcow2(disk);
    const xml = (name: string, passwd: string): string => `<domain type='qemu'><name>${name}</name><memory>65536</memory><os><type>hvm</type></os><devices>
      <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${join(env.imageDir, `${name}.qcow2`)}'/><target dev='vda'/></disk>
      <serial type='pty'><target port='0'/></serial><console type='pty'><target type='serial' port='0'/></console>
      <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'${passwd}/><video><model type='vga'/></video></devices></domain>`;
    await run('cp', [disk, join(env.imageDir, 'locked.qcow2')]);
    await run('cp', [disk, join(env.imageDir, 'open.qcow2')]);
    const dom = await env.conn.domainDefineXML(xml('locked', " passwd='s3cret'"));
    await dom.create();
    const vnc = JSON.parse(await dom.qemuMonitorCommand('{"execute":"query-vnc"}')) as { return: { service: string } };
    const port = Number(vnc.return.service);
    assert.ok(port >= 5900);
    const chardevs = JSON.parse(await dom.qemuMonitorCommand('{"execute":"query-chardev"}')) as { return: { label: string; filename: string }[] };
    const pty = chardevs.return.find((c) => c.label === 'charserial0')!.filename.slice('pty:'.length);
    const live = await dom.getXMLDesc(0);
    assert.match(live, new RegExp(`<graphics type='vnc' port='${port}' autoport='yes' listen='127.0.0.1'/>`));
    assert.match(live, new RegExp(`<serial type='pty'>\\s*<source path='${pty}'/>`));
    assert.match(live, new RegExp(`<console type='pty' tty='${pty}'>\\s*<source path='${pty}'/>`));
    assert.match(await dom.getXMLDesc(2 /* INACTIVE */), /<graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'\/>/);
    const cli = await run(process.execPath, [BIN, '-c', 'qemu:///session',
      'vncdisplay locked; domdisplay locked; domdisplay locked --include-password'], { env: { ...process.env, SNAPVIRT_STATE_DIR: env.stateDir } });
    const display = port - 5900;
    assert.equal(cli.stdout, `127.0.0.1:${display}\n\nvnc://127.0.0.1:${display}\nvnc://:s3cret@127.0.0.1:${display}\n`);
    assert.deepEqual(await vncSecurityTypes(port), [2], 'the password from the definition: VNC authentication');

    const open = await env.conn.domainDefineXML(xml('open', ''));
    await open.create();
    const openPort = Number((JSON.parse(await open.qemuMonitorCommand('{"execute":"query-vnc"}')) as { return: { service: string } }).return.service);
    assert.notEqual(openPort, port, 'autoport: the next free display');
    assert.deepEqual(await vncSecurityTypes(openPort), [1], 'no password: no authentication');
    await open.destroy();
    await dom.destroy();
  } finally {
    await killAllQemu(env.stateDir);
    await env.cleanup();
  }
});
