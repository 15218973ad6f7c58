// Stand-ins for the optional baselines this build was configured without.
#include "baselines.hpp"

namespace xent_bench {

#if !XENT_BENCH_HAVE_EIGEN
const Baseline* eigen_baseline() { return nullptr; }
const Baseline* eigen_rows_baseline() { return nullptr; }
const char* eigen_simd_info() { return "absent"; }
#endif

#if !XENT_BENCH_HAVE_TORCH
const Baseline* torch_baseline() { return nullptr; }
const char* torch_info() { return "absent"; }
#endif

#if !XENT_BENCH_HAVE_SLEEF
const Baseline* sleef_baseline() { return nullptr; }
const Baseline* sleef_u10_baseline() { return nullptr; }
const char* sleef_info() { return "absent"; }
#endif

#if !XENT_BENCH_HAVE_HWY
const Baseline* hwy_baseline() { return nullptr; }
const char* hwy_info() { return "absent"; }
#endif

#if !XENT_BENCH_HAVE_ONEDNN
const Baseline* onednn_baseline() { return nullptr; }
const char* onednn_info() { return "absent"; }
#endif

#if !XENT_BENCH_HAVE_XNNPACK
const Baseline* xnnpack_baseline() { return nullptr; }
#endif

}  // namespace xent_bench
