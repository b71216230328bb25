/* Tests of algorithms/valuenorm against a hand-computed sequence, the round trip, the variance
 * floor and float against double. */
#include "test.h"

#include "algorithms/valuenorm.h"

int main(void)
{
    /* beta = 0.5 makes the arithmetic easy to follow by hand (production uses 0.99999):
     *   update (1, 3):  mean 2, mean of squares 5
     *     m = 0.5*0 + 0.5*2 = 1,   m2 = 0.5*0 + 0.5*5 = 2.5,   d = 0.5
     *     debiased mean = 1/0.5 = 2, mean sq = 5, var = 5 - 4 = 1
     *   update (4):     m = 0.5*1 + 0.5*4 = 2.5,  m2 = 0.5*2.5 + 0.5*16 = 9.25,  d = 0.75
     *     mean = 2.5/0.75 = 10/3, mean sq = 9.25/0.75 = 37/3, var = 37/3 - 100/9 = 11/9
     *   normalize(5) = (5 - 10/3) / sqrt(11/9) = (5/3) * 3 / sqrt(11) = 5 / sqrt(11) */
    rlae_valuenorm vn;
    rlae_valuenorm_init(&vn, 0.5, RLAE_VALUENORM_EPS);
    double mean, var;
    const double x1[2] = {1, 3}, x2[1] = {4};
    rlae_valuenorm_update_d(&vn, x1, 2);
    rlae_valuenorm_mean_var(&vn, &mean, &var);
    CHECK_NEAR(mean, 2.0, 1e-15);
    CHECK_NEAR(var, 1.0, 1e-15);
    rlae_valuenorm_update_d(&vn, x2, 1);
    rlae_valuenorm_mean_var(&vn, &mean, &var);
    CHECK_NEAR(vn.debiasing_term, 0.75, 1e-15);
    CHECK_NEAR(mean, 10.0 / 3, 1e-14);
    CHECK_NEAR(var, 11.0 / 9, 1e-14);
    double y, five = 5;
    rlae_valuenorm_normalize_d(&vn, &five, 1, &y);
    CHECK_NEAR(y, 5 / sqrt(11.0), 1e-14);
    double back;
    rlae_valuenorm_denormalize_d(&vn, &y, 1, &back);
    CHECK_NEAR(back, 5.0, 1e-14);

    /* The debiasing matters with the production beta: after one update with constant returns 7
     * the debiased mean is exactly 7 (the raw running mean would be 7e-5), and the variance is
     * floored at 1e-2. */
    rlae_valuenorm_init(&vn, RLAE_VALUENORM_BETA, RLAE_VALUENORM_EPS);
    float sevens[3] = {7, 7, 7}, z[3];
    rlae_valuenorm_update(&vn, sevens, 3);
    rlae_valuenorm_mean_var(&vn, &mean, &var);
    CHECK_NEAR(mean, 7.0, 1e-9);
    CHECK_NEAR(var, 1e-2, 1e-12);
    rlae_valuenorm_normalize(&vn, sevens, 3, z);
    CHECK_NEAR(z[0], 0.0, 1e-5);
    /* Before any update the mean is 0 (debiasing term clamped at eps) and var the floor. */
    rlae_valuenorm_init(&vn, RLAE_VALUENORM_BETA, RLAE_VALUENORM_EPS);
    rlae_valuenorm_mean_var(&vn, &mean, &var);
    CHECK_NEAR(mean, 0.0, 0);
    CHECK_NEAR(var, 1e-2, 0);
    /* In-place round trip in float. */
    float v[4] = {-3, 0.5f, 2, 10};
    const float orig[4] = {-3, 0.5f, 2, 10};
    rlae_valuenorm_update(&vn, v, 4);
    rlae_valuenorm_normalize(&vn, v, 4, v);
    rlae_valuenorm_denormalize(&vn, v, 4, v);
    for (int i = 0; i < 4; i++)
        CHECK_NEAR(v[i], orig[i], 1e-5);
    return test_summary("test_valuenorm");
}
