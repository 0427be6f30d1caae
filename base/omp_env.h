// The OpenMP runtime's settings that only its start can take (the wait policy, the
// thread count), chosen by the program before libgomp reads its environment. A tiny
// shared library, libcovergan_omp_env.so, linked with -z initfirst, so its constructor
// runs before every other library's, libgomp's included; see omp_env.c.
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

// The spin count libgomp gets when the user sets neither OMP_WAIT_POLICY nor
// GOMP_SPINCOUNT: spin this many rounds (about 20 us here) at a barrier, then sleep.
#define COVERGAN_GOMP_SPINCOUNT "10000"

// CPUs this process may use: the affinity mask's count, capped by the CPU quota of its
// cgroup (v2 cpu.max or v1 cpu.cfs_quota_us / cpu.cfs_period_us, rounded up, the
// tightest of the group and its parents). proc_cgroup (normally "/proc/self/cgroup") and
// cgroup_root (normally "/sys/fs/cgroup") may name a fake tree for tests. *affinity and
// *quota (CPUs, 0 when unlimited) receive the parts when not null.
int covergan_usable_cpus(const char* proc_cgroup, const char* cgroup_root, int* affinity, double* quota);

// What the constructor did: bit 1 set GOMP_SPINCOUNT, bit 2 set OMP_NUM_THREADS, bit 4
// skipped everything (COVERGAN_OMP_DEFAULTS=libgomp); and the values it set.
int covergan_omp_env_applied(void);
const char* covergan_omp_env_spincount(void);
int covergan_omp_env_threads(void);
// Unsets the variables the constructor set, once libgomp has read them, so child
// processes (a Python peer, a shell) start from the user's environment.
void covergan_omp_env_restore(void);

#ifdef __cplusplus
}
#endif
