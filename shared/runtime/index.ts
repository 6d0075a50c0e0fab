// The function runtime's public surface: serve(), handler types, sinks, logger and metrics.
export * from './handler.ts';
export * from './logger.ts';
export * from './metrics.ts';
export * from './server.ts';
export * from './sink.ts';
export { toStructured, writeBinary } from './cloudevents.ts';
export { problemOf, PROBLEM_CONTENT_TYPE } from './problem.ts';
export * from './boot.ts';
export { readBodyText, readMessage } from './read-message.ts';
