/* The fused PPO (Dirichlet) and MAPPO (per-agent Normal) minibatch loss on the GPU, fp32. Semantics
 * and CPU reference: algorithms/ppo_loss.{h,inc,c}; every per-element formula (softplus, lgamma,
 * digamma, trigamma, the Dirichlet / Normal densities and entropies and their gradients, the clipped
 * surrogate, the value losses) is the float instantiation of algorithms/policy_math.h, the very code
 * the CPU reference runs in double.
 *
 * Kernels, queued on one stream:
 *   (Normal only) count  the active (sample, agent) pairs, per block, then one integer atomicAdd per
 *                        block: integer addition is exact, so the count is order independent.
 *   loss     one thread per sample (its K members / agents in a loop): loss terms, gradients written
 *            (already divided by the number of terms, as on the CPU), and the block's partial sums
 *            of (pg, entropy, k3 KL, clip count, value loss) in double by a fixed shared-memory tree.
 *   finish   one block: sums the block partials, each thread a fixed strided subset, then a fixed
 *            tree, and writes the metrics.
 * No float atomics anywhere, and the grid depends only on n: the same inputs give bit-identical
 * gradients and metrics on every run. */
#include "cuda/cuda_check.h"
#include "cuda/launch.h"

#include "algorithms/policy_math.h"

namespace {

constexpr int kThreads = 256;
constexpr int kParts = 5; /* pg, entropy, kl, clipped count, value loss */
enum { P_PG = 0, P_ENT, P_KL, P_CLIP, P_V };

/* The loss settings in the precision of the kernel. */
struct Params {
    float clip, vf_coef, ent_coef, value_clip, huber_delta, alpha_min;
    int huber, clip_value;
};

/* scratch: [0] the active-pair count (as an unsigned long long), then kParts doubles per block. */
__host__ __device__ inline unsigned long long *count_slot(double *scratch) { return (unsigned long long *)scratch; }
__host__ __device__ inline double *part_slots(double *scratch) { return scratch + 1; }

int grid_of(int n) { return (n + kThreads - 1) / kThreads; }

/* The value term of sample i (shared by both families): adds to the partial, writes d_value. */
__device__ inline float value_part(const Params &p, const rlae_cuda_ppo_args &a, int i, float inv_n)
{
    float dv;
    float v_old = a.value_old ? a.value_old[i] : 0.0f;
    float t = rlae_hd_value_termf(p.huber, p.huber_delta, p.clip_value, p.value_clip, a.value[i], v_old, a.ret[i], &dv);
    if (a.d_value)
        a.d_value[i] = p.vf_coef * inv_n * dv;
    return t;
}

/* Fixed-order block tree of the kParts partials; thread 0 writes the block's slots. */
__device__ void block_partials(double (&v)[kParts], double *out)
{
    __shared__ double sh[kParts][kThreads];
    for (int j = 0; j < kParts; j++)
        sh[j][threadIdx.x] = v[j];
    __syncthreads();
    for (int h = kThreads / 2; h > 0; h >>= 1) {
        if ((int)threadIdx.x < h)
            for (int j = 0; j < kParts; j++)
                sh[j][threadIdx.x] += sh[j][threadIdx.x + h];
        __syncthreads();
    }
    if (threadIdx.x == 0)
        for (int j = 0; j < kParts; j++)
            out[(size_t)blockIdx.x * kParts + j] = sh[j][0];
}

__global__ void dirichlet_kernel(Params p, rlae_cuda_ppo_args a)
{
    int i = blockIdx.x * kThreads + threadIdx.x, K = a.K;
    double part[kParts] = {0, 0, 0, 0, 0};
    if (i < a.n) {
        float inv_n = 1.0f / (float)a.n;
        const float *x = a.head + (size_t)i * K, *w = a.action + (size_t)i * K;
        /* alpha is recomputed where needed instead of kept in a K-long local array */
        float a0 = 0.0f, lp = 0.0f, h = 0.0f;
        for (int k = 0; k < K; k++) {
            float al = rlae_hd_softplusf(x[k]) + p.alpha_min;
            a0 += al;
            lp += rlae_hd_dirichlet_logp_termf(al, w[k]);
            h += rlae_hd_dirichlet_entropy_termf(al);
        }
        lp += rlae_hd_lgammaf(a0);
        float coef, kl, clipped;
        part[P_PG] = rlae_hd_ppo_policy_termf(p.clip, a.adv[i], lp - a.logp_old[i], &coef, &kl, &clipped);
        part[P_KL] = kl;
        part[P_CLIP] = clipped;
        part[P_ENT] = rlae_hd_dirichlet_entropy_finishf(h, a0, K);
        if (a.d_head) {
            float psi0 = rlae_hd_digammaf(a0), t0 = (a0 - (float)K) * rlae_hd_trigammaf(a0);
            float *dx = a.d_head + (size_t)i * K;
            for (int k = 0; k < K; k++) {
                float al = rlae_hd_softplusf(x[k]) + p.alpha_min;
                float dalpha = inv_n * (coef * rlae_hd_dirichlet_logp_gradf(psi0, al, w[k]) -
                                        p.ent_coef * rlae_hd_dirichlet_entropy_gradf(t0, al));
                dx[k] = dalpha * rlae_hd_sigmoidf(x[k]);
            }
        }
        part[P_V] = value_part(p, a, i, inv_n);
    }
    block_partials(part, part_slots(a.scratch));
}

__global__ void count_kernel(rlae_cuda_ppo_args a)
{
    size_t nk = (size_t)a.n * a.K;
    unsigned c = 0;
    for (size_t j = (size_t)blockIdx.x * kThreads + threadIdx.x; j < nk; j += (size_t)gridDim.x * kThreads)
        c += a.active[j] != 0;
    __shared__ unsigned sh[kThreads];
    sh[threadIdx.x] = c;
    __syncthreads();
    for (int h = kThreads / 2; h > 0; h >>= 1) {
        if ((int)threadIdx.x < h)
            sh[threadIdx.x] += sh[threadIdx.x + h];
        __syncthreads();
    }
    if (threadIdx.x == 0 && sh[0])
        atomicAdd(count_slot(a.scratch), (unsigned long long)sh[0]);
}

__global__ void normal_kernel(Params p, rlae_cuda_ppo_args a)
{
    int i = blockIdx.x * kThreads + threadIdx.x, K = a.K;
    double part[kParts] = {0, 0, 0, 0, 0};
    if (i < a.n) {
        unsigned long long n_active = a.active ? *count_slot(a.scratch) : (unsigned long long)a.n * K;
        float inv_a = n_active ? 1.0f / (float)n_active : 0.0f;
        float pg = 0.0f, ent = 0.0f, kls = 0.0f, clips = 0.0f;
        for (int k = 0; k < K; k++) {
            size_t j = (size_t)i * K + k;
            float dmu = 0.0f, dls = 0.0f;
            if (!a.active || a.active[j]) {
                float glp_mu, glp_ls, coef, kl, clipped;
                float lp = rlae_hd_normal_logpf(a.mu[j], a.log_std[j], a.action[j], &glp_mu, &glp_ls);
                pg += rlae_hd_ppo_policy_termf(p.clip, a.adv[i], lp - a.logp_old[j], &coef, &kl, &clipped);
                kls += kl;
                clips += clipped;
                ent += rlae_hd_normal_entropyf(a.log_std[j]);
                dmu = inv_a * coef * glp_mu;
                dls = inv_a * (coef * glp_ls - p.ent_coef); /* d H / d log_std = 1 */
            }
            if (a.d_mu)
                a.d_mu[j] = dmu;
            if (a.d_log_std)
                a.d_log_std[j] = dls;
        }
        part[P_PG] = pg;
        part[P_ENT] = ent;
        part[P_KL] = kls;
        part[P_CLIP] = clips;
        part[P_V] = value_part(p, a, i, 1.0f / (float)a.n);
    }
    block_partials(part, part_slots(a.scratch));
}

/* One block: the metrics from the block partials. n_terms: n (Dirichlet) or the active count. */
__global__ void finish_kernel(Params p, rlae_cuda_ppo_args a, int blocks, int normal)
{
    const double *parts = part_slots(a.scratch);
    double v[kParts] = {0, 0, 0, 0, 0};
    for (int b = threadIdx.x; b < blocks; b += kThreads)
        for (int j = 0; j < kParts; j++)
            v[j] += parts[(size_t)b * kParts + j];
    __shared__ double sh[kParts][kThreads];
    for (int j = 0; j < kParts; j++)
        sh[j][threadIdx.x] = v[j];
    __syncthreads();
    for (int h = kThreads / 2; h > 0; h >>= 1) {
        if ((int)threadIdx.x < h)
            for (int j = 0; j < kParts; j++)
                sh[j][threadIdx.x] += sh[j][threadIdx.x + h];
        __syncthreads();
    }
    if (threadIdx.x != 0)
        return;
    double terms = !normal ? (double)a.n : a.active ? (double)*count_slot(a.scratch) : (double)a.n * a.K;
    double inv = terms > 0 ? 1.0 / terms : 0.0, inv_n = a.n > 0 ? 1.0 / a.n : 0.0;
    double *m = a.metrics;
    m[RLAE_CUDA_PPO_M_PG] = sh[P_PG][0] * inv;
    m[RLAE_CUDA_PPO_M_ENTROPY] = sh[P_ENT][0] * inv;
    m[RLAE_CUDA_PPO_M_KL] = sh[P_KL][0] * inv;
    m[RLAE_CUDA_PPO_M_CLIPFRAC] = sh[P_CLIP][0] * inv;
    m[RLAE_CUDA_PPO_M_V] = sh[P_V][0] * inv_n;
    m[RLAE_CUDA_PPO_M_LOSS] = m[RLAE_CUDA_PPO_M_PG] - (double)p.ent_coef * m[RLAE_CUDA_PPO_M_ENTROPY] +
                              (double)p.vf_coef * m[RLAE_CUDA_PPO_M_V];
    m[RLAE_CUDA_PPO_M_TERMS] = terms;
    m[RLAE_CUDA_PPO_M_TERMS + 1] = 0.0;
}

Params params_of(const rlae_ppo_params *p)
{
    Params q;
    q.clip = (float)p->clip;
    q.vf_coef = (float)p->vf_coef;
    q.ent_coef = (float)p->ent_coef;
    q.value_clip = (float)p->value_clip;
    q.huber_delta = (float)p->huber_delta;
    q.alpha_min = (float)p->alpha_min;
    q.huber = p->value_loss == RLAE_VALUE_LOSS_HUBER;
    q.clip_value = p->clip_value;
    return q;
}

rlae_status check_args(const rlae_ppo_params *p, const rlae_cuda_ppo_args *a, int normal)
{
    if (a->n < 1 || a->K < 1 || a->K > RLAE_PPO_MAX_K || !a->metrics || !a->scratch || !a->action || !a->logp_old ||
        !a->adv || !a->value || !a->ret || (normal ? !a->mu || !a->log_std : !a->head) ||
        (p->clip_value && !a->value_old))
        return rlae_fail(RLAE_ERR_INPUT, "ppo_loss (cuda): bad arguments (n %d, K %d, or a required array missing)",
                         a->n, a->K);
    return RLAE_OK;
}

} // namespace

extern "C" size_t rlae_cuda_ppo_scratch_doubles(int n)
{
    return 1 + (size_t)kParts * (size_t)(n > 0 ? grid_of(n) : 0);
}

extern "C" rlae_status rlae_cuda_ppo_loss_dirichlet(const rlae_ppo_params *p, const rlae_cuda_ppo_args *args,
                                                    rlae_cuda_stream stream)
{
    rlae_status s = check_args(p, args, 0);
    if (s != RLAE_OK)
        return s;
    cudaStream_t st = (cudaStream_t)stream;
    Params q = params_of(p);
    int g = grid_of(args->n);
    dirichlet_kernel<<<g, kThreads, 0, st>>>(q, *args);
    CUDA_CHECK_LAUNCH();
    finish_kernel<<<1, kThreads, 0, st>>>(q, *args, g, 0);
    CUDA_CHECK_LAUNCH();
    return RLAE_OK;
}

extern "C" rlae_status rlae_cuda_ppo_loss_normal(const rlae_ppo_params *p, const rlae_cuda_ppo_args *args,
                                                 rlae_cuda_stream stream)
{
    rlae_status s = check_args(p, args, 1);
    if (s != RLAE_OK)
        return s;
    cudaStream_t st = (cudaStream_t)stream;
    Params q = params_of(p);
    int g = grid_of(args->n);
    if (args->active) {
        CUDA_CHECK(cudaMemsetAsync(args->scratch, 0, sizeof(double), st));
        size_t nk = (size_t)args->n * args->K;
        int gc = (int)((nk + kThreads - 1) / kThreads < 1024 ? (nk + kThreads - 1) / kThreads : 1024);
        count_kernel<<<gc, kThreads, 0, st>>>(*args);
        CUDA_CHECK_LAUNCH();
    }
    normal_kernel<<<g, kThreads, 0, st>>>(q, *args);
    CUDA_CHECK_LAUNCH();
    finish_kernel<<<1, kThreads, 0, st>>>(q, *args, g, 1);
    CUDA_CHECK_LAUNCH();
    return RLAE_OK;
}
