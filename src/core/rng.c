/* Philox4x32-10 streams (see include/shallowsweep/rng.h for the mapping). */
#include "shallowsweep/rng.h"

#include <math.h>

#include <Random123/philox.h>

/* 2^-53: spacing of the 53-bit uniform grid. */
#define TWO_POW_M53 (1.0 / 9007199254740992.0)
#define TWO_PI 6.283185307179586476925286766559

void ssw_rng_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
  philox4x32_ctr_t c = {{ctr[0], ctr[1], ctr[2], ctr[3]}};
  philox4x32_key_t k = {{key[0], key[1]}};
  philox4x32_ctr_t r = philox4x32_R(10, c, k);
  for (int i = 0; i < 4; i++) out[i] = r.v[i];
}

/* Uniforms u0, u1 of block `block`. */
static void block_uniforms(ssw_stream_t stream, uint64_t seed, uint64_t index, uint32_t sub,
                           uint64_t block, double u[2]) {
  const uint32_t ctr[4] = {(uint32_t)block, (uint32_t)index, (uint32_t)(index >> 32), sub};
  const uint32_t key[2] = {(uint32_t)seed, (uint32_t)stream};
  uint32_t out[4];
  ssw_rng_philox4x32_10(ctr, key, out);
  for (int w = 0; w < 2; w++) {
    uint64_t word = ((uint64_t)out[2 * w + 1] << 32) | out[2 * w];
    u[w] = ((double)(word >> 11) + 0.5) * TWO_POW_M53;
  }
}

/* Box-Muller pair from the uniforms of one block. */
static void block_gaussians(ssw_stream_t stream, uint64_t seed, uint64_t index, uint32_t sub,
                            uint64_t block, double g[2]) {
  double u[2];
  block_uniforms(stream, seed, index, sub, block, u);
  double radius = sqrt(-2.0 * log(u[0]));
  g[0] = radius * cos(TWO_PI * u[1]);
  g[1] = radius * sin(TWO_PI * u[1]);
}

typedef void (*block_fn_t)(ssw_stream_t stream, uint64_t seed, uint64_t index, uint32_t sub, uint64_t block,
                           double pair[2]);

/* out (count) from consecutive blocks of two draws each; an odd count drops the last one. */
static void fill_from_blocks(block_fn_t block_fn, ssw_stream_t stream, uint64_t seed, uint64_t index, uint32_t sub,
                             size_t count, double *out) {
  double pair[2];
  for (size_t i = 0; i < count; i += 2) {
    block_fn(stream, seed, index, sub, i / 2, pair);
    out[i] = pair[0];
    if (i + 1 < count) out[i + 1] = pair[1];
  }
}

void ssw_rng_uniforms(ssw_stream_t stream, uint64_t seed, uint64_t index, uint32_t sub, size_t count,
                      double *out) {
  fill_from_blocks(block_uniforms, stream, seed, index, sub, count, out);
}

void ssw_rng_gaussians(ssw_stream_t stream, uint64_t seed, uint64_t index, uint32_t sub, size_t count,
                       double *out) {
  fill_from_blocks(block_gaussians, stream, seed, index, sub, count, out);
}

double ssw_rng_uniform(ssw_stream_t stream, uint64_t seed, uint64_t index, uint32_t sub, uint64_t draw) {
  double u[2];
  block_uniforms(stream, seed, index, sub, draw / 2, u);
  return u[draw % 2];
}

double ssw_rng_gaussian(ssw_stream_t stream, uint64_t seed, uint64_t index, uint32_t sub, uint64_t draw) {
  double g[2];
  block_gaussians(stream, seed, index, sub, draw / 2, g);
  return g[draw % 2];
}
