// Row access over a Rows block: a row as contiguous float32 chunks (widened, dequantized or gathered otherwise),
// a row's max and S, and lanes as rows: W rows at once, class by class, from strided data, from
// stack tiles (short contiguous rows transposed) or in four-class blocks (*_quads). Lane sums: a
// compensated float sum every 16 terms; quads: float sums of at most 16 terms per lane, then 4.
// Part of the Kernels<A> chain assembled by kernels/simd_kernels.hpp (one copy per ISA namespace).
#pragma once

#include "kernels/simd/reductions.hpp"
#include "kernels/half_bits.hpp"
#include "kernels/kernel_table.hpp"

namespace xent::detail::XENT_KERNEL_NS {

// Stack buffers (floats each): widened chunks, and transposed tiles of short rows (16 classes on
// AVX-512, 32 on AVX2, 64 on SSE2/NEON; smaller tiles send mid-size rows row by row, 1.5-3x slower).
// Each public call stays under 4 KiB of stack (-fstack-usage), the caller's row blocks included.
constexpr std::size_t kBuf = 64;
constexpr std::size_t kTile = 256;
// Categorical tiles come in pairs (predictions and truth) and sit deepest in the chain: smaller ones
// keep a weighted 16-bit update under 4 KiB (measured 4415 B with 256). Wider rows go row by row.
constexpr std::size_t kCatTile = 160;
// Rows per batch of per-row logs in the row-by-row path.
constexpr std::size_t kRowBatch = 32;

template <class A>
struct RowAccess : Reductions<A> {
  using typename Reductions<A>::B;
  using typename Reductions<A>::F;
  using typename Reductions<A>::I;
  template <bool kF16>
  using Src16 = typename Reductions<A>::template Src16<kF16>;
  using typename Reductions<A>::SrcF32;
  using typename Reductions<A>::SrcQ8;
  using typename Reductions<A>::Quant;
  using Reductions<A>::W;
  using Reductions<A>::quantized;
  using Reductions<A>::quant_max_sum;
  using Reductions<A>::max_sum;
  using Reductions<A>::span_expsum;
  using Reductions<A>::span_max;
  using Reductions<A>::span_sum;

  // ---- reading rows: a row as contiguous float32 chunks --------------------------------------

  // Elements [k0, k0 + n) of row r as floats: the data itself when it is contiguous float32,
  // otherwise widened (or gathered) into buf (n <= kBuf).
  [[gnu::noinline]] static const float* chunk(const Rows& rows, std::size_t r, std::size_t k0, std::size_t n, float* buf) noexcept {
    const std::size_t off = r * rows.row_stride + k0 * rows.class_stride;
    if (rows.class_stride == 1) {
      if (rows.type == DType::f32) return static_cast<const float*>(rows.data) + off;
      if (rows.type == DType::f16 || rows.type == DType::bf16) {
        const std::uint16_t* h = static_cast<const std::uint16_t*>(rows.data) + off;
        widen_into(h, buf, n, rows.type == DType::f16);
        return buf;
      }
      if (quantized(rows.type)) {
        widen_into(static_cast<const std::uint8_t*>(rows.data) + off, buf, n, Quant(rows));
        return buf;
      }
    }
    for (std::size_t i = 0; i < n; ++i) buf[i] = load_element(rows.data, rows.type, off + i * rows.class_stride, rows.scale, rows.zero_point);
    return buf;
  }

  // Sum of f(x) over row r: straight from the bytes of a contiguous quantized row, else over chunks
  // (a contiguous float32 row is one chunk, the data itself).
  template <class Fn>
  static double row_sum(const Rows& rows, std::size_t r, Fn&& f) noexcept {
    if (rows.class_stride == 1 && quantized(rows.type)) return row_sum_q8(rows, r, f);
    double s = 0.0;
    for_chunks(rows, r, [&s, &f](const float* p, std::size_t n, std::size_t) { s += span_sum(p, n, f); });
    return s;
  }
  template <class Fn>  // its own frame, as row_max_sum_q8
  [[gnu::noinline]] static double row_sum_q8(const Rows& rows, std::size_t r, const Fn& f) noexcept {
    return span_sum(SrcQ8{static_cast<const std::uint8_t*>(rows.data) + r * rows.row_stride, Quant(rows)}, rows.classes, f);
  }

  static std::size_t chunk_length(const Rows& rows) noexcept {
    return rows.class_stride == 1 && rows.type == DType::f32 ? rows.classes : kBuf;
  }

  // fn(p, n, k0) over the chunks of row r.
  template <class Fn>
  static void for_chunks(const Rows& rows, std::size_t r, Fn&& fn) noexcept {
    alignas(64) float buf[kBuf];
    const std::size_t len = chunk_length(rows);
    for (std::size_t k0 = 0; k0 < rows.classes; k0 += len) {
      const std::size_t n = rows.classes - k0 < len ? rows.classes - k0 : len;
      fn(chunk(rows, r, k0, n, buf), n, k0);
    }
  }

  // fn(p, t, n, k0) over matching chunks of the same row of two blocks.
  template <class Fn>
  static void for_chunks2(const Rows& a, const Rows& b, std::size_t r, Fn&& fn) noexcept {
    alignas(64) float buf_a[kBuf];
    alignas(64) float buf_b[kBuf];
    const std::size_t la = chunk_length(a), lb = chunk_length(b);
    const std::size_t len = la < lb ? la : lb;
    for (std::size_t k0 = 0; k0 < a.classes; k0 += len) {
      const std::size_t n = a.classes - k0 < len ? a.classes - k0 : len;
      fn(chunk(a, r, k0, n, buf_a), chunk(b, r, k0, n, buf_b), n, k0);
    }
  }

  static void widen_into(const std::uint16_t* h, float* out, std::size_t n, bool f16) noexcept {
    std::size_t i = 0;
    if (f16) {
      for (; i + W <= n; i += W) simd::widen_f16<A>(h + i).store_unaligned(out + i);
      for (; i < n; ++i) out[i] = f16_bits_to_float(h[i]);
    } else {
      for (; i + W <= n; i += W) simd::widen_bf16<A>(h + i).store_unaligned(out + i);
      for (; i < n; ++i) out[i] = bf16_bits_to_float(h[i]);
    }
  }

  static void widen_into(const std::uint8_t* b, float* out, std::size_t n, const Quant& q) noexcept {
    std::size_t i = 0;
    for (; i + W <= n; i += W) q.at(b + i).store_unaligned(out + i);
    for (; i < n; ++i) out[i] = q.one(b[i]);
  }

  // One element as float; a dequantized one stays rounded when the caller subtracts from it. Out of
  // line: once per row, and its lane store stays out of the row loops' frames.
  [[gnu::noinline]] static float element(const Rows& rows, std::size_t i) noexcept {
    const float v = load_element(rows.data, rows.type, i, rows.scale, rows.zero_point);
    return quantized(rows.type) ? simd::lane0<A>(simd::rounded<A>(F(v))) : v;
  }

  // Two sibling frames: the contiguous float rows, and the strided / integer ones with their buffer.
  static void row_max_sum(const Rows& rows, std::size_t r, float* m_out, float* s_out) noexcept {
    if (rows.class_stride == 1 && (rows.type == DType::f32 || rows.type == DType::f16 || rows.type == DType::bf16 ||
                                   quantized(rows.type))) {
      row_max_sum_contiguous(rows, r, m_out, s_out);
    } else {
      row_max_sum_chunked(rows, r, m_out, s_out);
    }
  }

  [[gnu::noinline]] static void row_max_sum_contiguous(const Rows& rows, std::size_t r, float* m_out, float* s_out) noexcept {
    const std::size_t off = r * rows.row_stride;
    const auto* h = static_cast<const std::uint16_t*>(rows.data) + off;
    if (rows.type == DType::f32) return max_sum(SrcF32{static_cast<const float*>(rows.data) + off}, rows.classes, m_out, s_out);
    if (rows.type == DType::f16) return max_sum(Src16<true>{h}, rows.classes, m_out, s_out);
    if (quantized(rows.type)) return row_max_sum_q8(rows, r, m_out, s_out);
    max_sum(Src16<false>{h}, rows.classes, m_out, s_out);  // bf16
  }

  // Its own frame: inlined above, its vectors' spills made the float rows' frame ten times larger.
  [[gnu::noinline]] static void row_max_sum_q8(const Rows& rows, std::size_t r, float* m_out, float* s_out) noexcept {
    quant_max_sum(static_cast<const std::uint8_t*>(rows.data) + r * rows.row_stride, rows, m_out, s_out);
  }

  // Strided or integer rows (not a hot path, so compiled for size): two passes over widened chunks.
  [[gnu::cold]] static void row_max_sum_chunked(const Rows& rows, std::size_t r, float* m_out, float* s_out) noexcept {
    F mv(-kInf);
    for_chunks(rows, r, [&mv](const float* p, std::size_t n, std::size_t) { mv = span_max(SrcF32{p}, n, mv); });
    const float m = simd::hmax<A>(mv);
    double s = 0.0;
    for_chunks(rows, r, [&s, m](const float* p, std::size_t n, std::size_t) { s += span_expsum(SrcF32{p}, n, m); });
    *m_out = m;
    *s_out = static_cast<float>(s);
  }

  // ---- lanes as rows: W rows at once, class by class -----------------------------------------

  // Class k of rows r0 .. r0 + count - 1 (count <= W) as one vector; missing lanes read `fill`.
  struct Lanes {
    const void* data;
    DType type;
    std::size_t row_stride, class_stride, r0, count;
    float fill;
    float scale = 1.0f;  // quantized types only
    std::int32_t zero_point = 0;

    // Float32 lanes known to be full (tiles, or a full group of interleaved float32): a plain load.
    F load(std::size_t k) const noexcept { return F::load_unaligned(static_cast<const float*>(data) + r0 + k * class_stride); }
    bool fast() const noexcept { return count == W && row_stride == 1 && type == DType::f32; }
    // kFast: the caller checked fast(), so no call to get_other (whose call makes GCC spill every
    // live vector around it: a bigger frame).
    template <bool kFast>
    F at(std::size_t k) const noexcept { return kFast ? load(k) : get(k); }

    // Inline only the common case (float32 lanes: tiles and interleaved float32); the rest is one
    // out-of-line copy, which keeps the library small (M2).
    F get(std::size_t k) const noexcept {
      if (count == W && row_stride == 1 && type == DType::f32) {
        return F::load_unaligned(static_cast<const float*>(data) + r0 + k * class_stride);
      }
      return get_other(k);
    }

    // Class k of row r0 + j (the value lane j of at<kFast>(k) holds).
    float element(std::size_t k, std::size_t j) const noexcept {
      return j < count ? load_element(data, type, (r0 + j) * row_stride + k * class_stride, scale, zero_point) : fill;
    }

    [[gnu::noinline]] F get_other(std::size_t k) const noexcept {
      const std::size_t off = r0 * row_stride + k * class_stride;
      if (count == W && row_stride == 1) {
        if (type == DType::f16) return simd::widen_f16<A>(static_cast<const std::uint16_t*>(data) + off);
        if (type == DType::bf16) return simd::widen_bf16<A>(static_cast<const std::uint16_t*>(data) + off);
        if (quantized(type)) return Quant(type, scale, zero_point).at(static_cast<const std::uint8_t*>(data) + off);
      }
      alignas(64) float lanes[W];
      for (std::size_t j = 0; j < W; ++j) lanes[j] = j < count ? load_element(data, type, off + j * row_stride, scale, zero_point) : fill;
      return F::load_aligned(lanes);
    }
  };

  // One of our own tiles (fill_tile): class k of the W rows at tile + k * W, a stride the compiler
  // knows, so each class vector is one load (Lanes reads class_stride and r0 from memory: on NEON
  // three instructions a load, measured under qemu).
  struct TileLanes {
    const float* tile;
    template <bool kFast>
    F at(std::size_t k) const noexcept { return F::load_aligned(tile + k * W); }
    float element(std::size_t k, std::size_t j) const noexcept { return tile[k * W + j]; }
  };

  // A float sum per lane: a float partial sum added into a compensated (TwoSum) total by flush(),
  // which the callers do every kLaneChunk terms (for_lane_chunks) and before result().
  struct LaneSum {
    F hi = F(0.0f), lo = F(0.0f), part = F(0.0f);
    void add(const F& v) noexcept { part += v; }
    void flush() noexcept {
      const F t = hi + part;
      const F bp = t - hi;
      lo += (hi - (t - bp)) + (part - bp);
      hi = t;
      part = F(0.0f);
    }
    F result() const noexcept {
      return xsimd::select(xsimd::isinf(hi), hi, hi + lo);  // an infinite total leaves lo NaN
    }
  };
  static constexpr std::size_t kLaneChunk = 16;

  // fn(k) for k in [0, k_n), then flush() after every kLaneChunk classes and at the end.
  template <class Fn, class Flush>
  [[gnu::always_inline]] static void for_lane_chunks(std::size_t k_n, Fn&& fn, Flush&& flush) noexcept {
    for (std::size_t k0 = 0; k0 < k_n; k0 += kLaneChunk) {
      const std::size_t k1 = k_n - k0 < kLaneChunk ? k_n : k0 + kLaneChunk;
      for (std::size_t k = k0; k < k1; ++k) fn(k);
      flush();
    }
  }

  // The rows of a contiguous block with few classes, transposed into a stack tile so that the
  // lanes-as-rows code runs on it: tile[k * W + j] = element (r0 + j, k). Float32 rows go through
  // registers four classes at a time (simd::store_columns), 16-bit ones element by element.
  [[gnu::noinline]] static TileLanes fill_tile(const Rows& rows, std::size_t r0, std::size_t count, float fill, float* tile) noexcept {
    const std::size_t k_n = rows.classes;
    if (rows.type == DType::f32 && count == W && k_n >= 4) {
      quads_to_tile(static_cast<const float*>(rows.data) + r0 * rows.row_stride, rows.row_stride, k_n, tile);
    } else if (quantized(rows.type) && count == W && k_n >= 4) {
      quads_to_tile(QuadRowsQ8{static_cast<const std::uint8_t*>(rows.data) + r0 * rows.row_stride, rows.row_stride, Quant(rows)},
                    k_n, tile);
    } else {
      for (std::size_t j = 0; j < W; ++j) {
        const std::size_t off = (r0 + j) * rows.row_stride;
        for (std::size_t k = 0; k < k_n; ++k) tile[k * W + j] = j < count ? load_element(rows.data, rows.type, off + k, rows.scale, rows.zero_point) : fill;
      }
    }
    return TileLanes{tile};
  }

  // Rows of K >= 4 classes read four classes at a time: whole quads c = 0, 4, .. while c + 4 <= K,
  // then, when K is not a multiple of 4, the quad at K - 4 (its lanes below c were read already),
  // so no read leaves its row.
  static B last_quad_lanes(const F& cls, std::size_t c, std::size_t k_n) noexcept {  // the lanes not read yet
    return (cls >= F(static_cast<float>(c))) & (cls < F(static_cast<float>(k_n)));
  }

  // Each lane's class within its quad.
  alignas(64) static constexpr float kQuadIota[16] = {0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3};

  // fn(c0, tail, real) over a row block's quads in that order: the whole ones with tail false, then the
  // last one at K - 4 with tail true (a std::bool_constant) and real marking the lanes not read yet.
  template <class Fn>
  [[gnu::always_inline]] static void for_quads(std::size_t k_n, Fn&& fn) noexcept {
    std::size_t c = 0;
    for (; c + 4 <= k_n; c += 4) fn(c, std::false_type{}, B(true));
    if (c < k_n) {
      const F cls = F::load_aligned(kQuadIota) + F(static_cast<float>(k_n - 4));
      fn(k_n - 4, std::true_type{}, last_quad_lanes(cls, c, k_n));
    }
  }

  // v, or in a last quad's lanes already read, fill.
  template <bool kTail>
  [[gnu::always_inline]] static F unread(std::bool_constant<kTail>, const B& real, const F& v, const F& fill) noexcept {
    if constexpr (kTail) return xsimd::select(real, v, fill);
    return v;
  }

  // Classes c .. c + 3 of W float32 rows at p (stride apart): vector i's block b holds row i + 4b.
  struct QuadRows {
    const float* p;
    std::size_t stride;
    F vec(std::size_t c, std::size_t i) const noexcept { return simd::join_rows<A>(p + c + i * stride, 4 * stride); }
    QuadRows from(std::size_t r0) const noexcept { return QuadRows{p + r0 * stride, stride}; }
  };

  // A block's last group of only `count` < W rows, read as a whole group: row j at off[j], a missing
  // row reading the group's first row (nothing past the block is read; its lane is dropped), so
  // every real row goes through the same arithmetic as in a whole group and its loss does not
  // depend on the rows beside it. The offsets sit in a table: computed per load, their
  // bookkeeping spilled and made the frame three times larger (AVX-512).
  struct PartialOffsets {
    std::size_t off[W];
    PartialOffsets(std::size_t stride, std::size_t count) noexcept {
      for (std::size_t j = 0; j < W; ++j) off[j] = j < count ? j * stride : 0;
    }
  };
  struct QuadRowsPartial : PartialOffsets {
    const float* p;
    QuadRowsPartial(const float* base, std::size_t stride, std::size_t count) noexcept : PartialOffsets(stride, count), p(base) {}
    F vec(std::size_t c, std::size_t i) const noexcept {
      simd::quad<A> q[W / 4];
      for (std::size_t b = 0; b < W / 4; ++b) q[b] = simd::quad_load<A>(p + c + this->off[i + 4 * b]);
      return simd::join_quads<A>(q, 1);
    }
  };

  // Columns of W float32 rows of K >= 4 classes at p (stride apart) into the tile, four at a time
  // (simd::store_columns).
  [[gnu::always_inline]] static void quads_to_tile(const float* p, std::size_t stride, std::size_t k_n, float* tile) noexcept {
    for (std::size_t c = 0; c < k_n; c += 4) {
      if (c + 4 > k_n) c = k_n - 4;
      simd::store_columns<A>(p + c, stride, tile + c * W);
    }
  }

  // The same of W quantized rows, dequantized (the four bytes of each of W / 4 rows widened at once).
  struct QuadRowsQ8 {
    const std::uint8_t* p;
    std::size_t stride;
    Quant q;
    F vec(std::size_t c, std::size_t i) const noexcept { return q.apply(simd::join_rows_u8<A>(p + c + i * stride, 4 * stride, q.flip)); }
    QuadRowsQ8 from(std::size_t r0) const noexcept { return QuadRowsQ8{p + r0 * stride, stride, q}; }
  };

  // QuadRowsQ8 of a last group of `count` < W rows, as QuadRowsPartial.
  struct QuadRowsQ8Partial : PartialOffsets {
    const std::uint8_t* p;
    Quant q;
    QuadRowsQ8Partial(const std::uint8_t* base, std::size_t stride, std::size_t count, const Quant& quant) noexcept
        : PartialOffsets(stride, count), p(base), q(quant) {}
    F vec(std::size_t c, std::size_t i) const noexcept {
      alignas(16) std::uint8_t bytes[W];
      for (std::size_t b = 0; b < W / 4; ++b) std::memcpy(bytes + 4 * b, p + c + this->off[i + 4 * b], 4);
      return q.apply(simd::join_rows_u8<A>(bytes, 4, q.flip));
    }
  };

  // The same into the tile: each vector i holds classes c .. c + 3 of rows i + 4b; one in-block
  // transpose turns them into four columns.
  [[gnu::always_inline]] static void quads_to_tile(const QuadRowsQ8& x, std::size_t k_n, float* tile) noexcept {
    F col[4];
    for (std::size_t c = 0; c < k_n; c += 4) {
      if (c + 4 > k_n) c = k_n - 4;
#pragma GCC unroll 4
      for (std::size_t i = 0; i < 4; ++i) col[i] = x.vec(c, i);
      simd::transpose_blocks<A>(col);
#pragma GCC unroll 4
      for (std::size_t i = 0; i < 4; ++i) col[i].store_aligned(tile + (c + i) * W);
    }
  }

  // A block's rows from r0 as four-class sources: QuadRowsQ8 for quantized rows, else QuadRows;
  // kPartial: the `count` < W rows of a last group (QuadRowsQ8Partial, QuadRowsPartial).
  template <bool kQuant, bool kPartial = false>
  static auto quad_rows(const Rows& rows, std::size_t r0 = 0, std::size_t count = W) noexcept {
    if constexpr (kQuant && kPartial) {
      return QuadRowsQ8Partial{static_cast<const std::uint8_t*>(rows.data) + r0 * rows.row_stride, rows.row_stride, count, Quant(rows)};
    } else if constexpr (kQuant) {
      return QuadRowsQ8{static_cast<const std::uint8_t*>(rows.data) + r0 * rows.row_stride, rows.row_stride, Quant(rows)};
    } else if constexpr (kPartial) {
      return QuadRowsPartial{static_cast<const float*>(rows.data) + r0 * rows.row_stride, rows.row_stride, count};
    } else {
      return QuadRows{static_cast<const float*>(rows.data) + r0 * rows.row_stride, rows.row_stride};
    }
  }

  // Rows [r0, r0 + n) of a contiguous block.
  static Rows rows_from(const Rows& rows, std::size_t r0, std::size_t n) noexcept {
    const std::size_t bytes = rows.type == DType::f32 || rows.type == DType::i32 ? 4
                              : rows.type == DType::i64                         ? 8
                              : quantized(rows.type) || rows.type == DType::u8  ? 1
                                                                                : 2;
    Rows out = rows;
    out.data = static_cast<const unsigned char*>(rows.data) + r0 * rows.row_stride * bytes;
    out.rows = n;
    return out;
  }

  // Whatever the number of rows, a single one included: a row's loss must not depend on how many
  // rows share its block (the metric's chunking), so every row of a shape takes the same path.
  static bool use_tile(const Rows& rows) noexcept { return rows.class_stride == 1 && rows.classes * W <= kTile; }

  static F load_labels(const std::int32_t* labels, std::size_t count) noexcept {
    if (count == W) return xsimd::to_float(I::load_unaligned(labels));
    alignas(64) float lanes[W];
    for (std::size_t j = 0; j < W; ++j) lanes[j] = j < count ? static_cast<float>(labels[j]) : -1.0f;
    return F::load_aligned(lanes);
  }

  static void store_rows(const F& v, float* out, std::size_t count) noexcept {
    if (count == W) {
      v.store_unaligned(out);
    } else {
      simd::store_partial<A>(v, out, count);
    }
  }

  // Row sums of four-class blocks: block b of v[i] holds row i + 4b.
  static F block_row_sums(F* v) noexcept {
    simd::transpose_blocks<A>(v);
    return (v[0] + v[1]) + (v[2] + v[3]);
  }

  // ---- per-row loss formulas on vectors of rows ---------------------------------------------

  struct Smooth {
    F scale, offset;
    float scale_f, offset_f;
    bool on;
    Smooth(float ls, std::size_t k) noexcept
        : scale(1.0f - ls), offset(ls / static_cast<float>(k)), scale_f(1.0f - ls), offset_f(ls / static_cast<float>(k)), on(ls > 0.0f) {}
    F apply(const F& t) const noexcept { return on ? t * scale + offset : t; }
  };
};

}  // namespace xent::detail::XENT_KERNEL_NS
