/**
 * Loaded with `node --import` by crash children that trace failpoints: registers
 * failpoint-trace-hooks.js. Does nothing unless SNAPVIRT_FAILPOINT_TRACE=1, because
 * `node --test dist/test/` also imports every file under test/.
 */
import { register } from 'node:module';

if (process.env.SNAPVIRT_FAILPOINT_TRACE === '1') register('./failpoint-trace-hooks.js', import.meta.url);
