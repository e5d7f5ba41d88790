import { describeSinkContract } from './contract.js';
import { createMemorySink, type MemorySink } from './sinks.js';

// The reference sink for the suite itself: at-least-once, no faults of its own, so every case takes the
// simulated path (prefix write, aborted-context open).
describeSinkContract(
  'memory',
  async () => {
    const sink: MemorySink = createMemorySink('contract-memory');
    return { sink, readBack: async () => [...sink.events] };
  },
  { idempotent: false },
);
