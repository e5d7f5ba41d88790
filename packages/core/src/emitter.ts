import type { PipelineEvent, PipelineEventType, PipelineListener } from './pipeline-types.js';

/** Listener sets per event type. A throwing listener is reported to `onListenerError`, never to the emitter. */
export class Emitter {
  private readonly listeners = new Map<PipelineEventType, Set<(e: PipelineEvent) => void>>();
  constructor(private readonly onListenerError: (err: unknown) => void) {}

  on<T extends PipelineEventType>(type: T, listener: PipelineListener<T>): () => void {
    let set = this.listeners.get(type);
    if (!set) {
      set = new Set();
      this.listeners.set(type, set);
    }
    const fn = listener as (e: PipelineEvent) => void;
    set.add(fn);
    return () => set.delete(fn);
  }

  emit(event: PipelineEvent): void {
    const set = this.listeners.get(event.type);
    if (!set) return;
    for (const fn of set) {
      try {
        fn(event);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }
}
