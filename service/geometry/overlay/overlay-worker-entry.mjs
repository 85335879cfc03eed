// Worker bootstrap, as service/geometry/partition/validate-worker-entry.mjs: the service runs TypeScript
// through tsx, and a worker thread needs the loader registered in its own thread first.
import { setPriority } from 'node:os';
import { register } from 'tsx/esm/api';

// Background work gives way to the HTTP thread (issue #15: tile p99 while an overlay arrangement runs).
// On Linux the nice value is per thread, so this lowers only this worker; elsewhere it would lower the
// whole process.
if (process.platform === 'linux') setPriority(0, 19);
register();
await import('./overlay-worker.ts');
