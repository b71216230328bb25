/* Backend selection (see device.h). */
#include "core/device.h"

#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

#ifdef RLAE_HAVE_CUDA
#include "cuda/launch.h"
#endif

static const char *const request_names[] = {"auto", "cpu", "cuda"};

rlae_status rlae_device_request_parse(const char *name, rlae_device_request *out)
{
    for (int i = 0; i < 3; i++)
        if (name && strcmp(name, request_names[i]) == 0) {
            *out = (rlae_device_request)i;
            return RLAE_OK;
        }
    return rlae_fail(RLAE_ERR_INPUT, "unknown device '%s': expected one of %s", name ? name : "(null)",
                     RLAE_DEVICE_REQUEST_NAMES);
}

const char *rlae_device_request_name(rlae_device_request r)
{
    return (int)r >= 0 && (int)r < 3 ? request_names[r] : "unknown";
}

const char *rlae_device_name(rlae_device d) { return d == RLAE_DEV_CUDA ? "cuda" : "cpu"; }

int rlae_device_cuda_built(void)
{
#ifdef RLAE_HAVE_CUDA
    return 1;
#else
    return 0;
#endif
}

int rlae_device_gpu_count(void)
{
#ifdef RLAE_HAVE_CUDA
    int n = 0;
    if (rlae_cuda_device_count(&n) != RLAE_OK) {
        rlae_clear_error(); /* "none" is an answer here, not a failure */
        return 0;
    }
    return n;
#else
    return 0;
#endif
}

/* The CPU fallback is announced once per process, however many members or ranks' threads resolve. */
static atomic_int cpu_notice_done;

static void notice_cpu_fallback(void)
{
    if (atomic_exchange(&cpu_notice_done, 1))
        return;
    if (rlae_device_cuda_built())
        rlae_info("no GPU found, using the CPU backend");
    else
        rlae_info("this build has no CUDA backend, using the CPU backend");
}

rlae_status rlae_device_resolve(rlae_device_request req, rlae_device *out)
{
    *out = RLAE_DEV_CPU;
    switch (req) {
    case RLAE_DEVREQ_CPU: return RLAE_OK;
    case RLAE_DEVREQ_AUTO:
        if (rlae_device_gpu_count() > 0)
            *out = RLAE_DEV_CUDA;
        else
            notice_cpu_fallback();
        return RLAE_OK;
    case RLAE_DEVREQ_CUDA:
#ifdef RLAE_HAVE_CUDA
    {
        int n = 0;
        if (rlae_cuda_device_count(&n) != RLAE_OK)
            return rlae_wrap(RLAE_ERR_UNSUPPORTED,
                             "device: cuda was requested but no GPU is usable (check nvidia-smi and "
                             "CUDA_VISIBLE_DEVICES, or set device: cpu or auto): ");
        *out = RLAE_DEV_CUDA;
        return RLAE_OK;
    }
#else
        return rlae_fail(RLAE_ERR_UNSUPPORTED,
                         "device: cuda was requested but this build of rlae has no CUDA backend (nvcc was not "
                         "found when it was configured); rebuild with -DRLAE_CUDA=ON, or set device: cpu or auto");
#endif
    }
    return rlae_fail(RLAE_ERR_INPUT, "unknown device request %d", (int)req);
}

void rlae_device_describe(rlae_device d, char *buf, size_t n)
{
#ifdef RLAE_HAVE_CUDA
    if (d == RLAE_DEV_CUDA) {
        int dev = 0;
        rlae_cuda_device_info info;
        if (rlae_cuda_get_device(&dev) == RLAE_OK && rlae_cuda_device_query(dev, &info) == RLAE_OK) {
            snprintf(buf, n, "cuda:%d %s (sm_%d%d, %.1f GiB, driver %d.%d)", dev, info.name, info.cc_major,
                     info.cc_minor, (double)info.total_bytes / (1024.0 * 1024.0 * 1024.0),
                     info.driver_version / 1000, (info.driver_version % 1000) / 10);
        } else {
            snprintf(buf, n, "cuda (device query failed: %s)", rlae_last_error());
            rlae_clear_error();
        }
        return;
    }
#endif
    if (d == RLAE_DEV_CUDA) {
        snprintf(buf, n, "cuda (not in this build)");
        return;
    }
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    snprintf(buf, n, "cpu (%ld cores online)", cpus > 0 ? cpus : 1L);
}
