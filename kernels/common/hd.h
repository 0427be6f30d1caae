// CG_HD marks scalar functions that both backends call: __host__ __device__
// under nvcc, plain inline under the host compiler.
#pragma once
#if defined(__CUDACC__)
#define CG_HD __host__ __device__ __forceinline__
#else
#define CG_HD inline
#endif
