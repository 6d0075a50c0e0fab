// What Flywheel keeps of a Job read from the API server: a zod-checked summary, and whether the Job still runs.
import { z } from 'zod';

/** A Job condition as the API server reports it (`Complete` and `Failed` are the terminal ones). */
export const JobConditionSchema = z.object({
  type: z.string(),
  status: z.string(),
  reason: z.string().optional(),
  message: z.string().optional(),
});

/** The fields of a batch/v1 Job that launch-training reads back. */
export const JobSummarySchema = z.object({
  name: z.string().min(1),
  namespace: z.string().min(1),
  uid: z.string().optional(),
  labels: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()),
  createdAt: z.string().optional(),
  /** `spec.suspend`: a queued training run waits suspended until launch-training resumes it. */
  suspended: z.boolean(),
  active: z.number().int().nonnegative(),
  succeeded: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  conditions: z.array(JobConditionSchema),
});
export type JobSummary = z.infer<typeof JobSummarySchema>;

/** A Job's phase as far as one-run-per-model cares: it runs until a terminal condition is true. */
export type JobPhase = 'running' | 'succeeded' | 'failed';

/**
 * "A job is considered finished when it is in a terminal condition, either Complete or Failed" (batch/v1
 * JobStatus.conditions). A Job without one, including one just created and still pending, counts as running.
 */
export function jobPhase(job: Pick<JobSummary, 'conditions'>): JobPhase {
  const terminal = job.conditions.find(
    (c) => c.status === 'True' && (c.type === 'Complete' || c.type === 'Failed'),
  );
  if (!terminal) return 'running';
  return terminal.type === 'Complete' ? 'succeeded' : 'failed';
}
