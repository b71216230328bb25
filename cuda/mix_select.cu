/* The fused ensemble step on the GPU (semantics: host/ensemble/mix_select.h; CPU reference:
 * host/ensemble/mix_select_cpu.c). Kernels, all queued on one stream, no host round trip:
 *   1. stats    one block per (member, sequence): online softmax over the logits row (max, sum,
 *               entropy term, argmax with the lowest id), merged in a fixed tree; writes top1 /
 *               argmax / entropy.
 *   2. scatter  one thread per member token: qx[b, map[t]] += w_k p_t in 64-bit fixed point
 *               (2^-61 units) with integer atomics. Integer addition is associative, so the mixture
 *               is bit-for-bit deterministic whatever the atomic order (fp32 atomics would not be);
 *               p below 2^-61 (about 4e-19) rounds to 0.
 *      UniTE: per member, scatter P_k alone, then one block per sequence marks P_k's member_topk
 *               largest positive entries (radix select, below) and adds w_k P_k into qf.
 *   3. select   one block per sequence: qf = q (qx converted and cleared, or UniTE's masked qf;
 *               mask cleared), argmax with the lowest id; for sampling p = q^(1/T) normalised as
 *               model/sampler.h computes it on log q, then top-k / top-p / the draw by radix select.
 *   4. finish   one block per sequence: member_prob P_k(token) by a tree sum, mixed_prob = sum_k
 *               w_k P_k(token).
 * Radix select: keys are the float bits of p (p >= 0, so they order as unsigned integers); the order
 * is (p desc, id asc) as in the sampler. Four 8-bit passes find the key of the element where a
 * cumulative count or mass criterion is first met (256-bucket histograms of count and fixed-point
 * mass, 2^-40 units, in shared memory), then a block scan finds the tie of that key by id. Masses in
 * integers make every step deterministic; they differ from the CPU's double sums by ~1e-12, so a
 * draw can differ from the CPU's only when it lies that close to a cumulative boundary (plus the
 * ulp differences of expf/logf between the two). Bad weight rows (non-finite, negative, sum 0)
 * give token -1. */
#include "cuda/cuda_check.h"
#include "cuda/launch.h"

#include "core/rng.h"

#include <cub/block/block_reduce.cuh>
#include <cub/block/block_scan.cuh>

#include <climits>
#include <cstdint>

namespace {

typedef unsigned long long u64;

constexpr int kStatsThreads = 256;
constexpr int kSelThreads = 1024;
constexpr double kQScale = 2305843009213693952.0; /* 2^61: qx units */
constexpr double kMassScale = 1099511627776.0;   /* 2^40: selection mass units */

/* stats slots, [b][k][RLAE_CUDA_MIX_STATS] */
enum { S_MAX = 0, S_SUM, S_ARGMAX, S_W };

struct Online {
    float m, s, a; /* max, sum exp(l - m), sum exp(l - m) (l - m) */
    int idx;
};

__device__ inline Online online_merge(Online x, Online y)
{
    if (y.s == 0.0f)
        return x;
    if (x.s == 0.0f)
        return y;
    Online r;
    r.m = fmaxf(x.m, y.m);
    r.idx = x.m > y.m ? x.idx : y.m > x.m ? y.idx : min(x.idx, y.idx);
    float fx = expf(x.m - r.m), fy = expf(y.m - r.m);
    r.s = fx * x.s + fy * y.s;
    r.a = fx * (x.a + (x.m - r.m) * x.s) + fy * (y.a + (y.m - r.m) * y.s);
    return r;
}

/* The normalised weight of member k for sequence b, with the gated mode applied; NaN for a bad row. */
__device__ float used_weight(const rlae_cuda_mix_args &a, const float *stats, int b, int k)
{
    int kn = a.n_members;
    const float *w = a.weights + (size_t)b * kn;
    double sum = 0.0;
    for (int j = 0; j < kn; j++) {
        float x = w[j];
        if (!isfinite(x) || x < 0.0f)
            return nanf("");
        sum += x;
    }
    if (!(sum > 0.0))
        return nanf("");
    int g = a.gate_member;
    if (g >= 0) {
        float sg = stats[((size_t)b * kn + g) * RLAE_CUDA_MIX_STATS + S_SUM];
        if (sg > 0.0f && 1.0f / sg >= a.gate_threshold)
            return k == g ? 1.0f : 0.0f;
    }
    return (float)(w[k] / sum);
}

__global__ void stats_kernel(rlae_cuda_mix_args a)
{
    int k = blockIdx.x % a.n_members, b = blockIdx.x / a.n_members;
    int v = a.vocab_sizes[k];
    const float *l = a.logits[k] + (size_t)b * v;
    Online o = {-INFINITY, 0.0f, 0.0f, INT_MAX};
    for (int t = threadIdx.x; t < v; t += blockDim.x) {
        float x = l[t];
        if (x == -INFINITY)
            continue;
        if (o.s == 0.0f || x > o.m) {
            float f = o.s == 0.0f ? 0.0f : expf(o.m - x);
            o.a = o.s == 0.0f ? 0.0f : f * (o.a + (o.m - x) * o.s);
            o.s = o.s * f + 1.0f;
            o.m = x;
            o.idx = t;
        } else {
            float d = x - o.m, e = expf(d);
            o.s += e;
            o.a += e * d;
        }
    }
    __shared__ Online sh[kStatsThreads];
    sh[threadIdx.x] = o;
    __syncthreads();
    for (int h = blockDim.x / 2; h > 0; h >>= 1) {
        if ((int)threadIdx.x < h)
            sh[threadIdx.x] = online_merge(sh[threadIdx.x], sh[threadIdx.x + h]);
        __syncthreads();
    }
    if (threadIdx.x != 0)
        return;
    o = sh[0];
    size_t i = (size_t)b * a.n_members + k;
    float *st = a.stats + i * RLAE_CUDA_MIX_STATS;
    st[S_MAX] = o.m;
    st[S_SUM] = o.s;
    st[S_ARGMAX] = __int_as_float(o.s > 0.0f ? o.idx : -1);
    if (a.member_top1)
        a.member_top1[i] = o.s > 0.0f ? 1.0f / o.s : 0.0f;
    if (a.member_entropy)
        a.member_entropy[i] = o.s > 0.0f ? logf(o.s) - o.a / o.s : 0.0f;
    if (a.member_argmax)
        a.member_argmax[i] = o.s > 0.0f ? a.maps[k][o.idx] : -1;
}

/* Every member's used weight into stats[S_W] (one thread per (b, k)). */
__global__ void weights_kernel(rlae_cuda_mix_args a)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= a.batch * a.n_members)
        return;
    int b = i / a.n_members, k = i % a.n_members;
    a.stats[(size_t)i * RLAE_CUDA_MIX_STATS + S_W] = used_weight(a, a.stats, b, k);
}

/* qx[b, map[t]] += scale_w p_t for member k (grid.y = b). unit: 1 for UniTE's P_k, else the weight. */
__global__ void scatter_kernel(rlae_cuda_mix_args a, int k, int weighted)
{
    int b = blockIdx.y;
    int v = a.vocab_sizes[k];
    const float *st = a.stats + ((size_t)b * a.n_members + k) * RLAE_CUDA_MIX_STATS;
    float w = st[S_W];
    if (!(w > 0.0f)) /* also NaN: a bad row */
        return;
    double scale = (weighted ? (double)w : 1.0) * kQScale / st[S_SUM];
    float m = st[S_MAX];
    const float *l = a.logits[k] + (size_t)b * v;
    const int32_t *map = a.maps[k];
    u64 *qx = a.qx + (size_t)b * a.union_size;
    for (int t = blockIdx.x * blockDim.x + threadIdx.x; t < v; t += gridDim.x * blockDim.x) {
        int u = map[t];
        if (u < 0)
            continue;
        double x = (double)expf(l[t] - m) * scale;
        u64 f = __double2ull_rn(x);
        if (f)
            atomicAdd(qx + u, f);
    }
}

/* ---- block helpers (kSelThreads threads) ------------------------------------------------------ */

struct ValId {
    float v;
    int id;
};
struct BetterValId {
    __device__ ValId operator()(const ValId &x, const ValId &y) const
    {
        return (y.v > x.v || (y.v == x.v && y.id < x.id)) ? y : x;
    }
};

typedef cub::BlockReduce<ValId, kSelThreads> ReduceValId;
typedef cub::BlockReduce<u64, kSelThreads> ReduceU64;
typedef cub::BlockScan<u64, kSelThreads> ScanU64;

union SelTemp {
    typename ReduceValId::TempStorage valid;
    typename ReduceU64::TempStorage u64r;
    typename ScanU64::TempStorage scan;
};

__device__ inline u64 mass_of(float p) { return (u64)__float2ull_rn(p * (float)kMassScale); }

/* The kept set: elements up to and including (key, id) in the order (key desc, id asc). */
struct Lim {
    uint32_t key;
    int id;
};
__device__ inline bool kept(uint32_t key, int id, Lim lim) { return key > lim.key || (key == lim.key && id <= lim.id); }

enum Crit { BY_COUNT, BY_MASS_GE, BY_MASS_GT };
__device__ inline bool met(Crit c, u64 cnt, u64 mass, u64 target)
{
    return c == BY_COUNT ? cnt >= target : c == BY_MASS_GE ? mass >= target : mass > target;
}

struct Found {
    Lim at;     /* the element where the criterion is first met */
    u64 mass;   /* cumulative mass up to and including it */
    bool ok;    /* false: the whole kept set does not meet it */
};

/* Block-wide: the first element of the kept set, in order, where the cumulative count / mass meets
 * `target`. `p` is the row of probabilities (n entries). Called by all threads. */
__device__ Found radix_find(const float *p, int n, Lim lim, Crit crit, u64 target, SelTemp &tmp)
{
    __shared__ unsigned hcnt[256];
    __shared__ u64 hmass[256];
    __shared__ uint32_t s_prefix;
    __shared__ u64 s_above_c, s_above_m;
    __shared__ int s_ok, s_id;
    if (threadIdx.x == 0) {
        s_prefix = 0;
        s_above_c = 0;
        s_above_m = 0;
        s_ok = 1;
    }
    for (int shift = 24; shift >= 0; shift -= 8) {
        for (int i = threadIdx.x; i < 256; i += blockDim.x) {
            hcnt[i] = 0;
            hmass[i] = 0;
        }
        __syncthreads();
        uint32_t prefix = s_prefix;
        for (int u = threadIdx.x; u < n; u += blockDim.x) {
            uint32_t key = __float_as_uint(p[u]);
            if (!kept(key, u, lim) || (shift < 24 && (key >> (shift + 8)) != (prefix >> (shift + 8))))
                continue;
            int d = (key >> shift) & 255;
            atomicAdd(&hcnt[d], 1u);
            u64 ms = mass_of(p[u]);
            if (ms)
                atomicAdd(&hmass[d], ms);
        }
        __syncthreads();
        if (threadIdx.x == 0 && s_ok) {
            u64 c = s_above_c, m = s_above_m;
            int d = 255;
            for (; d >= 0; d--) {
                if (met(crit, c + hcnt[d], m + hmass[d], target))
                    break;
                c += hcnt[d];
                m += hmass[d];
            }
            if (d < 0)
                s_ok = 0;
            else {
                s_prefix = prefix | ((uint32_t)d << shift);
                s_above_c = c;
                s_above_m = m;
            }
        }
        __syncthreads();
    }
    Found f;
    f.ok = s_ok != 0;
    if (!f.ok) {
        f.at = lim;
        f.mass = 0;
        return f;
    }
    uint32_t key = s_prefix;
    u64 above_c = s_above_c, above_m = s_above_m, mk = mass_of(__uint_as_float(key));
    /* j: how many ties of `key` (by id) the criterion needs, 1-based */
    u64 j;
    if (crit == BY_COUNT)
        j = target - above_c;
    else if (crit == BY_MASS_GE)
        j = (target - above_m + mk - 1) / mk;
    else
        j = (target - above_m) / mk + 1;
    /* the j-th tie in id order: contiguous chunks per thread, a scan of their tie counts */
    int chunk = (n + blockDim.x - 1) / blockDim.x;
    int lo = threadIdx.x * chunk, hi = min(n, lo + chunk);
    u64 cnt = 0;
    for (int u = lo; u < hi; u++)
        cnt += __float_as_uint(p[u]) == key && kept(key, u, lim);
    u64 pre;
    ScanU64(tmp.scan).ExclusiveSum(cnt, pre);
    if (pre < j && j <= pre + cnt) {
        u64 c = pre;
        for (int u = lo; u < hi; u++)
            if (__float_as_uint(p[u]) == key && kept(key, u, lim) && ++c == j) {
                s_id = u;
                break;
            }
    }
    __syncthreads();
    f.at.key = key;
    f.at.id = s_id;
    f.mass = above_m + j * mk;
    __syncthreads();
    return f;
}

/* UniTE, one block per sequence, member k: marks P_k's top member_topk positive entries, adds
 * w_k P_k into qf (first member: assigns), clears qx. */
__global__ void __launch_bounds__(kSelThreads) unite_kernel(rlae_cuda_mix_args a, int k)
{
    __shared__ SelTemp tmp;
    int b = blockIdx.x, n = a.union_size;
    u64 *qx = a.qx + (size_t)b * n;
    float *qf = a.qf + (size_t)b * n;
    unsigned char *mask = a.mask + (size_t)b * n;
    float w = a.stats[((size_t)b * a.n_members + k) * RLAE_CUDA_MIX_STATS + S_W];
    bool active = w > 0.0f;
    for (int u = threadIdx.x; u < n; u += blockDim.x) {
        float pk = (float)((double)qx[u] * (1.0 / kQScale));
        float add = active ? w * pk : 0.0f;
        qf[u] = k == 0 ? add : qf[u] + add;
    }
    __syncthreads();
    if (active && a.member_topk > 0) {
        /* Select on P_k as floats, written over the start of qx's row (cleared below anyway). The
         * float u overlaps qx[u / 2] <= u: tile by tile, every thread reads its qx before any
         * thread writes, so nothing is overwritten before it is read. */
        float *pk = (float *)qx;
        for (int base = 0; base < n; base += blockDim.x) {
            int u = base + threadIdx.x;
            float x = u < n ? (float)((double)qx[u] * (1.0 / kQScale)) : 0.0f;
            __syncthreads();
            if (u < n)
                pk[u] = x;
            __syncthreads();
        }
        Lim all = {0u, INT_MAX};
        u64 m = (u64)min(a.member_topk, n);
        Found f = radix_find(pk, n, all, BY_COUNT, m, tmp);
        for (int u = threadIdx.x; u < n; u += blockDim.x) {
            uint32_t key = __float_as_uint(pk[u]);
            if (key > 0u && f.ok && kept(key, u, f.at))
                mask[u] = 1;
        }
        __syncthreads();
    }
    for (int u = threadIdx.x; u < n; u += blockDim.x)
        qx[u] = 0;
}

__global__ void __launch_bounds__(kSelThreads) select_kernel(rlae_cuda_mix_args a)
{
    __shared__ SelTemp tmp;
    __shared__ int s_token;
    __shared__ float s_qmax;
    __shared__ u64 s_total;
    int b = blockIdx.x, n = a.union_size;
    u64 *qx = a.qx + (size_t)b * n;
    float *qf = a.qf + (size_t)b * n;
    unsigned char *mask = a.mask + (size_t)b * n;
    bool unite = a.member_topk > 0;
    bool bad = isnan(a.stats[(size_t)b * a.n_members * RLAE_CUDA_MIX_STATS + S_W]);

    ValId best = {-1.0f, INT_MAX};
    for (int u = threadIdx.x; u < n; u += blockDim.x) {
        float q;
        if (unite) {
            q = mask[u] ? qf[u] : 0.0f;
            mask[u] = 0;
        } else {
            q = (float)((double)qx[u] * (1.0 / kQScale));
            qx[u] = 0;
        }
        qf[u] = q;
        if (q > best.v)
            best = {q, u};
    }
    best = ReduceValId(tmp.valid).Reduce(best, BetterValId());
    if (threadIdx.x == 0) {
        s_token = (bad || !(best.v > 0.0f)) ? -1 : best.id;
        s_qmax = best.v;
    }
    __syncthreads();
    if (s_token < 0 || a.temperature <= 0.0f) {
        if (threadIdx.x == 0)
            a.token[b] = s_token;
        return;
    }

    /* p = softmax(log q / T), as the sampler computes it on logits log q */
    float lm = logf(s_qmax), inv_t = 1.0f / a.temperature;
    u64 zs = 0;
    for (int u = threadIdx.x; u < n; u += blockDim.x) {
        float q = qf[u];
        float e = q > 0.0f ? expf((logf(q) - lm) * inv_t) : 0.0f;
        qf[u] = e;
        zs += (u64)__double2ull_rn((double)e * kMassScale);
    }
    u64 z = ReduceU64(tmp.u64r).Sum(zs);
    if (threadIdx.x == 0)
        s_total = z;
    __syncthreads();
    double zd = (double)s_total / kMassScale;
    u64 ms = 0;
    for (int u = threadIdx.x; u < n; u += blockDim.x) {
        float pn = (float)(qf[u] / zd);
        qf[u] = pn;
        ms += mass_of(pn);
    }
    __syncthreads();
    u64 total = ReduceU64(tmp.u64r).Sum(ms);
    if (threadIdx.x == 0)
        s_total = total;
    __syncthreads();
    total = s_total;

    float r = rlae_u32_to_unit_float(
        rlae_rng_word_at(a.seed, (uint32_t)a.episode[b], a.rng_span, (uint32_t)a.step[b], 0));
    bool use_k = a.top_k > 0 && a.top_k < n, use_p = a.top_p > 0.0f && a.top_p < 1.0f;
    int token;
    if (!use_k && !use_p) {
        /* id order: the first u whose cumulative probability exceeds r */
        u64 target = (u64)((double)r * kMassScale);
        int chunk = (n + blockDim.x - 1) / blockDim.x;
        int lo = threadIdx.x * chunk, hi = min(n, lo + chunk);
        u64 cm = 0;
        int last = -1;
        for (int u = lo; u < hi; u++) {
            u64 x = mass_of(qf[u]);
            cm += x;
            if (x)
                last = u;
        }
        u64 pre;
        ScanU64(tmp.scan).ExclusiveSum(cm, pre);
        if (threadIdx.x == 0)
            s_token = -1;
        __syncthreads();
        if (pre <= target && target < pre + cm) {
            u64 c = pre;
            for (int u = lo; u < hi; u++) {
                c += mass_of(qf[u]);
                if (target < c) {
                    s_token = u;
                    break;
                }
            }
        }
        __syncthreads();
        if (s_token < 0) { /* rounding left the total at or below r: the last entry with mass */
            ValId lastv = {last >= 0 ? 1.0f : 0.0f, last >= 0 ? -last : INT_MAX};
            lastv = ReduceValId(tmp.valid).Reduce(lastv, BetterValId());
            if (threadIdx.x == 0)
                s_token = lastv.v > 0.0f ? -lastv.id : s_token;
            __syncthreads();
        }
        token = s_token;
    } else {
        Lim lim = {0u, INT_MAX};
        u64 kept_mass = total;
        if (use_k) {
            Found f = radix_find(qf, n, lim, BY_COUNT, (u64)a.top_k, tmp);
            lim = f.at;
            kept_mass = f.mass;
        }
        if (use_p) {
            u64 target = (u64)((double)a.top_p * kMassScale);
            if (kept_mass >= target) {
                Found f = radix_find(qf, n, lim, BY_MASS_GE, target, tmp);
                if (f.ok) {
                    lim = f.at;
                    kept_mass = f.mass;
                }
            }
        }
        u64 target = (u64)((double)r * (double)kept_mass);
        if (kept_mass > 0 && target >= kept_mass)
            target = kept_mass - 1;
        Found f = radix_find(qf, n, lim, BY_MASS_GT, target, tmp);
        token = f.ok ? f.at.id : best.id;
    }
    if (threadIdx.x == 0)
        a.token[b] = token;
}

/* member_prob P_k(token) and mixed_prob = sum_k w_k P_k(token); one block per sequence. */
__global__ void finish_kernel(rlae_cuda_mix_args a)
{
    typedef cub::BlockReduce<float, kStatsThreads> ReduceF;
    __shared__ typename ReduceF::TempStorage tmp;
    int b = blockIdx.x, kn = a.n_members;
    int token = a.token[b];
    float mixed = 0.0f;
    for (int k = 0; k < kn; k++) {
        const float *st = a.stats + ((size_t)b * kn + k) * RLAE_CUDA_MIX_STATS;
        int v = a.vocab_sizes[k];
        const float *l = a.logits[k] + (size_t)b * v;
        const int32_t *map = a.maps[k];
        float part = 0.0f;
        if (token >= 0 && st[S_SUM] > 0.0f)
            for (int t = threadIdx.x; t < v; t += blockDim.x)
                if (map[t] == token)
                    part += expf(l[t] - st[S_MAX]);
        float sum = ReduceF(tmp).Sum(part);
        __syncthreads();
        if (threadIdx.x == 0) {
            float pk = token >= 0 && st[S_SUM] > 0.0f ? sum / st[S_SUM] : 0.0f;
            a.member_prob[(size_t)b * kn + k] = pk;
            float w = st[S_W];
            if (w > 0.0f)
                mixed += w * pk;
        }
    }
    if (threadIdx.x == 0)
        a.mixed_prob[b] = token >= 0 ? mixed : 0.0f;
}

} // namespace

extern "C" rlae_status rlae_cuda_mix_select(const rlae_cuda_mix_args *args, rlae_cuda_stream stream)
{
    const rlae_cuda_mix_args a = *args;
    if (a.batch <= 0)
        return RLAE_OK;
    if (a.n_members < 1 || a.n_members > RLAE_CUDA_MIX_MAX_MEMBERS || a.union_size < 1)
        return rlae_fail(RLAE_ERR_RUNTIME, "mix_select (cuda): %d members, union size %d", a.n_members,
                         a.union_size);
    cudaStream_t s = (cudaStream_t)stream;
    int kb = a.n_members * a.batch;
    stats_kernel<<<kb, kStatsThreads, 0, s>>>(a);
    CUDA_CHECK_LAUNCH();
    weights_kernel<<<(kb + 255) / 256, 256, 0, s>>>(a);
    CUDA_CHECK_LAUNCH();
    for (int k = 0; k < a.n_members; k++) {
        int v = a.vocab_sizes[k];
        dim3 grid((unsigned)((v + 255) / 256 < 64 ? (v + 255) / 256 : 64), (unsigned)a.batch);
        scatter_kernel<<<grid, 256, 0, s>>>(a, k, a.member_topk > 0 ? 0 : 1);
        CUDA_CHECK_LAUNCH();
        if (a.member_topk > 0) {
            unite_kernel<<<a.batch, kSelThreads, 0, s>>>(a, k);
            CUDA_CHECK_LAUNCH();
        }
    }
    select_kernel<<<a.batch, kSelThreads, 0, s>>>(a);
    CUDA_CHECK_LAUNCH();
    finish_kernel<<<a.batch, kStatsThreads, 0, s>>>(a);
    CUDA_CHECK_LAUNCH();
    return RLAE_OK;
}
