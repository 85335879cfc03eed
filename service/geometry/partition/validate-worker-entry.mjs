// Worker bootstrap: the service runs TypeScript through tsx (npm start, vitest); a worker thread needs
// the loader registered in its own thread before it can import the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./validate-worker.ts');
