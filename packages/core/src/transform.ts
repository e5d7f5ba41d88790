/**
 * A Transform maps an event to a new event, or to null to drop it. Transforms wrap a Sink and give back a
 * Sink (`transformSink`), or run in the Pipeline before batching (`transform` option). Dropping an event
 * never holds back confirmation: transaction ends still flow.
 */
import type { Batch, ChangeEvent } from './event.js';
import type { Sink } from './interfaces.js';

export type Transform = (event: ChangeEvent) => ChangeEvent | null;

/** Runs transforms left to right; stops at the first that drops the event. */
export function composeTransforms(...transforms: Transform[]): Transform {
  if (transforms.length === 1) return transforms[0] as Transform;
  return (event) => {
    let e: ChangeEvent | null = event;
    for (const t of transforms) {
      e = t(e);
      if (e === null) return null;
    }
    return e;
  };
}

/** Applies a transform to every event of a batch; the same batch object when nothing changed. */
export function transformBatch(batch: Batch, transform: Transform): Batch {
  let out: ChangeEvent[] | null = null;
  const events = batch.events;
  for (let i = 0; i < events.length; i++) {
    const e = events[i] as ChangeEvent;
    const t = transform(e);
    if (t !== e && out === null) out = events.slice(0, i) as ChangeEvent[];
    if (out !== null && t !== null) out.push(t);
  }
  return out === null ? batch : { ...batch, events: out };
}

/** A Sink that applies `transforms` to each batch before handing it to `sink`. */
export function transformSink(sink: Sink, ...transforms: Transform[]): Sink {
  const transform = composeTransforms(...transforms);
  const wrapped: Sink = {
    name: sink.name,
    write: (batch, opts) => sink.write(transformBatch(batch, transform), opts),
  };
  if (sink.open) wrapped.open = (ctx) => (sink.open as NonNullable<Sink['open']>)(ctx);
  if (sink.close) wrapped.close = () => (sink.close as NonNullable<Sink['close']>)();
  return wrapped;
}
