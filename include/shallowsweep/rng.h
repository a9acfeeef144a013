/* Counter-based random numbers: Philox4x32-10 (Salmon et al., SC'11; Random123 1.14).
 *
 * Every draw is a pure function of (stream, seed, index, sub, draw): no state, so a cell's
 * numbers do not depend on which rank runs it, in which order, or how many ranks exist.
 *
 *   key     = { seed mod 2^32, stream }
 *   counter = { draw / 2, index mod 2^32, index / 2^32, sub }
 *
 * One Philox block gives 128 bits = two 64-bit words w0 = out[1]:out[0], w1 = out[3]:out[2]
 * (high:low). Word w becomes the uniform ((w >> 11) + 1/2) * 2^-53, strictly inside (0, 1).
 * Draw 2b is uniform u0 of block b, draw 2b+1 is u1. Gaussians pair the same two uniforms
 * by Box-Muller: draw 2b = sqrt(-2 ln u0) cos(2 pi u1), draw 2b+1 = sqrt(-2 ln u0) sin(2 pi u1).
 *
 * "index" is the sample (row of X, neuron of W, epoch of a shuffle) and "sub" separates
 * the quantities drawn for one index (inner weights, outer weight, bias, noise), so that
 * adding samples or dimensions never shifts another quantity's numbers.
 */
#ifndef SHALLOWSWEEP_RNG_H
#define SHALLOWSWEEP_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
  SSW_STREAM_DATA = 1,    /* inputs x_i of training (and online) samples */
  SSW_STREAM_LABELS = 2,  /* labels, label noise, teacher weights */
  SSW_STREAM_INIT = 3,    /* initial weights */
  SSW_STREAM_BATCHES = 4, /* minibatch shuffles */
  SSW_STREAM_TEST = 5,    /* the fresh test set (inputs and labels) */
} ssw_stream_t;

/* Raw Philox4x32-10: out = philox(ctr, key). Exposed for the known-answer test. */
void ssw_rng_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* count uniforms on (0, 1): draws 0..count-1 of (stream, seed, index, sub). */
void ssw_rng_uniforms(ssw_stream_t stream, uint64_t seed, uint64_t index, uint32_t sub,
                      size_t count, double *out /* (count) */);
/* count standard Gaussians: draws 0..count-1 of (stream, seed, index, sub). */
void ssw_rng_gaussians(ssw_stream_t stream, uint64_t seed, uint64_t index, uint32_t sub,
                       size_t count, double *out /* (count) */);
/* Single draws (the same numbers the array versions give at position draw). */
double ssw_rng_uniform(ssw_stream_t stream, uint64_t seed, uint64_t index, uint32_t sub, uint64_t draw);
double ssw_rng_gaussian(ssw_stream_t stream, uint64_t seed, uint64_t index, uint32_t sub, uint64_t draw);

#endif
