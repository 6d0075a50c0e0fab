// Drift detection core: baselines, statistics, the window's counts, the decision, and the event data they produce.
export * from './baseline.ts';
export * from './clustering.ts';
export * from './config.ts';
export * from './decide.ts';
export * from './events.ts';
export * from './kolmogorov.ts';
export * from './measure.ts';
export * from './sample.ts';
export * from './special.ts';
export * from './stats.ts';
export * from './window.ts';
