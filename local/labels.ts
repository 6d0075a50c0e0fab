// Text the terminal lines and the dashboard share: what each model event is called, and how simulated time reads.
import type { ModelEvent } from './state.ts';

/** What each model event is called, on the terminal and on the dashboard's version timeline. */
export const MODEL_EVENT_LABEL: Record<ModelEvent['kind'], string> = {
  drift: 'drift detected',
  launched: 'training launched',
  trained: 'model trained',
  promoted: 'promoted',
  rejected: 'rejected',
  failed: 'training failed',
};

/** The UTC date and minute of an instant, for simulated time: 2026-11-03 14:05. */
export const utcMinute = (t: number): string => new Date(t).toISOString().slice(0, 16).replace('T', ' ');
