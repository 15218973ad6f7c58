// The sparse row kernels (integer labels, from probabilities or logits): lanes as rows for short
// rows (tiles, quads, interleaved classes), row by row with batched logs for the others.
// Part of the Kernels<A> chain assembled by kernels/simd_kernels.hpp (one copy per ISA namespace).
#pragma once

#include "kernels/simd/q8_logits.hpp"

namespace xent::detail::XENT_KERNEL_NS {

template <class A>
struct SparseRows : Q8Logits<A> {
  using typename RowAccess<A>::B;
  using typename RowAccess<A>::F;
  using typename RowAccess<A>::LaneSum;
  using typename RowAccess<A>::Lanes;
  using typename RowAccess<A>::QuadRows;
  using typename RowAccess<A>::QuadRowsQ8;
  using typename RowAccess<A>::Quant;
  using typename RowAccess<A>::TileLanes;
  using RowAccess<A>::W;
  using RowAccess<A>::block_row_sums;
  using RowAccess<A>::clip;
  using RowAccess<A>::element;
  using RowAccess<A>::exp_sum_term;
  using RowAccess<A>::fill_tile;
  using RowAccess<A>::for_lane_chunks;
  using RowAccess<A>::kQuadIota;
  using RowAccess<A>::kSplitFast;
  using RowAccess<A>::last_quad_lanes;
  using RowAccess<A>::load_labels;
  using RowAccess<A>::quantized;
  using RowAccess<A>::rows_from;
  using RowAccess<A>::row_sum;
  using RowAccess<A>::log_any;
  using RowAccess<A>::log_core;
  using RowAccess<A>::row_max_sum;
  using RowAccess<A>::span_sum;
  using RowAccess<A>::store_rows;
  using RowAccess<A>::use_tile;
  using Q8Logits<A>::q8_logits_rows;
  using Q8Logits<A>::sparse_q8_logits;

  // Sparse from probabilities: log(S) - log(p_label), smoothed: (1-ls) nll + ls (log S - L / K).
  static F sparse_probs_loss(const F& s, const F& p_label, const F& log_sum, float ls, float k) noexcept {
    const F log_s = log_any(s);
    const F nll = log_s - log_any(p_label);
    if (!(ls > 0.0f)) return nll;
    return F(1.0f - ls) * nll + F(ls) * (log_s - simd::div<A>(log_sum, F(k)));
  }

  // Sparse from logits: log(S) - (z_label - m), smoothed with D = sum(z - m).
  static F sparse_logits_loss(const F& s, const F& shifted_label, const F& shifted_sum, float ls, float k) noexcept {
    const F log_s = log_any(s);
    const F nll = log_s - shifted_label;
    if (!(ls > 0.0f)) return nll;
    return F(1.0f - ls) * nll + F(ls) * (log_s - simd::div<A>(shifted_sum, F(k)));
  }

  // ---- the table's row kernels ---------------------------------------------------------------

  // Four-lane ISAs (NEON, SSE2) read the label's element of each row after the class loop instead
  // of selecting it in every class: four scalar loads for the group instead of a compare, a select
  // and an add per class, and the loop keeps three registers fewer (armv7 NEON has 16; measured
  // under qemu: no constant reloaded per class). Wider ISAs keep the select (W loads would cost more).
  static constexpr bool kGatherLabel = W <= 4;

  // Lane j: x's element at (label j, row j), or `none` where the label is negative or missing.
  template <class X>
  static F label_elements(const X& x, const std::int32_t* labels, std::size_t count, std::size_t k_n, float none) noexcept {
    alignas(64) float v[W];
    for (std::size_t j = 0; j < W; ++j) {
      const std::int32_t y = j < count ? labels[j] : -1;
      v[j] = y >= 0 && static_cast<std::size_t>(y) < k_n ? x.element(static_cast<std::size_t>(y), j) : none;
    }
    return F::load_aligned(v);
  }

  // Sparse losses of the rows in lanes x (count <= W rows; labels of those rows); 0 for ignored rows.
  // X: Lanes, or TileLanes for a tile of our own.
  template <bool kFast, class X>
  static F sparse_lanes(const X& x, const std::int32_t* labels, std::size_t count, std::size_t k_n,
                        const LossParams& params) noexcept {
    const float ls = params.label_smoothing;
    const float kf = static_cast<float>(k_n);
    const bool smooth = ls > 0.0f;
    const F lab = load_labels(labels, count);
    F out;
    F kv(0.0f);  // k as a float (exact: K < 2^24)
    if (params.from_logits) {
      F m(-kInf);
      for (std::size_t k = 0; k < k_n; ++k) m = xsimd::max(x.template at<kFast>(k), m);
      LaneSum s;
      F z_label(0.0f);
      for_lane_chunks(
          k_n,
          [&](std::size_t k) {
            const F z = x.template at<kFast>(k) - m;
            s.add(exp_sum_term(z));
            if constexpr (!kGatherLabel) {
              z_label = xsimd::select(lab == kv, z, z_label);
              kv += F(1.0f);
            }
          },
          [&] { s.flush(); });
      if constexpr (kGatherLabel) z_label = label_elements(x, labels, count, k_n, 0.0f) - m;
      LaneSum d;  // smoothing's sum(z - m): its own loop, so the common case pays nothing for it
      if (smooth) {
        for_lane_chunks(
            k_n, [&](std::size_t k) { d.add(x.template at<kFast>(k) - m); }, [&] { d.flush(); });
      }
      out = sparse_logits_loss(s.result(), z_label, smooth ? d.result() : F(0.0f), ls, kf);
    } else {
      LaneSum s, l;
      F p_label(1.0f);
      for_lane_chunks(
          k_n,
          [&](std::size_t k) {
            const F p = clip(x.template at<kFast>(k));
            s.add(p);
            if (smooth) l.add(log_core(p));
            if constexpr (!kGatherLabel) {
              p_label = xsimd::select(lab == kv, p, p_label);
              kv += F(1.0f);
            }
          },
          [&] {
            s.flush();
            l.flush();
          });
      if constexpr (kGatherLabel) p_label = clip(label_elements(x, labels, count, k_n, 1.0f));
      out = sparse_probs_loss(s.result(), p_label, smooth ? l.result() : F(0.0f), ls, kf);
    }
    return xsimd::select(lab < F(0.0f), F(0.0f), out);
  }

  static void sparse_rows(const Rows& pred, const std::int32_t* labels, const LossParams& params, float* loss) noexcept {
    if (use_tile(pred)) {
      sparse_rows_tiled(pred, labels, params, loss);
    } else if (pred.class_stride != 1) {
      sparse_rows_lanes(pred, labels, params, loss);
    } else {
      sparse_rows_by_row(pred, labels, params, loss);
    }
  }

  // Contiguous rows with few classes, transposed W rows at a time into a tile (own frame, as in
  // categorical_rows_tiled).
  // Float32 and quantized probabilities without smoothing take sparse_probs_quads (no tile).
  [[gnu::noinline]] static void sparse_rows_tiled(const Rows& pred, const std::int32_t* labels, const LossParams& params,
                                                  float* loss) noexcept {
    if ((pred.type == DType::f32 || quantized(pred.type)) && !params.from_logits && !(params.label_smoothing > 0.0f) &&
        pred.classes >= 4) {
#if XENT_Q8_BYTE_TABLE
      if (Q8Quads<A>::byte_quads(pred)) return Q8Quads<A>::sparse_probs_q8(pred, labels, loss);  // AVX-512 VBMI + VNNI
#endif
      const std::size_t r0 = sparse_probs_quads(pred, labels, loss);
      if (r0 < pred.rows) sparse_probs_last(pred, r0, labels, loss);  // a sibling frame
    } else if (params.from_logits && !(params.label_smoothing > 0.0f) && q8_logits_rows(pred)) {
      sparse_q8_logits(pred, labels, loss);  // short int8 / uint8 logits on AVX512-VBMI (q8_logits.hpp)
    } else {
      sparse_rows_tile(pred, labels, params, loss);
    }
  }

  [[gnu::noinline]] static void sparse_rows_tile(const Rows& pred, const std::int32_t* labels, const LossParams& params,
                                                 float* loss) noexcept {
    alignas(64) float buf[kTile];
    const float fill = params.from_logits ? 0.0f : 0.5f;
    for (std::size_t r0 = 0; r0 < pred.rows; r0 += W) {
      const std::size_t count = pred.rows - r0 < W ? pred.rows - r0 : W;
      const TileLanes x = fill_tile(pred, r0, count, fill, buf);
      store_rows(sparse_lanes<true>(x, labels + r0, count, pred.classes, params), loss + r0, count);
    }
  }

  // Sparse from float32 probabilities without smoothing, short contiguous rows of K >= 4 classes,
  // W rows at a time and no tile: each vector holds four classes of W / 4 rows (simd::join_quads),
  // and the per-row sums of clip(p) and clip(p_label) come out of one in-block 4x4 transpose.
  // S: at most 16 float terms per lane, then 4 (K <= 64). Returns the rows done: all but a last
  // group of fewer than W, which sparse_probs_last takes. Quantized rows: the same on their
  // dequantized values (QuadRowsQ8).
  static std::size_t sparse_probs_quads(const Rows& pred, const std::int32_t* labels, float* loss) noexcept {
    return quantized(pred.type) ? sparse_probs_quads<true>(pred, labels, loss) : sparse_probs_quads<false>(pred, labels, loss);
  }

  template <bool kQuant>  // one frame per prediction type (see categorical_quads)
  [[gnu::noinline]] static std::size_t sparse_probs_quads(const Rows& pred, const std::int32_t* labels, float* loss) noexcept {
    const auto x = RowAccess<A>::template quad_rows<kQuant>(pred);
    std::size_t r0 = 0;
    for (; r0 + W <= pred.rows; r0 += W) store_rows(sparse_probs_group(x.from(r0), pred.classes, labels + r0, W), loss + r0, W);
    return r0;
  }

  // The last group of fewer than W rows, from r0: the same arithmetic as a whole group, its missing
  // rows ignored (QuadRowsPartial), so a row's loss does not depend on the number of rows in its block.
  [[gnu::noinline]] static void sparse_probs_last(const Rows& pred, std::size_t r0, const std::int32_t* labels, float* loss) noexcept {
    const std::size_t count = pred.rows - r0;
    const F out = quantized(pred.type)
                      ? sparse_probs_group(RowAccess<A>::template quad_rows<true, true>(pred, r0, count), pred.classes, labels + r0, count)
                      : sparse_probs_group(RowAccess<A>::template quad_rows<false, true>(pred, r0, count), pred.classes, labels + r0, count);
    store_rows(out, loss + r0, count);
  }

  template <class X>
  [[gnu::always_inline]] static F sparse_probs_group(const X& x, std::size_t k_n, const std::int32_t* labels, std::size_t count) noexcept {
    const F lab = load_labels(labels, count);  // missing rows: -1, ignored
    const F lb[4] = {simd::block_broadcast<0, A>(lab), simd::block_broadcast<1, A>(lab), simd::block_broadcast<2, A>(lab),
                     simd::block_broadcast<3, A>(lab)};
    F s[4], pl[4];
    for (std::size_t i = 0; i < 4; ++i) s[i] = pl[i] = F(0.0f);
    F cls = F::load_aligned(kQuadIota);
    std::size_t c = 0;
    // Eight classes at a time (join_rows8) gains only on AVX-512; its lo and hi are the next two
    // quads' vectors, added in the same order, so a partial group (four at a time) gives the same bits.
    if constexpr (std::is_same_v<X, QuadRows>) {
      for (; W == 16 && c + 8 <= k_n; c += 8) {
#pragma GCC unroll 4
        for (std::size_t i = 0; i < 4; ++i) {
          F lo, hi;
          simd::join_rows8<A>(x.p + i * x.stride + c, 4 * x.stride, lo, hi);
          const F v = clip(lo), w = clip(hi);
          s[i] += v;
          pl[i] = xsimd::select(lb[i] == cls, v, pl[i]);
          s[i] += w;
          pl[i] = xsimd::select(lb[i] == cls + F(4.0f), w, pl[i]);
        }
        cls += F(8.0f);
      }
    }
    for (; c + 4 <= k_n; c += 4, cls += F(4.0f)) {
#pragma GCC unroll 4
      for (std::size_t i = 0; i < 4; ++i) {
        const F v = clip(x.vec(c, i));  // block b: row i + 4b
        s[i] += v;
        pl[i] = xsimd::select(lb[i] == cls, v, pl[i]);
      }
    }
    if (c < k_n) {
      cls = F::load_aligned(kQuadIota) + F(static_cast<float>(k_n - 4));
      const B real = last_quad_lanes(cls, c, k_n);
      cls = xsimd::select(real, cls, F(-2.0f));  // no label matches the lanes read already
#pragma GCC unroll 4
      for (std::size_t i = 0; i < 4; ++i) {
        const F v = clip(x.vec(k_n - 4, i));
        s[i] += xsimd::select(real, v, F(0.0f));
        pl[i] = xsimd::select(lb[i] == cls, v, pl[i]);
      }
    }
    const B ignored = lab < F(0.0f);
    const F p_label = xsimd::select(ignored, F(1.0f), block_row_sums(pl));
    return xsimd::select(ignored, F(0.0f), log_any(block_row_sums(s)) - log_any(p_label));
  }

  // Interleaved classes: full float32 groups load directly, the rest through get_other.
  [[gnu::noinline]] static void sparse_rows_lanes(const Rows& pred, const std::int32_t* labels, const LossParams& params,
                                                  float* loss) noexcept {
    const float fill = params.from_logits ? 0.0f : 0.5f;
    for (std::size_t r0 = 0; r0 < pred.rows; r0 += W) {
      const std::size_t count = pred.rows - r0 < W ? pred.rows - r0 : W;
      const Lanes x{pred.data, pred.type, pred.row_stride, pred.class_stride, r0, count, fill, pred.scale, pred.zero_point};
      const F out = kSplitFast && x.fast() ? sparse_lanes<true>(x, labels + r0, count, pred.classes, params)
                                           : sparse_lanes<false>(x, labels + r0, count, pred.classes, params);
      store_rows(out, loss + r0, count);
    }
  }

  // Row by row, the per-row logs batched kRowBatch rows at a time (its own frame: see kBuf).
  [[gnu::noinline]] static void sparse_rows_by_row(const Rows& pred, const std::int32_t* labels, const LossParams& params,
                                                   float* loss) noexcept {
    const float ls = params.label_smoothing;
    const float kf = static_cast<float>(pred.classes);
    alignas(64) float a[kRowBatch], b[kRowBatch], c[kRowBatch];
    for (std::size_t r0 = 0; r0 < pred.rows; r0 += kRowBatch) {
      const std::size_t count = pred.rows - r0 < kRowBatch ? pred.rows - r0 : kRowBatch;
      for (std::size_t j = 0; j < kRowBatch; ++j) {
        a[j] = b[j] = 1.0f;  // ignored and missing rows: harmless lanes, zeroed below
        c[j] = 0.0f;
      }
      for (std::size_t j = 0; j < count; ++j) {
        const std::size_t r = r0 + j;
        if (labels[r] < 0) continue;
        sparse_row_terms(pred, r, static_cast<std::size_t>(labels[r]), params, &a[j], &b[j], &c[j]);
      }
      for (std::size_t j = 0; j < count; j += W) {
        const std::size_t n = count - j < W ? count - j : W;
        const F va = F::load_aligned(a + j), vb = F::load_aligned(b + j), vc = F::load_aligned(c + j);
        const F out = params.from_logits ? sparse_logits_loss(va, vb, vc, ls, kf) : sparse_probs_loss(va, vb, vc, ls, kf);
        const F lab = load_labels(labels + r0 + j, n);
        store_rows(xsimd::select(lab < F(0.0f), F(0.0f), out), loss + r0 + j, n);
      }
    }
  }

  // Row r's terms for the sparse formulas: logits: S, z_y - m and (smoothed) sum(z - m);
  // probabilities: S, clip(p_y) and (smoothed) sum(log clip(p)). Inlined: as its own frame it
  // would stack on the batch arrays anyway, with more spills.
  [[gnu::always_inline]] static void sparse_row_terms(const Rows& pred, std::size_t r, std::size_t y, const LossParams& params,
                                                 float* a, float* b, float* c) noexcept {
    const bool smooth = params.label_smoothing > 0.0f;
    if (params.from_logits) {
      float m = 0.0f;
      row_max_sum(pred, r, &m, a);
      *b = element(pred, r * pred.row_stride + y * pred.class_stride) - m;
      if (smooth) {
        const F mv(m);
        *c = static_cast<float>(row_sum(pred, r, [&mv](const F& z) { return z - mv; }));
      }
    } else {
      *a = static_cast<float>(row_sum(pred, r, [](const F& v) { return clip(v); }));
      const double l = smooth ? row_sum(pred, r, [](const F& v) { return log_core(clip(v)); }) : 0.0;
      const float p_label = load_element(pred.data, pred.type, r * pred.row_stride + y * pred.class_stride, pred.scale, pred.zero_point);
      *b = p_label < kEps ? kEps : (p_label > kOneMinusEps ? kOneMinusEps : p_label);
      *c = static_cast<float>(l);
    }
  }
};

}  // namespace xent::detail::XENT_KERNEL_NS
