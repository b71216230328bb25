/* RLAE_HD marks the static inline math that is compiled for both the host and CUDA devices (the
 * same definition as host/core/rng.h; an identical redefinition is allowed). The scalar math of the
 * policies and losses is written once in such headers, so cuda/ kernels and the CPU references share
 * one source of every formula. */
#ifndef RLAE_ALGORITHMS_HD_H
#define RLAE_ALGORITHMS_HD_H

#if defined(__CUDACC__)
#define RLAE_HD __host__ __device__
#else
#define RLAE_HD
#endif

#endif
