/* Tests of algorithms/special: digamma and trigamma against known values, against finite
 * differences of lgamma / digamma (the relations that make them the Dirichlet gradients), and the
 * recurrences at small arguments. */
#include "test.h"

#include "algorithms/gradcheck.h"
#include "algorithms/special.h"

static double f_lgamma(void *ctx, const double *x) { (void)ctx; return rlae_lgamma(x[0]); }
static double f_digamma(void *ctx, const double *x) { (void)ctx; return rlae_digamma(x[0]); }

int main(void)
{
    const double pi = 3.14159265358979323846;
    /* Known values: psi(1) = -gamma_Euler, psi(1/2) = -gamma - 2 ln 2, psi'(1) = pi^2/6,
     * psi'(1/2) = pi^2/2, psi(10) = H_9 - gamma, psi'(2) = pi^2/6 - 1. */
    CHECK_NEAR(rlae_digamma(1.0), -0.5772156649015329, 1e-14);
    CHECK_NEAR(rlae_digamma(0.5), -1.9635100260214235, 1e-14);
    CHECK_NEAR(rlae_trigamma(1.0), pi * pi / 6, 1e-14);
    CHECK_NEAR(rlae_trigamma(0.5), pi * pi / 2, 1e-13);
    CHECK_NEAR(rlae_trigamma(2.0), pi * pi / 6 - 1, 1e-14);
    double h9 = 0;
    for (int k = 1; k <= 9; k++)
        h9 += 1.0 / k;
    CHECK_NEAR(rlae_digamma(10.0), h9 - 0.5772156649015329, 1e-14);
    /* Large arguments go straight to the series: psi(1000) = 6.907255195648812 (mpmath). */
    CHECK_NEAR(rlae_digamma(1000.0), 6.9072551956488120, 1e-13);
    CHECK_NEAR(rlae_lgamma(0.5), 0.5 * log(pi), 1e-15);

    /* The recurrences hold to rounding at the small concentrations the Dirichlet head produces. */
    const double small[] = {1e-4, 1e-3, 0.05, 0.3, 0.99};
    double worst_rec = 0;
    for (size_t i = 0; i < sizeof small / sizeof *small; i++) {
        double x = small[i];
        double e1 = rlae_rel_err(rlae_digamma(x), rlae_digamma(x + 1) - 1 / x, 1e-300);
        double e2 = rlae_rel_err(rlae_trigamma(x), rlae_trigamma(x + 1) + 1 / (x * x), 1e-300);
        worst_rec = fmax(worst_rec, fmax(e1, e2));
    }
    CHECK_MSG(worst_rec < 1e-13, "recurrence rel err %.3g", worst_rec);

    /* psi = d lgamma/dx and psi' = d psi/dx by 5-point finite differences across (0.05, 300). */
    const double pts[] = {0.05, 0.1, 0.37, 0.5, 1.0, 1.7, 3.2, 9.99, 10.01, 25.0, 300.0};
    double worst_psi = 0, worst_tri = 0;
    for (size_t i = 0; i < sizeof pts / sizeof *pts; i++) {
        double x = pts[i];
        double h = 1e-3 * x; /* relative step: derivatives of lgamma scale like 1/x^k near 0 */
        double fd1 = rlae_fd_partial(f_lgamma, NULL, &x, 0, h);
        double fd2 = rlae_fd_partial(f_digamma, NULL, &x, 0, h);
        worst_psi = fmax(worst_psi, rlae_rel_err(rlae_digamma(x), fd1, 1e-8));
        worst_tri = fmax(worst_tri, rlae_rel_err(rlae_trigamma(x), fd2, 1e-8));
    }
    printf("digamma vs FD(lgamma): max rel err %.3g; trigamma vs FD(digamma): %.3g\n", worst_psi, worst_tri);
    CHECK(worst_psi < 1e-8);
    CHECK(worst_tri < 1e-8);

    CHECK(isnan(rlae_digamma(0.0)));
    CHECK(isnan(rlae_digamma(-1.5)));
    CHECK(isnan(rlae_trigamma(NAN)));
    return test_summary("test_special");
}
