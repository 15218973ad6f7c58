// The categorical row kernels (a truth distribution per row, from probabilities or logits), and
// the per-class shares: lanes as rows for short rows (tiles, quads), row by row for the others.
// Part of the Kernels<A> chain assembled by kernels/simd_kernels.hpp (one copy per ISA namespace).
#pragma once

#include "kernels/simd/sparse_rows.hpp"

namespace xent::detail::XENT_KERNEL_NS {

template <class A>
struct CategoricalRows : SparseRows<A> {
  using typename SparseRows<A>::B;
  using typename SparseRows<A>::F;
  using typename SparseRows<A>::LaneSum;
  using typename SparseRows<A>::Lanes;
  using typename SparseRows<A>::QuadRows;
  using typename SparseRows<A>::QuadRowsQ8;
  using typename SparseRows<A>::Quant;
  using typename SparseRows<A>::Smooth;
  using typename SparseRows<A>::TileLanes;
  using SparseRows<A>::W;
  using SparseRows<A>::block_row_sums;
  using SparseRows<A>::clip;
  using SparseRows<A>::exp_sum_term;
  using SparseRows<A>::fill_tile;
  using SparseRows<A>::for_chunks2;
  using SparseRows<A>::for_lane_chunks;
  using SparseRows<A>::for_quads;
  using SparseRows<A>::kSplitFast;
  using SparseRows<A>::log_any;
  using SparseRows<A>::log_core;
  using SparseRows<A>::log_core_n;
  using SparseRows<A>::quantized;
  using SparseRows<A>::rows_from;
  using SparseRows<A>::row_sum;
  using SparseRows<A>::row_max_sum;
  using SparseRows<A>::span_sum;
  using SparseRows<A>::span_sum2;
  using SparseRows<A>::store_rows;
  using SparseRows<A>::tail_mask_zero;
  using SparseRows<A>::unread;
  using SparseRows<A>::use_tile;
  using SparseRows<A>::q8_logits_rows;
  using SparseRows<A>::categorical_q8_logits;

  // Categorical, lanes as rows: per lane the loss. X: Lanes, or TileLanes for tiles of our own.
  template <bool kFast, class X>
  static F categorical_lanes(const X& x, const X& t, std::size_t k_n, const LossParams& params) noexcept {
    const Smooth sm(params.label_smoothing, k_n);
    const F scale = sm.on ? sm.scale : F(1.0f), offset = sm.on ? sm.offset : F(0.0f);  // t * 1 + 0 == t
    LaneSum acc;
    if (params.from_logits) {
      F m(-kInf);
      for (std::size_t k = 0; k < k_n; ++k) m = xsimd::max(x.template at<kFast>(k), m);
      LaneSum s, tsum;
      for_lane_chunks(
          k_n,
          [&](std::size_t k) {
            const F z = x.template at<kFast>(k) - m;
            const F tk = simd::fma<A>(t.template at<kFast>(k), scale, offset);
            s.add(exp_sum_term(z));
            tsum.add(tk);
            acc.add(tk * z);
          },
          [&] {
            s.flush();
            tsum.flush();
            acc.flush();
          });
      // sum t' (log S - (z - m)) = log S * sum t' - sum t' (z - m)
      return log_any(s.result()) * tsum.result() - acc.result();
    }
    LaneSum s;
    for_lane_chunks(
        k_n, [&](std::size_t k) { s.add(x.template at<kFast>(k)); }, [&] { s.flush(); });
    const F total = s.result();
    if (!sm.on && xsimd::all(xsimd::isfinite(total) & (total != F(0.0f)))) {
      // The common case, the same sums bit for bit: t' = t, and no q can be NaN (that takes 0/0,
      // inf/inf or a NaN, each of which makes a total 0, inf or NaN), so the NaN guard adds +0.
      // Two vector constants and three operations a class fewer: armv7 NEON (16 registers) then
      // reloads fewer of the log's constants per class (counted under qemu).
      for_lane_chunks(
          k_n, [&](std::size_t k) { acc.add(t.template at<kFast>(k) * log_core(clip(simd::div<A>(x.template at<kFast>(k), total)))); },
          [&] { acc.flush(); });
      return F(0.0f) - acc.result();
    }
    for_lane_chunks(
        k_n,
        [&](std::size_t k) {
          const F q = clip(simd::div<A>(x.template at<kFast>(k), total));
          acc.add(simd::fma<A>(t.template at<kFast>(k), scale, offset) * log_core(q) + (q - q));  // q - q: a NaN q (0/0) stays NaN
        },
        [&] { acc.flush(); });
    return F(0.0f) - acc.result();
  }

  // Row r of a categorical block, row by row: s (probabilities) or m and log S (logits).
  struct RowStats {
    float s = 0.0f, m = 0.0f, log_s = 0.0f;
  };

  static RowStats categorical_stats(const Rows& pred, std::size_t r, bool from_logits) noexcept {
    RowStats st;
    if (from_logits) {
      float s = 0.0f;
      row_max_sum(pred, r, &st.m, &s);
      st.s = s;
      st.log_s = simd::lane0<A>(log_any(F(s)));
    } else if (pred.type == DType::f32 && pred.class_stride == 1) {
      st.s = probs_total(static_cast<const float*>(pred.data) + r * pred.row_stride, pred.classes);
    } else {
      st.s = static_cast<float>(row_sum(pred, r, [](const F& v) { return v; }));
    }
    return st;
  }

  // The sum of a contiguous float32 row exactly as probs_span adds its `next` row (the same blocks
  // and order), so a row's total is the same bits whether the row starts a block or follows another.
  [[gnu::noinline]] static float probs_total(const float* p, std::size_t n) noexcept {
    F s0(0.0f);
    double sum = 0.0;
    std::size_t i = 0;
    unsigned since = 0;
    for (; i + 4 * W <= n; i += 4 * W) {
      s0 += (F::load_unaligned(p + i) + F::load_unaligned(p + i + W)) +
            (F::load_unaligned(p + i + 2 * W) + F::load_unaligned(p + i + 3 * W));
      if (++since == 16) {
        sum += static_cast<double>(xsimd::hadd(s0));
        s0 = F(0.0f);
        since = 0;
      }
    }
    for (std::size_t k = 0; i < n && k < 4; ++k) {
      const std::size_t at = i + k * W, left = at < n ? n - at : 0;
      if (left > 0) s0 += left >= W ? F::load_unaligned(p + at) : simd::load_partial<A>(p + at, left, 0.0f);
    }
    return static_cast<float>(sum + static_cast<double>(xsimd::hadd(s0)));
  }

  static void categorical_rows(const Rows& pred, const Rows& truth, const LossParams& params, float* loss) noexcept {
    if (use_tile(pred) && use_tile(truth)) {
      categorical_rows_tiled(pred, truth, params, loss);
    } else if (pred.class_stride != 1) {
      categorical_rows_lanes(pred, truth, params, loss);
    } else {
      categorical_rows_by_row(pred, truth, params, loss);
    }
  }

  // categorical_quads costs 5-8 KB of .text per NEON library (M2): ARM keeps the tiles.
#if defined(__ARM_NEON) || defined(__ARM_NEON__)
  static constexpr bool kCategoricalQuads = false;
#else
  static constexpr bool kCategoricalQuads = true;
#endif

  // Float32 and quantized rows take categorical_quads (no tile), the others a tile per block of W
  // rows. Separate frames (noinline), so one call never stacks the tiles on top of the row buffers,
  // nor the tiles on top of the spills around get_other.
  [[gnu::noinline]] static void categorical_rows_tiled(const Rows& pred, const Rows& truth, const LossParams& params,
                                                       float* loss) noexcept {
    if (params.from_logits && truth.type == DType::f32 && q8_logits_rows(pred)) {
      categorical_q8_logits(pred, truth, params, loss);  // short int8 / uint8 logits on AVX512-VBMI (q8_logits.hpp)
    } else if (kCategoricalQuads && (pred.type == DType::f32 || quantized(pred.type)) && truth.type == DType::f32 &&
               pred.classes >= 4) {
      // Whole groups, then a last group of fewer rows through the same arithmetic; the rows they
      // leave (see categorical_quads) go row by row, each alone, in a sibling frame.
      for (std::size_t r0 = 0; r0 < pred.rows;) {
        std::size_t group = 0;
        unsigned left = 0;
        r0 = pred.rows - r0 >= W ? categorical_quads(pred, truth, params, loss, r0, group, left)
                                 : categorical_quads_last(pred, truth, params, loss, r0, group, left);
        for (std::size_t j = 0; left != 0; ++j, left >>= 1) {
          if ((left & 1u) != 0) {
            categorical_rows_by_row(rows_from(pred, group + j, 1), rows_from(truth, group + j, 1), params, loss + group + j);
          }
        }
      }
    } else if (pred.classes * W <= kCatTile) {
      categorical_rows_tile(pred, truth, params, loss);
    } else {
      categorical_rows_by_row(pred, truth, params, loss);
    }
  }

  [[gnu::noinline]] static void categorical_rows_tile(const Rows& pred, const Rows& truth, const LossParams& params,
                                                      float* loss) noexcept {
    alignas(64) float buf_p[kCatTile];
    alignas(64) float buf_t[kCatTile];
    const float fill = params.from_logits ? 0.0f : 1.0f;
    for (std::size_t r0 = 0; r0 < pred.rows; r0 += W) {
      const std::size_t count = pred.rows - r0 < W ? pred.rows - r0 : W;
      const TileLanes x = fill_tile(pred, r0, count, fill, buf_p);
      const TileLanes t = fill_tile(truth, r0, count, 0.0f, buf_t);
      store_rows(categorical_lanes<true>(x, t, pred.classes, params), loss + r0, count);
    }
  }

  // Categorical, float32 short contiguous rows, W rows at a time in four-class blocks as in
  // sparse_probs_quads, K >= 4. Logits: m, then S, sum t' and sum t' (z - m). Probabilities: S, then
  // sum t' log clip(p * (1 / S)): one more rounding than p / S, under 2 ulp of q and 1.2e-7 absolute
  // in its log. A last group of fewer rows takes the same arithmetic (categorical_quads_last); a row
  // whose S is not a positive normal float is left to the row-by-row path (p / S, with Keras's NaN
  // for 0 / 0), that row alone: each row's path and bits depend on that row only, never on its
  // neighbours (the metric's chunking).
  // Whole groups from r0 on; stops after a group with rows to leave (bit j of `left`: row group + j)
  // or before a last group of fewer than W rows; returns the end of the rows done.
  // Quantized predictions: the same on their dequantized values (QuadRowsQ8).
  static std::size_t categorical_quads(const Rows& pred, const Rows& truth, const LossParams& params, float* loss,
                                       std::size_t r0, std::size_t& group, unsigned& left) noexcept {
#if XENT_Q8_BYTE_TABLE
    if (!params.from_logits && Q8Quads<A>::byte_quads(pred)) return categorical_q8(pred, truth, params, loss, r0, group, left);
#endif
    return quantized(pred.type) ? categorical_quads<true>(pred, truth, params, loss, r0, group, left)
                                : categorical_quads<false>(pred, truth, params, loss, r0, group, left);
  }

  // One frame per prediction type: both inlined into one function made the float32 frame carry the
  // quantized one's spills too (M1).
  template <bool kQuant>
  [[gnu::noinline]] static std::size_t categorical_quads(const Rows& pred, const Rows& truth, const LossParams& params, float* loss,
                                                         std::size_t r0, std::size_t& group, unsigned& left) noexcept {
    const auto x = RowAccess<A>::template quad_rows<kQuant>(pred);
    const QuadRows y{static_cast<const float*>(truth.data), truth.row_stride};
    for (; r0 + W <= pred.rows; r0 += W) {
      F out;
      const B bad = categorical_group(x.from(r0), y.from(r0), pred.classes, params, out);
      store_rows(out, loss + r0, W);
      if (xsimd::any(bad)) return leave(bad, W, r0, group, left);
    }
    return r0;
  }

  // The last group of fewer than W rows, from r0 (a sibling frame of categorical_quads'): the same
  // arithmetic as a whole group, its missing rows dropped (QuadRowsPartial). Returns the block's end.
  static std::size_t categorical_quads_last(const Rows& pred, const Rows& truth, const LossParams& params, float* loss,
                                            std::size_t r0, std::size_t& group, unsigned& left) noexcept {
#if XENT_Q8_BYTE_TABLE
    if (!params.from_logits && Q8Quads<A>::byte_quads(pred)) return categorical_q8(pred, truth, params, loss, r0, group, left);
#endif
    return quantized(pred.type) ? categorical_quads_last<true>(pred, truth, params, loss, r0, group, left)
                                : categorical_quads_last<false>(pred, truth, params, loss, r0, group, left);
  }

  template <bool kQuant>
  [[gnu::noinline]] static std::size_t categorical_quads_last(const Rows& pred, const Rows& truth, const LossParams& params,
                                                              float* loss, std::size_t r0, std::size_t& group,
                                                              unsigned& left) noexcept {
    const std::size_t count = pred.rows - r0;
    const auto x = RowAccess<A>::template quad_rows<kQuant, true>(pred, r0, count);
    const auto y = RowAccess<A>::template quad_rows<false, true>(truth, r0, count);
    F out;
    const B bad = categorical_group(x, y, pred.classes, params, out);
    store_rows(out, loss + r0, count);
    return xsimd::any(bad) ? leave(bad, count, r0, group, left) : pred.rows;
  }

#if XENT_Q8_BYTE_TABLE
  // Quantized probabilities on AVX-512 VBMI + VNNI (Q8Quads::byte_quads): each group's row totals
  // from its byte quads in int32 (Q8Quads::group_totals), then categorical_probs_pass2 on the same
  // bytes kept in buf (the same dequantized values). Groups from r0 to the block's end, a last one of
  // fewer rows included, stopping after a group with rows to leave, as categorical_quads.
  [[gnu::noinline, gnu::target("avx512vbmi,avx512vnni")]] static std::size_t categorical_q8(
      const Rows& pred, const Rows& truth, const LossParams& params, float* loss, std::size_t r0, std::size_t& group,
      unsigned& left) noexcept {
    using Q8 = Q8Quads<A>;
    alignas(64) std::uint8_t buf[256];
    typename Q8::template QuadSetup<4> st;
    Q8::template quad_setup<false>(pred.classes, pred.row_stride, st);
    const Smooth sm(params.label_smoothing, pred.classes);
    const F scale = sm.on ? sm.scale : F(1.0f), offset = sm.on ? sm.offset : F(0.0f);  // t * 1 + 0 == t
    const typename Q8::QuadBytes x{buf, Quant(pred)};
    // One-hot truth, no smoothing: one log per row (the bits of the general pass: its other terms
    // add zeros), when every row of the group is one-hot (onehot_pick), else the general pass.
    alignas(64) std::uint8_t tbuf[256];
    const bool try_onehot = !sm.on && truth.class_stride == 1 && truth.row_stride == pred.classes;
    for (; r0 < pred.rows; r0 += W) {
      const F total = Q8::group_totals(pred, r0, st, buf);
      const std::size_t count = pred.rows - r0 < W ? pred.rows - r0 : W;
      F out;
      __m512i u_label;
      if (try_onehot && Q8::onehot_pick(static_cast<const float*>(truth.data) + r0 * truth.row_stride, count, pred.classes, st,
                                        buf, tbuf, u_label)) {
        const B bad = !((total >= F(0x1p-126f)) & (total <= F(std::numeric_limits<float>::max())));
        const F inv = simd::div<A>(F(1.0f), xsimd::select(bad, F(1.0f), total));
        const F p = x.q.apply(u_label);  // the dequantized value, as x.vec reads it
        out = F(0.0f) - log_core(clip(p * inv));
        store_rows(out, loss + r0, count);
        if (xsimd::any(bad)) return leave(bad, count, r0, group, left);
        continue;
      }
      const B bad = count == W ? categorical_probs_pass2(x, QuadRows{static_cast<const float*>(truth.data), truth.row_stride}.from(r0),
                                                         pred.classes, scale, offset, total, out)
                               : categorical_probs_pass2(x, RowAccess<A>::template quad_rows<false, true>(truth, r0, count),
                                                         pred.classes, scale, offset, total, out);
      store_rows(out, loss + r0, count);
      if (xsimd::any(bad)) return leave(bad, count, r0, group, left);
    }
    return pred.rows;
  }
#endif

  // The rows of the group at r0 (count rows) that bad marks: bits of `left` (row group + j); returns
  // the group's end.
  static std::size_t leave(const B& bad, std::size_t count, std::size_t r0, std::size_t& group, unsigned& left) noexcept {
    alignas(64) float lanes[W];
    xsimd::select(bad, F(1.0f), F(0.0f)).store_aligned(lanes);
    left = 0;
    for (std::size_t j = 0; j < count; ++j) left |= lanes[j] != 0.0f ? 1u << j : 0u;
    group = r0;
    return r0 + count;
  }

  // The group's losses into out; returns the lanes whose S is not a positive normal float (their out
  // is meaningless: those rows go row by row).
  template <class X, class Y>
  [[gnu::always_inline]] static B categorical_group(const X& x, const Y& y, std::size_t k_n, const LossParams& params,
                                                    F& out) noexcept {
    const Smooth sm(params.label_smoothing, k_n);
    const F scale = sm.on ? sm.scale : F(1.0f), offset = sm.on ? sm.offset : F(0.0f);  // t * 1 + 0 == t
    F acc[4];
    for (std::size_t i = 0; i < 4; ++i) acc[i] = F(0.0f);
    if (params.from_logits) {
      F mx[4];
      for (std::size_t i = 0; i < 4; ++i) mx[i] = F(-kInf);
      for_quads(k_n, [&](std::size_t c, auto tail, const B& real) {
#pragma GCC unroll 4
        for (std::size_t i = 0; i < 4; ++i) mx[i] = xsimd::max(unread(tail, real, x.vec(c, i), F(-kInf)), mx[i]);
      });
      simd::transpose_blocks<A>(mx);
      const F m = xsimd::max(xsimd::max(mx[0], mx[1]), xsimd::max(mx[2], mx[3]));
      const F mb[4] = {simd::block_broadcast<0, A>(m), simd::block_broadcast<1, A>(m), simd::block_broadcast<2, A>(m),
                       simd::block_broadcast<3, A>(m)};
      F s[4], ts[4];
      for (std::size_t i = 0; i < 4; ++i) s[i] = ts[i] = F(0.0f);
      for_quads(k_n, [&](std::size_t c, auto tail, const B& real) {
#pragma GCC unroll 4
        for (std::size_t i = 0; i < 4; ++i) {
          const F z = x.vec(c, i) - mb[i];
          const F tk = simd::fma<A>(y.vec(c, i), scale, offset);
          s[i] += unread(tail, real, exp_sum_term(z), F(0.0f));
          ts[i] += unread(tail, real, tk, F(0.0f));
          // (a lane read already may hold -inf - m: its tk * z is dropped, not multiplied by 0)
          if constexpr (decltype(tail)::value) {
            acc[i] += xsimd::select(real, tk * z, F(0.0f));
          } else {
            acc[i] = simd::fma<A>(tk, z, acc[i]);
          }
        }
      });
      // sum t' (log S - (z - m)) = log S * sum t' - sum t' (z - m)
      out = log_any(block_row_sums(s)) * block_row_sums(ts) - block_row_sums(acc);
      return B(false);
    }
    F sa[4];
    for (std::size_t i = 0; i < 4; ++i) sa[i] = F(0.0f);
    for_quads(k_n, [&](std::size_t c, auto tail, const B& real) {
#pragma GCC unroll 4
      for (std::size_t i = 0; i < 4; ++i) sa[i] += unread(tail, real, x.vec(c, i), F(0.0f));
    });
    return categorical_probs_pass2(x, y, k_n, scale, offset, block_row_sums(sa), out);
  }

  // Probabilities' second pass from the rows' totals (natural row order): sum t' log clip(p / S)
  // into out; returns the lanes whose S is not a positive normal float.
  template <class X, class Y>
  [[gnu::always_inline]] static B categorical_probs_pass2(const X& x, const Y& y, std::size_t k_n, const F& scale,
                                                          const F& offset, const F& total, F& out) noexcept {
    F acc[4];
    for (std::size_t i = 0; i < 4; ++i) acc[i] = F(0.0f);
    const B bad = !((total >= F(0x1p-126f)) & (total <= F(std::numeric_limits<float>::max())));
    const F inv = simd::div<A>(F(1.0f), xsimd::select(bad, F(1.0f), total));
    const F ib[4] = {simd::block_broadcast<0, A>(inv), simd::block_broadcast<1, A>(inv), simd::block_broadcast<2, A>(inv),
                     simd::block_broadcast<3, A>(inv)};
    for_quads(k_n, [&](std::size_t c, auto tail, const B& real) {
#pragma GCC unroll 4
      for (std::size_t i = 0; i < 4; ++i) {
        const F tk = simd::fma<A>(y.vec(c, i), scale, offset);
        const F lq = log_core(clip(x.vec(c, i) * ib[i]));
        if constexpr (decltype(tail)::value) {
          acc[i] += xsimd::select(real, tk * lq, F(0.0f));
        } else {
          acc[i] = simd::fma<A>(tk, lq, acc[i]);
        }
      }
    });
    out = F(0.0f) - block_row_sums(acc);
    return bad;
  }

  // Interleaved classes: full float32 groups load directly, the rest through get_other.
  [[gnu::noinline]] static void categorical_rows_lanes(const Rows& pred, const Rows& truth, const LossParams& params,
                                                       float* loss) noexcept {
    const float fill = params.from_logits ? 0.0f : 1.0f;
    for (std::size_t r0 = 0; r0 < pred.rows; r0 += W) {
      const std::size_t count = pred.rows - r0 < W ? pred.rows - r0 : W;
      const Lanes x{pred.data, pred.type, pred.row_stride, pred.class_stride, r0, count, fill, pred.scale, pred.zero_point};
      const Lanes t{truth.data, truth.type, truth.row_stride, truth.class_stride, r0, count, 0.0f, 1.0f, 0};
      const F out = kSplitFast && x.fast() && t.fast() ? categorical_lanes<true>(x, t, pred.classes, params)
                                                       : categorical_lanes<false>(x, t, pred.classes, params);
      store_rows(out, loss + r0, count);
    }
  }

  [[gnu::noinline]] static void categorical_rows_by_row(const Rows& pred, const Rows& truth, const LossParams& params,
                                                        float* loss) noexcept {
    const Smooth sm(params.label_smoothing, pred.classes);
    // Probabilities in contiguous float32 rows: each row's total comes out of the previous row's
    // loss pass (probs_span's next), so a row is read from memory once for both.
    const bool f32_probs = !params.from_logits && pred.type == DType::f32 && pred.class_stride == 1 &&
                           truth.type == DType::f32 && truth.class_stride == 1;
    bool have_s = false;
    float s = 0.0f;
    for (std::size_t r = 0; r < pred.rows; ++r) {
      if (f32_probs) {
        if (!have_s) s = categorical_stats(pred, r, false).s;
        have_s = false;
        if (std::isfinite(s) && s != 0.0f) {  // else a NaN q is possible (0/0, inf/inf): the general path
          const float* p = static_cast<const float*>(pred.data) + r * pred.row_stride;
          const float* t = static_cast<const float*>(truth.data) + r * truth.row_stride;
          const float* next = r + 1 < pred.rows ? p + pred.row_stride : nullptr;
          loss[r] = static_cast<float>(-probs_span(p, t, pred.classes, F(s), sm, next, &s));
          have_s = next != nullptr;
          continue;
        }
      }
      // The statistics in their own frame; the loss inlined (out of line it measured 1.5x slower
      // per row on AVX-512 and AVX2).
      const RowStats st = categorical_stats(pred, r, params.from_logits);
      loss[r] = categorical_row_loss(pred, truth, r, st, params, sm);
    }
  }

  // sum over k of t'_k log clip(p_k / total) (no NaN q: total finite and non-zero), smoothed
  // t' = t scale + offset summed as scale sum(t L) + offset sum(L): one multiply-add per element
  // less than smoothing each t. Four vectors per trip through log_core_n; float lanes flushed into
  // doubles every 64 vectors. With next != nullptr, also *next_sum = the sum of next[0..n) (the
  // next row's total): its loads from L2/L3 then overlap this row's arithmetic instead of forming a
  // pass of their own (measured 18% of the row's time on AVX-512).
  static double probs_span(const float* p, const float* t, std::size_t n, const F& total, const Smooth& sm,
                           const float* next, float* next_sum) noexcept {
    F tl0(0.0f), tl1(0.0f), l0(0.0f), s0(0.0f);
    double sum_tl = 0.0, sum_l = 0.0, sum_next = 0.0;
    std::size_t i = 0;
    unsigned since = 0;
    const bool with_next = next != nullptr;
    // The quotients one block ahead: the division's latency then overlaps the previous block's log.
    F q[4];
    if (4 * W <= n) for (std::size_t k = 0; k < 4; ++k) q[k] = clip(simd::div<A>(F::load_unaligned(p + k * W), total));
    for (; i + 4 * W <= n; i += 4 * W) {
      F v[4] = {q[0], q[1], q[2], q[3]};
      const float* ahead = i + 8 * W <= n ? p + i + 4 * W : p;  // unconditional: q stays in registers
      for (std::size_t k = 0; k < 4; ++k) q[k] = clip(simd::div<A>(F::load_unaligned(ahead + k * W), total));
      log_core_n(v);
      tl0 = simd::fma<A>(F::load_unaligned(t + i), v[0], tl0);
      tl1 = simd::fma<A>(F::load_unaligned(t + i + W), v[1], tl1);
      tl0 = simd::fma<A>(F::load_unaligned(t + i + 2 * W), v[2], tl0);
      tl1 = simd::fma<A>(F::load_unaligned(t + i + 3 * W), v[3], tl1);
      l0 += (v[0] + v[1]) + (v[2] + v[3]);
      if (with_next) {
        s0 += (F::load_unaligned(next + i) + F::load_unaligned(next + i + W)) +
              (F::load_unaligned(next + i + 2 * W) + F::load_unaligned(next + i + 3 * W));
      }
      if (++since == 16) {
        sum_tl += static_cast<double>(xsimd::hadd(tl0 + tl1));
        sum_l += static_cast<double>(xsimd::hadd(l0));
        if (with_next) sum_next += static_cast<double>(xsimd::hadd(s0));
        tl0 = tl1 = l0 = s0 = F(0.0f);
        since = 0;
      }
    }
    if (i < n) {  // the last 1 .. 4W - 1 elements as one more block (single vectors would expose the latency)
      F v[4], tv[4];
      for (std::size_t k = 0; k < 4; ++k) {
        const std::size_t at = i + k * W, left = at < n ? n - at : 0;
        v[k] = left >= W ? F::load_unaligned(p + at) : left > 0 ? simd::load_partial<A>(p + at, left, 0.5f) : F(0.5f);
        tv[k] = left >= W ? F::load_unaligned(t + at) : left > 0 ? simd::load_partial<A>(t + at, left, 0.0f) : F(0.0f);
        if (with_next && left > 0) s0 += left >= W ? F::load_unaligned(next + at) : simd::load_partial<A>(next + at, left, 0.0f);
        v[k] = clip(simd::div<A>(v[k], total));
      }
      log_core_n(v);
      for (std::size_t k = 0; k < 4; ++k) {
        const std::size_t at = i + k * W, left = at < n ? n - at : 0;
        tl0 = simd::fma<A>(tv[k], v[k], tl0);  // padding: t = 0
        l0 += left >= W ? v[k] : tail_mask_zero(v[k], left);
      }
    }
    if (with_next) *next_sum = static_cast<float>(sum_next + static_cast<double>(xsimd::hadd(s0)));
    sum_tl += static_cast<double>(xsimd::hadd(tl0 + tl1));
    sum_l += static_cast<double>(xsimd::hadd(l0));
    if (!sm.on) return sum_tl;
    return static_cast<double>(sm.scale_f) * sum_tl + static_cast<double>(sm.offset_f) * sum_l;
  }

  [[gnu::always_inline]] static float categorical_row_loss(const Rows& pred, const Rows& truth, std::size_t r, const RowStats& st,
                                                           const LossParams& params, const Smooth& sm) noexcept {
    {
      double acc = 0.0;
      if (params.from_logits) {
        const F mv(st.m), log_s(st.log_s);
        for_chunks2(pred, truth, r, [&](const float* p, const float* t, std::size_t n, std::size_t) {
          acc += span_sum2(p, t, n, [&](const F& z, const F& tk) { return sm.apply(tk) * (log_s - (z - mv)); });
        });
        return static_cast<float>(acc);
      } else {
        const F total(st.s);
        // q = p / s is NaN only for 0/0 or inf/inf: with s finite and non-zero no element can be
        // NaN (a NaN or inf p would have made s NaN or inf), so the NaN guard is skipped.
        const bool guard = !(std::isfinite(st.s) && st.s != 0.0f);
        for_chunks2(pred, truth, r, [&](const float* p, const float* t, std::size_t n, std::size_t) {
          if (guard) {
            acc += span_sum2(p, t, n, [&](const F& v, const F& tk) {
              const F q = clip(simd::div<A>(v, total));
              return sm.apply(tk) * log_core(q) + (q - q);
            });
          } else {
            acc += probs_span(p, t, n, total, sm, nullptr, nullptr);
          }
        });
        return static_cast<float>(-acc);
      }
    }
  }

  // Per-class shares: row by row for every layout (a reporting path, not a hot one).
  [[gnu::cold]] static void categorical_class_shares(const Rows& pred, const Rows& truth, const LossParams& params,
                                       const float* row_weight, double* class_total) noexcept {
    for (std::size_t r = 0; r < pred.rows; ++r) {
      const double w = row_weight != nullptr ? static_cast<double>(row_weight[r]) : 1.0;
      const RowStats st = categorical_stats(pred, r, params.from_logits);  // a sibling frame of the shares'
      categorical_row_shares(pred, truth, r, st, params, w, class_total);
    }
  }

  [[gnu::noinline]] static void categorical_row_shares(const Rows& pred, const Rows& truth, std::size_t r, const RowStats& st,
                                                       const LossParams& params, double w, double* class_total) noexcept {
    const Smooth sm(params.label_smoothing, pred.classes);
    alignas(64) float share[kBuf];
    {
      const F mv(st.m), log_s(st.log_s), total(st.s);
      const bool logits = params.from_logits;
      for_chunks2(pred, truth, r, [&](const float* p, const float* t, std::size_t n, std::size_t k0) {
        for (std::size_t i0 = 0; i0 < n; i0 += kBuf) {
          const std::size_t len = n - i0 < kBuf ? n - i0 : kBuf;
          for (std::size_t i = 0; i < len; i += W) {
            const std::size_t v = len - i < W ? len - i : W;
            const F x = v == W ? F::load_unaligned(p + i0 + i) : simd::load_partial<A>(p + i0 + i, v, 0.5f);
            const F tk = sm.apply(v == W ? F::load_unaligned(t + i0 + i) : simd::load_partial<A>(t + i0 + i, v, 0.0f));
            F y;
            if (logits) {
              y = tk * (log_s - (x - mv));
            } else {
              const F q = clip(simd::div<A>(x, total));
              y = F(0.0f) - (tk * log_core(q) + (q - q));
            }
            y.store_aligned(share + i);
          }
          for (std::size_t i = 0; i < len; ++i) class_total[k0 + i0 + i] += w * static_cast<double>(share[i]);
        }
      });
    }
  }
};

}  // namespace xent::detail::XENT_KERNEL_NS
