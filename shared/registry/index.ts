// The model registry's public surface.
export * from './registry.ts';
export * from './schemas.ts';
