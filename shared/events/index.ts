// The event catalog's public surface: type names, schemas, the catalog table and the event builder.
export * from './catalog.ts';
export * from './event.ts';
export * from './schemas.ts';
export * from './types.ts';
export * from './codes.ts';
export * from './normalize.ts';
