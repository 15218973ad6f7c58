// The SIMD kernels, written once over an xsimd arch tag A and compiled per ISA: each isa_*.cpp
// defines XENT_KERNEL_NS and includes this file, so every helper lives in that ISA's namespace (ODR).
// Kernels<A> is the last link of a chain of class templates, one header each under kernels/simd/:
//   Math (math.hpp: log, exp, clip; the elementwise kernels)
//   <- Reductions (reductions.hpp: span sums, max, exp sums, online max-sum)
//   <- RowAccess (rows.hpp: row chunks, widening, lanes as rows, tiles, quads)
//   <- Q8Quads (q8_quads.hpp: short quantized rows as byte quads, AVX-512 VBMI + VNNI)
//   <- Q8Logits (q8_logits.hpp: short int8 logits rows on AVX512-VBMI)
//   <- SparseRows (sparse_rows.hpp) <- CategoricalRows (categorical_rows.hpp)
//   <- Kernels (here: logsumexp, log_softmax, widening) and make_table, the ISA's KernelTable.
// Each level names what it uses from the ones before (using-declarations: they are dependent bases).
// The scalar table (scalar.cpp) is a separate plain implementation over std::log/std::exp.
#pragma once

#include "kernels/simd/categorical_rows.hpp"

namespace xent::detail::XENT_KERNEL_NS {

template <class A>
struct Kernels : CategoricalRows<A> {
  using typename CategoricalRows<A>::F;
  using CategoricalRows<A>::W;
  using CategoricalRows<A>::for_chunks;
  using CategoricalRows<A>::log_any;
  using CategoricalRows<A>::row_max_sum;
  using CategoricalRows<A>::span_sum;
  using CategoricalRows<A>::widen_into;

  // Any NaN in the row (the cold check behind an infinite max).
  [[gnu::cold]] static bool has_nan(const Rows& row) noexcept {
    double count = 0.0;
    for_chunks(row, 0, [&count](const float* p, std::size_t n, std::size_t) {
      count += span_sum(p, n, [](const F& v) { return xsimd::select(xsimd::isnan(v), F(1.0f), F(0.0f)); });
    });
    return count > 0.0;
  }

  static float logsumexp(const void* x, DType type, std::size_t n) noexcept {
    const Rows row{x, type, 1, n, n, 1};
    float m = -kInf, s = 0.0f;
    row_max_sum(row, 0, &m, &s);
    if (std::isinf(m)) return has_nan(row) ? kNaN : m;  // all -inf (or n == 0), or a +inf entry
    return m + simd::lane0<A>(log_any(F(s)));
  }

  static void log_softmax(const float* x, float* out, std::size_t n) noexcept {
    const Rows row{x, DType::f32, 1, n, n, 1};
    float m = -kInf, s = 0.0f;
    row_max_sum(row, 0, &m, &s);
    const float log_s = std::isinf(m) ? kNaN : simd::lane0<A>(log_any(F(s)));
    const F mv(m), lv(log_s);
    std::size_t i = 0;
    for (; i + W <= n; i += W) ((F::load_unaligned(x + i) - mv) - lv).store_unaligned(out + i);
    if (i < n) simd::store_partial<A>((simd::load_partial<A>(x + i, n - i, 0.0f) - mv) - lv, out + i, n - i);
  }

  static void widen_f16(const std::uint16_t* x, float* out, std::size_t n) noexcept { widen_into(x, out, n, true); }
  static void widen_bf16(const std::uint16_t* x, float* out, std::size_t n) noexcept { widen_into(x, out, n, false); }
};

template <class A>
constexpr KernelTable make_table(const char* name) noexcept {
  using K = Kernels<A>;
  return KernelTable{name,
                     &K::log,
                     &K::logsumexp,
                     &K::log_softmax,
                     &K::widen_f16,
                     &K::widen_bf16,
                     &K::sparse_rows,
                     &K::categorical_rows,
                     &K::categorical_class_shares,
                     &K::template elementwise<&K::exp_core>,
                     &K::template elementwise<&K::exp_sum_term>};
}

}  // namespace xent::detail::XENT_KERNEL_NS
