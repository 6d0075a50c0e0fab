// Feature matrices with named columns, their validation, and the standard scaler the exported graphs bake in.
import { z } from 'zod';
import { InvalidInputError } from '../errors/index.ts';

/** A dense numeric matrix: `rows[i][j]` is the value of `columns[j]` for row i. */
export const FeatureMatrixSchema = z.object({
  columns: z.array(z.string().min(1)).min(1),
  rows: z.array(z.array(z.number())),
});
export type FeatureMatrix = z.infer<typeof FeatureMatrixSchema>;

/** Per-column mean and standard deviation (population, like scikit-learn's StandardScaler). */
export const ScalerSchema = z.object({
  mean: z.array(z.number()),
  std: z.array(z.number().positive()),
});
export type Scaler = z.infer<typeof ScalerSchema>;

/** Checks shape and finiteness once, so training never sees a ragged row or a NaN; returns the width. */
export function validateMatrix(matrix: FeatureMatrix, field = 'rows'): number {
  const width = matrix.columns.length;
  if (new Set(matrix.columns).size !== width) {
    throw new InvalidInputError('columns', 'column names must be unique');
  }
  matrix.rows.forEach((row, i) => {
    if (row.length !== width) {
      throw new InvalidInputError(`${field}[${i}]`, `row has ${row.length} values, expected ${width}`);
    }
    for (let j = 0; j < width; j++) {
      if (!Number.isFinite(row[j])) {
        throw new InvalidInputError(`${field}[${i}][${j}]`, `${matrix.columns[j]} is not a finite number`);
      }
    }
  });
  return width;
}

/** Mean/std per column; a constant column gets std 1 so scaling leaves it centred instead of dividing by 0. */
export function fitScaler(rows: readonly (readonly number[])[], width: number): Scaler {
  const mean = new Array<number>(width).fill(0);
  const sq = new Array<number>(width).fill(0);
  for (const row of rows) for (let j = 0; j < width; j++) mean[j] = (mean[j] ?? 0) + (row[j] ?? 0);
  const n = Math.max(rows.length, 1);
  for (let j = 0; j < width; j++) mean[j] = (mean[j] ?? 0) / n;
  for (const row of rows) {
    for (let j = 0; j < width; j++) {
      const d = (row[j] ?? 0) - (mean[j] ?? 0);
      sq[j] = (sq[j] ?? 0) + d * d;
    }
  }
  const std = sq.map((s) => {
    const v = Math.sqrt(s / n);
    return v > 1e-12 ? v : 1;
  });
  return { mean, std };
}

/** Scaled copy of `rows` as one row-major Float64Array (the layout the trainers work on). */
export function scaleRows(rows: readonly (readonly number[])[], scaler: Scaler): Float64Array {
  const width = scaler.mean.length;
  const out = new Float64Array(rows.length * width);
  rows.forEach((row, i) => {
    for (let j = 0; j < width; j++) {
      out[i * width + j] = ((row[j] ?? 0) - (scaler.mean[j] ?? 0)) / (scaler.std[j] ?? 1);
    }
  });
  return out;
}

/** Row-major Float32Array of raw rows: the input layout of the ONNX models. */
export function toFloat32(rows: readonly (readonly number[])[], width: number): Float32Array {
  const out = new Float32Array(rows.length * width);
  rows.forEach((row, i) => {
    for (let j = 0; j < width; j++) out[i * width + j] = row[j] ?? 0;
  });
  return out;
}
