// The function runtime's public surface: serve(), handler types, the HTTP edge, sinks, logger and metrics.
export * from './handler.ts';
export * from './logger.ts';
export * from './metrics.ts';
export * from './server.ts';
export * from './sink.ts';
export { toStructured, writeBinary } from './cloudevents.ts';
export { problemOf, PROBLEM_CONTENT_TYPE, type ProblemStatus } from './problem.ts';
export * from './boot.ts';
export { readBodyText, readMessage } from './read-message.ts';
export {
  errorAnswer,
  type ErrorStyle,
  errorStyle,
  installEdge,
  readBody,
  readJson,
  readText,
  send,
} from './http-edge.ts';
export { fieldPath, invalidInputFrom, parseInput } from './field-path.ts';
