// The two-sided one-sample Kolmogorov–Smirnov distribution (scipy's `kstwo`), used for the KS p-value.
import { durbinCdf, pelzGoodCdf, pomeranzCdf } from './kolmogorov-cdf.ts';

const LOG_2PI = Math.log(2 * Math.PI);
// Stirling series coefficients B_2j / (2j (2j − 1)) for j = 8 … 1.
const STIRLING = [-3617 / 122400, 1 / 156, -691 / 360360, 1 / 1188, -1 / 1680, 1 / 1260, -1 / 360, 1 / 12];

const clip = (p: number): number => Math.min(1, Math.max(0, p));

/** log(n! / n^n) by Stirling's series, with n·log(n) removed up front. */
function logFactorialOverPower(n: number): number {
  const rn = 1 / n;
  const x = rn / n;
  let poly = 0;
  for (const c of STIRLING) poly = poly * x + c;
  return Math.log(n) / 2 - n + LOG_2PI / 2 + rn * poly;
}

/**
 * One-sided Smirnov tail Pr(D_n⁺ ≥ x), by the Birnbaum–Tingey sum evaluated in logs
 * (scipy.special.smirnov gives the same value; only its rounding differs).
 */
export function smirnovSf(n: number, x: number): number {
  if (!(x > 0)) return 1;
  if (x >= 1) return 0;
  const last = Math.floor(n * (1 - x));
  const logX = Math.log(x);
  let logBinomial = 0;
  let sum = 0;
  for (let v = 0; v <= last; v++) {
    const a = x + v / n;
    const b = 1 - x - v / n;
    if (b > 0 || v === n) {
      const logTerm = logBinomial + (v - 1) * Math.log(a) + (v === n ? 0 : (n - v) * Math.log(b)) + logX;
      sum += Math.exp(logTerm);
    }
    logBinomial += Math.log((n - v) / (v + 1));
  }
  return clip(sum);
}

/**
 * Survival function Pr(D_n ≥ x) of the two-sided one-sample KS statistic for sample size n
 * (scipy.stats.kstwo.sf(x, n)). The branches are those of Simard & L'Ecuyer (2011), "Computing the two-sided
 * Kolmogorov–Smirnov distribution", J. Stat. Softw. 39(11), laid out as in scipy.stats._ksstats, so p-values
 * agree with scipy's ks_2samp.
 */
export function kolmogorovSmirnovSf(n: number, x: number): number {
  if (!Number.isInteger(n) || n <= 0 || Number.isNaN(x)) return Number.NaN;
  if (x >= 1) return 0;
  if (x <= 0) return 1;
  const t = n * x;
  if (t <= 1) {
    if (t <= 0.5) return 1;
    let prob: number;
    if (n <= 140) {
      prob = 1;
      for (let i = 1; i <= n; i++) prob *= i * (1 / n) * (2 * t - 1);
    } else {
      prob = Math.exp(logFactorialOverPower(n) + n * Math.log(2 * t - 1));
    }
    return clip(1 - prob);
  }
  if (t >= n - 1) return clip(2 * (1 - x) ** n);
  if (x >= 0.5) return clip(2 * smirnovSf(n, x));
  const nxSquared = t * x;
  if (n <= 140) {
    if (nxSquared <= 0.754693) return clip(1 - durbinCdf(n, x));
    if (nxSquared <= 4) return clip(1 - pomeranzCdf(n, x));
    return clip(2 * smirnovSf(n, x));
  }
  if (nxSquared >= 370) return 0;
  if (nxSquared >= 2.2) return clip(2 * smirnovSf(n, x));
  const cdf = n <= 100_000 && n * x ** 1.5 <= 1.4 ? durbinCdf(n, x) : pelzGoodCdf(n, x);
  return clip(1 - cdf);
}
