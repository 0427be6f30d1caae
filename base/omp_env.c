/* The OpenMP start-up settings (see omp_env.h). libgomp parses OMP_WAIT_POLICY,
 * GOMP_SPINCOUNT and OMP_NUM_THREADS once, in its own constructor, when the program
 * loads; this library is marked DF_1_INITFIRST, so glibc runs its constructor first.
 * Plain C with no allocation beyond setenv's: nothing else is initialised yet. */
#define _GNU_SOURCE
#include "base/omp_env.h"

#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int g_applied = 0;
static int g_threads = 0;

/* Reads the first line of path into buf; 0 when it cannot. */
static int read_line(const char* path, char* buf, size_t n) {
  FILE* f = fopen(path, "r");
  if (!f) return 0;
  const int ok = fgets(buf, (int)n, f) != NULL;
  fclose(f);
  return ok;
}

/* CPUs allowed by one group directory (v2 file cpu.max "quota period" or "max"; v1
 * cpu.cfs_quota_us, -1 when unlimited), 0 when unlimited or unreadable. */
static double dir_quota(const char* dir, int v2) {
  char path[4096], a[128], b[128];
  if (v2) {
    snprintf(path, sizeof path, "%s/cpu.max", dir);
    if (!read_line(path, a, sizeof a)) return 0;
    char q[64];
    long period = 0;
    if (sscanf(a, "%63s %ld", q, &period) != 2 || strcmp(q, "max") == 0 || period <= 0) return 0;
    return atof(q) / (double)period;
  }
  snprintf(path, sizeof path, "%s/cpu.cfs_quota_us", dir);
  if (!read_line(path, a, sizeof a)) return 0;
  snprintf(path, sizeof path, "%s/cpu.cfs_period_us", dir);
  if (!read_line(path, b, sizeof b)) return 0;
  const long quota = atol(a), period = atol(b);
  return quota > 0 && period > 0 ? (double)quota / (double)period : 0;
}

/* The tightest quota on the way from the process's group up to the root. */
static double cgroup_quota(const char* proc_cgroup, const char* root) {
  FILE* f = fopen(proc_cgroup, "r");
  if (!f) return 0;
  char line[4096], rel[4096] = "";
  int v2 = 0, found = 0;
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    char* c1 = strchr(line, ':');
    char* c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2) continue;
    *c1 = 0, *c2 = 0;
    const char* ctrl = c1 + 1;
    if (strcmp(line, "0") == 0 && *ctrl == 0) { /* v2 unified: used unless v1 has a cpu line */
      if (!found) snprintf(rel, sizeof rel, "%s", c2 + 1), v2 = 1;
    } else if (strstr(ctrl, "cpu") && (strstr(ctrl, "cpu,") || strcmp(ctrl, "cpu") == 0 || strstr(ctrl, ",cpu"))) {
      snprintf(rel, sizeof rel, "%s", c2 + 1), v2 = 0, found = 1;
    }
  }
  fclose(f);
  if (!rel[0]) return 0;
  char base[4096];
  if (v2) snprintf(base, sizeof base, "%s", root);
  else {  /* v1: the cpu controller's own mount, under either of its usual names */
    snprintf(base, sizeof base, "%s/cpu,cpuacct", root);
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/cpu.cfs_quota_us", base);
    if (access(probe, R_OK) != 0) snprintf(base, sizeof base, "%s/cpu", root);
  }
  double best = 0;
  char dir[8192];
  snprintf(dir, sizeof dir, "%s%s", base, strcmp(rel, "/") == 0 ? "" : rel);
  for (;;) {
    const double q = dir_quota(dir, v2);
    if (q > 0 && (best == 0 || q < best)) best = q;
    if (strlen(dir) <= strlen(base)) break;
    char* slash = strrchr(dir, '/');
    if (!slash || slash < dir + strlen(base)) break;
    *slash = 0;
  }
  return best;
}

int covergan_usable_cpus(const char* proc_cgroup, const char* cgroup_root, int* affinity, double* quota) {
  cpu_set_t set;
  int n = 0;
  if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
  if (n <= 0) n = (int)sysconf(_SC_NPROCESSORS_ONLN);
  if (n <= 0) n = 1;
  const double q = cgroup_quota(proc_cgroup, cgroup_root);
  if (affinity) *affinity = n;
  if (quota) *quota = q;
  if (q > 0 && ceil(q) < n) n = (int)ceil(q);
  return n < 1 ? 1 : n;
}

static void omp_env_init(void) {
  const char* mode = getenv("COVERGAN_OMP_DEFAULTS");
  if (mode && strcmp(mode, "libgomp") == 0) {
    g_applied = 4;
    return;
  }
  if (!getenv("OMP_WAIT_POLICY") && !getenv("GOMP_SPINCOUNT") && setenv("GOMP_SPINCOUNT", COVERGAN_GOMP_SPINCOUNT, 0) == 0)
    g_applied |= 1;
  if (!getenv("OMP_NUM_THREADS")) {
    int affinity = 0;
    const int n = covergan_usable_cpus("/proc/self/cgroup", "/sys/fs/cgroup", &affinity, NULL);
    char v[16];
    snprintf(v, sizeof v, "%d", n);
    if (n < affinity && setenv("OMP_NUM_THREADS", v, 0) == 0) g_applied |= 2, g_threads = n;
  }
}

/* In .init_array like any constructor; DF_1_INITFIRST (the link flag) puts this whole
 * object's initialisers ahead of libgomp's. */
__attribute__((constructor)) static void covergan_omp_env_ctor(void) { omp_env_init(); }

int covergan_omp_env_applied(void) { return g_applied; }
const char* covergan_omp_env_spincount(void) { return COVERGAN_GOMP_SPINCOUNT; }
int covergan_omp_env_threads(void) { return g_threads; }

void covergan_omp_env_restore(void) {
  const char* s = getenv("GOMP_SPINCOUNT");
  if ((g_applied & 1) && s && strcmp(s, COVERGAN_GOMP_SPINCOUNT) == 0) unsetenv("GOMP_SPINCOUNT");
  if (g_applied & 2) unsetenv("OMP_NUM_THREADS");
}
