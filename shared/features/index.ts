// Features: the definition language, the served feature set, and the one computation shared by online and offline paths.
export * from './compute.ts';
export * from './customer-features.ts';
export * from './definition.ts';
export * from './offline.ts';
export * from './serving.ts';
export * from './windows.ts';
export * from './online.ts';
