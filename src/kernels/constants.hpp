#pragma once
// The constants of the log and exp kernels, shared by the SIMD kernels (kernels/simd/math.hpp) and
// the scalar polynomials (kernels/scalar_math.hpp). Where each comes from is said beside it.
#include <cstdint>
#include <limits>

namespace xent::detail {

constexpr float kEps = 1e-7f;
constexpr float kOneMinusEps = 1.0f - kEps;
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

constexpr float kLn2 = 0.693147182f;
// ln 2 split so that n * kLn2Hi is exact for |n| < 2^15 (the exp's range reduction).
constexpr float kLn2Hi = 0.693359375f;
constexpr float kLn2Lo = -2.12194440e-4f;
// log(1 + r) = r + r^2 P(r) on r in [-1/3, 1/3]: P of degree 6, minimax in ulps of the result
// (tools/fit_log.py): 2.6 ulp before rounding. Degree 5 would be 19 ulp; degree 7 costs one more FMA.
constexpr float kLogP[7] = {-4.999992014e-01f, 3.333642420e-01f, -2.500907929e-01f, 1.982825862e-01f,
                            -1.639090217e-01f, 1.692263850e-01f, -1.552951792e-01f};
// The table log (AVX-512; the scalar polynomials') (tools/gen_log_table.py): x = 2^e m (m in [1, 2)), z = m or m / 2 in
// [3/4, 3/2) (vgetexpps, vgetmantps), and bits 18..22 of z pick entry j: invc ~ 1 / (middle of z's
// interval j, 1/32 wide above 1, 1/64 below), logc = -log(invc) (+ kLn2 where z < 1), each within
// 2^-11 ulp of its float (invc searched for it). Entries 0 and 31 hold the z just above and just
// below 1: invc = 1, logc = 0 and kLn2. Then r = z invc - 1 in [-1/64, 1/32) and
// log(1 + r) = r Q(r), Q = 1 + c0 r + c1 r^2 + c2 r^3 (0.12 ulp of the result before rounding).
alignas(64) constexpr float kLogTableInvC[32] = {
    1.000000000e+00f, 9.552043080e-01f, 9.275087118e-01f, 9.015070796e-01f, 8.768798113e-01f, 8.534204960e-01f,
    8.311185241e-01f, 8.100588918e-01f, 7.902936935e-01f, 7.711816430e-01f, 7.530797720e-01f, 7.354063988e-01f,
    7.190330029e-01f, 7.031499147e-01f, 6.882533431e-01f, 6.738138199e-01f, 1.319911599e+00f, 1.292992949e+00f,
    1.267663717e+00f, 1.242959023e+00f, 1.218688965e+00f, 1.196650624e+00f, 1.174646616e+00f, 1.152884483e+00f,
    1.132776499e+00f, 1.113232136e+00f, 1.093877554e+00f, 1.076010466e+00f, 1.057578325e+00f, 1.040357590e+00f,
    1.023729205e+00f, 1.000000000e+00f};
alignas(64) constexpr float kLogTableLogC[32] = {
    0.000000000e+00f, 4.583002627e-02f, 7.525309175e-02f, 1.036873832e-01f, 1.313853413e-01f, 1.585028917e-01f,
    1.849828660e-01f, 2.106483281e-01f, 2.353506386e-01f, 2.598313391e-01f, 2.835841179e-01f, 3.073320091e-01f,
    3.298480213e-01f, 3.521851599e-01f, 3.735982776e-01f, 3.948014379e-01f, 4.155824184e-01f, 4.361875355e-01f,
    4.559715688e-01f, 4.756523371e-01f, 4.953715205e-01f, 5.136206746e-01f, 5.321798325e-01f, 5.508801341e-01f,
    5.684754848e-01f, 5.858795643e-01f, 6.034184098e-01f, 6.198869944e-01f, 6.371654868e-01f, 6.535826921e-01f,
    6.696951389e-01f, 6.931471825e-01f};
constexpr float kLogTableQ[3] = {-5.000011325e-01f, 3.333690763e-01f, -2.441396564e-01f};
// exp(f) = 1 + f + f^2 Q(f) on |f| <= ln2/2: Q of degree 4, fitted for ulp error (0.04 ulp). A
// degree-3 Q (a degree-5 polynomial) fits to 1.35 ulp and measured 2.3 ulp after rounding: over the bound.
constexpr float kExpQ[5] = {4.999999001e-01f, 1.666651926e-01f, 4.166908701e-02f, 8.368847768e-03f,
                            1.378039207e-03f};
// The sums' exp: Q of degree 3 (a degree-5 polynomial), 1.35 ulp fit.
constexpr float kExpSumQ[4] = {4.999929935e-01f, 1.666724523e-01f, 4.188381526e-02f, 8.300990532e-03f};
constexpr float kLog2e = 1.44269502e+00f;
// The sums' exp where a register lookup exists (AVX-512, AVX2: simd::lookup): 2^(k/N) from a table of
// 2^(j/N), j = k mod N, times p(f) = 1 + f q(f), f = x - k ln2/N, q of degree 2 fitted for relative
// error (tools/fit_exp_table.py): N = 16 (0.013 ulp fit), N = 8 (0.21 ulp). Entries are the bits of
// 2^(j/N) (nearest float) minus j << (23 - log2 N), so that adding k << (23 - log2 N) gives 2^(k/N).
alignas(64) constexpr std::int32_t kExpTable16[16] = {
    0x3f800000, 0x3f7daac3, 0x3f7b95c2, 0x3f79c3d3, 0x3f7837f0, 0x3f76f532, 0x3f75fed7, 0x3f75583f,
    0x3f7504f3, 0x3f7508a4, 0x3f75672a, 0x3f76248c, 0x3f7744fd, 0x3f78ccdf, 0x3f7ac0c7, 0x3f7d257d};
constexpr float kExpTableQ16[3] = {1.000000003e+00f, 5.000161986e-01f, 1.666607432e-01f};
alignas(64) constexpr std::int32_t kExpTable8[8] = {0x3f800000, 0x3f7b95c2, 0x3f7837f0, 0x3f75fed7,
                                                    0x3f7504f3, 0x3f75672a, 0x3f7744fd, 0x3f7ac0c7};
constexpr float kExpTableQ8[3] = {1.000000049e+00f, 5.000647913e-01f, 1.666429782e-01f};
constexpr float kExpTableMagic = 12582912.0f;  // 1.5 * 2^23 rounds to an integer k in kf's low bits
constexpr float kExpTableClamp = -87.0f;       // keeps k div N >= -126, a normal 2^(k/N)
constexpr float kExpMagic = 12582912.0f + 127.0f;  // 1.5 * 2^23 rounds; + 127 pre-biases the exponent
constexpr float kExpClamp = -87.5f;  // keeps k >= -126, so 2^k is a normal float
// The scalar sums' exp (kernels/scalar_math.hpp), where a table costs one load: 2^(j/64), as
// kExpTable16, and q of degree 1 (tools/fit_exp_table.py 64 2: 0.056 ulp fit).
alignas(64) constexpr std::int32_t kExpTable64[64] = {
    0x3f800000, 0x3f7f64d2, 0x3f7ecd87, 0x3f7e3a29, 0x3f7daac3, 0x3f7d1f62, 0x3f7c980f, 0x3f7c14d5,
    0x3f7b95c2, 0x3f7b1adf, 0x3f7aa43a, 0x3f7a31dc, 0x3f79c3d3, 0x3f795a2b, 0x3f78f4f0, 0x3f78942d,
    0x3f7837f0, 0x3f77e046, 0x3f778d3a, 0x3f773eda, 0x3f76f532, 0x3f76b051, 0x3f767043, 0x3f763516,
    0x3f75fed7, 0x3f75cd94, 0x3f75a15b, 0x3f757a3a, 0x3f75583f, 0x3f753b79, 0x3f7523f6, 0x3f7511c4,
    0x3f7504f3, 0x3f74fd92, 0x3f74fbaf, 0x3f74ff5b, 0x3f7508a4, 0x3f75179a, 0x3f752c4d, 0x3f7546cd,
    0x3f75672a, 0x3f758d75, 0x3f75b9be, 0x3f75ec15, 0x3f76248c, 0x3f766334, 0x3f76a81e, 0x3f76f35b,
    0x3f7744fd, 0x3f779d16, 0x3f77fbb8, 0x3f7860f5, 0x3f78ccdf, 0x3f793f89, 0x3f79b907, 0x3f7a396a,
    0x3f7ac0c7, 0x3f7b4f30, 0x3f7be4ba, 0x3f7c8177, 0x3f7d257d, 0x3f7dd0df, 0x3f7e83b3, 0x3f7f3e0c};
constexpr float kExpTableQ64[2] = {1.000003666e+00f, 5.000002998e-01f};

}  // namespace xent::detail
