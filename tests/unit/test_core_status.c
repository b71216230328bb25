/* Status messages, exit codes, and half-precision conversions against hand-computed values. */
#include "core/status.h"
#include "core/tensor.h"
#include "test.h"

static rlae_status inner(void) { return rlae_fail(RLAE_ERR_INPUT, "model.bin: tensor %s is short", "wq"); }
static rlae_status outer(void)
{
    RLAE_TRY(inner());
    return RLAE_OK;
}

int main(void)
{
    CHECK(outer() == RLAE_ERR_INPUT);
    CHECK_EQ_STR(rlae_last_error(), "model.bin: tensor wq is short");
    rlae_wrap(RLAE_ERR_INPUT, "member '%s': ", "a");
    CHECK_EQ_STR(rlae_last_error(), "member 'a': model.bin: tensor wq is short");
    CHECK_EQ_INT(rlae_exit_code(RLAE_OK), 0);
    CHECK_EQ_INT(rlae_exit_code(RLAE_ERR_INPUT), 2);
    CHECK_EQ_INT(rlae_exit_code(RLAE_ERR_UNSUPPORTED), 2);
    CHECK_EQ_INT(rlae_exit_code(RLAE_ERR_IO), 1);
    CHECK_EQ_INT(rlae_exit_code(RLAE_ERR_INTERRUPTED), 130);
    rlae_clear_error();
    CHECK_EQ_STR(rlae_last_error(), "");

    /* IEEE half: 1.0 = 0x3c00, -2.0 = 0xc000, 65504 = 0x7bff (max), 2^-24 = 0x0001 (min subnormal),
     * 0.333251953125 = 0x3555, +inf = 0x7c00. bf16 keeps the top 16 bits of the float. */
    CHECK_EQ_INT(rlae_f32_to_f16(1.0f), 0x3c00);
    CHECK_EQ_INT(rlae_f32_to_f16(-2.0f), 0xc000);
    CHECK_EQ_INT(rlae_f32_to_f16(65504.0f), 0x7bff);
    CHECK_EQ_INT(rlae_f32_to_f16(65520.0f), 0x7c00); /* rounds up to inf */
    CHECK_EQ_INT(rlae_f32_to_f16(5.9604644775390625e-08f), 0x0001);
    CHECK_EQ_INT(rlae_f32_to_f16(1.0f / 3.0f), 0x3555);
    CHECK_NEAR(rlae_f16_to_f32(0x3555), 0.333251953125, 0);
    CHECK_NEAR(rlae_f16_to_f32(0x0001), 5.9604644775390625e-08, 0);
    CHECK_NEAR(rlae_f16_to_f32(0x03ff), 6.097555160522461e-05, 0); /* largest subnormal */
    CHECK(isinf(rlae_f16_to_f32(0x7c00)));
    CHECK(isnan(rlae_f16_to_f32(0x7e00)));
    CHECK_EQ_INT(rlae_f32_to_bf16(1.0f), 0x3f80);
    CHECK_EQ_INT(rlae_f32_to_bf16(1.00390625f), 0x3f80); /* exact tie 1 + 2^-8: rounds to even */
    CHECK_EQ_INT(rlae_f32_to_bf16(1.01171875f), 0x3f82); /* tie 1 + 3*2^-8: rounds up to even */
    CHECK_NEAR(rlae_bf16_to_f32(0xc0490fdb >> 16), -3.140625, 0);
    /* Every f16 bit pattern (non-NaN) survives f16 -> f32 -> f16. */
    int bad = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        float f = rlae_f16_to_f32((uint16_t)h);
        if (!isnan(f) && rlae_f32_to_f16(f) != h)
            bad++;
    }
    CHECK_EQ_INT(bad, 0);
    return test_summary("test_core_status");
}
