// A sampling allocation profile of this process (for the benches' children), counting what the young generation
// collected too: where the bytes per row come from, not only what stays alive. Open the file in DevTools' Memory tab.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

/**
 * Starts sampling when `dir` is set and returns the function that writes `<name>-<pid>.heapprofile` there.
 * `promotedOnly`: leave out what the young generation collected, i.e. keep what was promoted.
 */
export async function allocSampling(dir, name, { promotedOnly = false } = {}) {
  if (!dir) return async () => {};
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 16384,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: !promotedOnly,
  });
  return async () => {
    const { profile } = await session.post('HeapProfiler.stopSampling');
    writeFileSync(join(dir, `${name}-${process.pid}.heapprofile`), JSON.stringify(profile));
    session.disconnect();
  };
}
