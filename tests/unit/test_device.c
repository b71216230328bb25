/* Backend selection on the CPU path (works in CPU-only and CUDA builds, with or without a GPU):
 * parsing `device:`, auto falling back to the CPU with one notice per process, and `cuda` without a
 * usable GPU being a clear RLAE_ERR_UNSUPPORTED. */
#include "core/device.h"
#include "core/log.h"
#include "test.h"

#include <string.h>
#include <unistd.h>

/* Runs resolve(req) twice with stderr captured; returns how many lines mention the CPU fallback. */
static int count_fallback_notices(rlae_device_request req, rlae_device *got)
{
    fflush(stderr);
    int saved = dup(2);
    FILE *cap = tmpfile();
    dup2(fileno(cap), 2);
    rlae_status s1 = rlae_device_resolve(req, got);
    rlae_status s2 = rlae_device_resolve(req, got);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    CHECK(s1 == RLAE_OK && s2 == RLAE_OK);
    rewind(cap);
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, cap))
        n += strstr(line, "using the CPU backend") != NULL;
    fclose(cap);
    return n;
}

int main(void)
{
    rlae_log_set_level(RLAE_LOG_INFO);

    rlae_device_request r;
    CHECK(rlae_device_request_parse("auto", &r) == RLAE_OK && r == RLAE_DEVREQ_AUTO);
    CHECK(rlae_device_request_parse("cpu", &r) == RLAE_OK && r == RLAE_DEVREQ_CPU);
    CHECK(rlae_device_request_parse("cuda", &r) == RLAE_OK && r == RLAE_DEVREQ_CUDA);
    CHECK(rlae_device_request_parse("gpu", &r) == RLAE_ERR_INPUT);
    CHECK(strstr(rlae_last_error(), "auto|cpu|cuda") != NULL);
    CHECK_EQ_STR(rlae_device_request_name(RLAE_DEVREQ_CUDA), "cuda");
    CHECK_EQ_STR(rlae_device_name(RLAE_DEV_CPU), "cpu");

    rlae_device d = RLAE_DEV_CUDA;
    CHECK(rlae_device_resolve(RLAE_DEVREQ_CPU, &d) == RLAE_OK && d == RLAE_DEV_CPU);

    int gpus = rlae_device_gpu_count();
#ifndef RLAE_HAVE_CUDA
    CHECK(!rlae_device_cuda_built());
    CHECK_EQ_INT(gpus, 0);
#else
    CHECK(rlae_device_cuda_built());
#endif
    printf("build with CUDA: %d, GPUs visible: %d\n", rlae_device_cuda_built(), gpus);

    int notices = count_fallback_notices(RLAE_DEVREQ_AUTO, &d);
    if (gpus == 0) {
        CHECK(d == RLAE_DEV_CPU);
        CHECK_EQ_INT(notices, 1); /* said once, not per call */

        rlae_clear_error();
        CHECK(rlae_device_resolve(RLAE_DEVREQ_CUDA, &d) == RLAE_ERR_UNSUPPORTED);
        CHECK(d == RLAE_DEV_CPU);
        const char *msg = rlae_last_error();
        CHECK(strstr(msg, "device: cuda was requested") != NULL);
        CHECK(strstr(msg, "device: cpu") != NULL);
        if (!rlae_device_cuda_built())
            CHECK(strstr(msg, "-DRLAE_CUDA=ON") != NULL);
    } else {
        CHECK(d == RLAE_DEV_CUDA);
        CHECK_EQ_INT(notices, 0);
        CHECK(rlae_device_resolve(RLAE_DEVREQ_CUDA, &d) == RLAE_OK && d == RLAE_DEV_CUDA);
    }

    char desc[300];
    rlae_device_describe(RLAE_DEV_CPU, desc, sizeof desc);
    CHECK(strncmp(desc, "cpu (", 5) == 0);
    printf("%s\n", desc);
    return test_summary("test_device");
}
