// The model registry's public surface.
export * from './keys.ts';
export * from './registry.ts';
export * from './schemas.ts';
