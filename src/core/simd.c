/* Choosing the activation kernels' instruction set at run time (shallowsweep/simd.h). Debian
 * builds for baseline x86-64, so the wider sets are compiled separately (act_simd.c) and
 * chosen here by what the CPU reports. */
#include "shallowsweep/simd.h"

#include <stdlib.h>
#include <string.h>

#include "act_simd.h"

static const ssw_act_kernels_t *const SETS[] = {&ssw_act_kernels_avx512, &ssw_act_kernels_avx2,
                                                &ssw_act_kernels_baseline}; /* widest first */
enum { NSETS = sizeof SETS / sizeof SETS[0] };

static const ssw_act_kernels_t *chosen; /* NULL until first use */

bool ssw_simd_supported(const char *name) {
  __builtin_cpu_init();
  if (!strcmp(name, "avx512")) return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
  if (!strcmp(name, "avx2")) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return !strcmp(name, "baseline");
}

static const ssw_act_kernels_t *widest(void) {
  for (int k = 0; k < NSETS; k++)
    if (ssw_simd_supported(SETS[k]->name)) return SETS[k];
  return &ssw_act_kernels_baseline;
}

static void supported_list(char *buf, size_t size) {
  buf[0] = '\0';
  for (int k = 0; k < NSETS; k++)
    if (ssw_simd_supported(SETS[k]->name)) {
      if (buf[0]) strncat(buf, ", ", size - strlen(buf) - 1);
      strncat(buf, SETS[k]->name, size - strlen(buf) - 1);
    }
}

/* The set called name, NULL for "auto"; *known false if the name is none of them. */
static const ssw_act_kernels_t *find(const char *name, bool *known) {
  *known = true;
  if (!strcmp(name, "auto")) return widest();
  for (int k = 0; k < NSETS; k++)
    if (!strcmp(name, SETS[k]->name)) return SETS[k];
  *known = false;
  return NULL;
}

/* Select name, or fail with a message that starts with what (the variable, or nothing). */
static int select_as(const char *name, const char *what) {
  char list[64];
  supported_list(list, sizeof list);
  bool known;
  const ssw_act_kernels_t *set = find(name, &known);
  SSW_REQUIRE(known, SSW_ERR_INPUT, "%sunknown instruction set '%s' (this CPU runs: %s; or auto)", what, name,
              list);
  SSW_REQUIRE(ssw_simd_supported(set->name), SSW_ERR_INPUT,
              "%sthis CPU cannot run instruction set '%s' (it runs: %s; or auto)", what, name, list);
  chosen = set;
  return SSW_OK;
}

int ssw_simd_select(const char *name) { return select_as(name, ""); }

int ssw_simd_check_env(void) {
  const char *env = getenv("SSW_SIMD");
  if (!env || !*env) return SSW_OK;
  return select_as(env, "environment variable SSW_SIMD: ");
}

const ssw_act_kernels_t *ssw_act_kernels(void) {
  if (!chosen) {
    const char *env = getenv("SSW_SIMD");
    if (!env || !*env || ssw_simd_select(env) != SSW_OK) chosen = widest();
  }
  return chosen;
}

const char *ssw_simd_path(void) { return ssw_act_kernels()->name; }
