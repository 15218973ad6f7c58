// Short quantized logits rows (int8 / uint8, 4 <= K <= 16 classes, contiguous, row stride <= 16
// bytes) on AVX512-VBMI: the sparse (no label smoothing) and categorical losses from a per-call
// table of the 256 possible terms, read with byte permutes: no exp, and no dequantization per
// element for the sparse loss. Every other ISA, shape or scale keeps the float path (fill_tile,
// categorical_quads). Part of the Kernels<A> chain assembled by kernels/simd_kernels.hpp.
//
// The table (Reductions::byte_table, as table_expsum's for long rows) holds t(b) = exp(z(b) - z_ref)
// for every raw byte b, z(b) the exact dequantized value float32(s (u - zp)) (u = b ^ flip) and
// z_ref = z(u = 255), each within 0.5 ulp + 2^-36 relative; 255 s <= kOnePassRange keeps every term
// a normal float (t >= exp(-64)). Per row, S = sum_k t(b_k) / t(b_max) = sum exp(z_k - m) with the
// max m = z(b_max) found on the bytes (the dequantization is increasing in u): t(b_max) by the same
// lookup, so S is the terms' float sum (at most 16 terms: 4 per lane, then the 4 lanes) divided once.
// Bound (sparse), against the exact loss of the dequantized values: each term within 2^-24 + 2^-36
// relative; S_ref's float sum at most 5 roundings deep (3 over the quads, 2 in block_row_sums);
// t(b_max) and the division: S within 8 2^-24 (first order) relative, so log S within 2^-21
// absolute (S >= 1) before the log's 3.5 ulp; z_label - m and the loss rounded once each (half an
// ulp). tests/test_quantized_logits_short.cpp checks this bound against float64.
//
// Layout: a group of 16 rows is read once, as four 64-byte masked loads (bytes past the block are
// never read; a last group of fewer rows reads zeros for its missing rows, which are dropped, so a
// row's bits never depend on its group). Per quad c (classes c .. c + 3, the last one at K - 4 as
// for_quads, its lanes read already masked off) one register x holds byte 4 r + k = class c + k of
// row r: two vpermt2b (rows 0-7 from the group's first 128 bytes, rows 8-15 from 8 strides on) with
// one index, joined by a blend. The four byte planes of t(x) interleaved back into floats (as
// add_planes) give vector j with block L = row 4 L + j: QuadRows's order, so the per-row sums come
// out of block_row_sums in row order and the truth (float32 QuadRows) lines up with the terms.
#pragma once

#include <atomic>

#include "kernels/simd/q8_quads.hpp"

namespace xent::detail::XENT_KERNEL_NS {

template <class A>
struct Q8Logits : Q8Quads<A> {
  using typename RowAccess<A>::F;
  using typename RowAccess<A>::Quant;
  using RowAccess<A>::W;
  using RowAccess<A>::quantized;

#if XENT_Q8_BYTE_TABLE
  using RowAccess<A>::block_row_sums;
  using RowAccess<A>::byte_table;
  using RowAccess<A>::has_vbmi;
  using RowAccess<A>::kOnePassRange;
  using RowAccess<A>::log_any;
  using RowAccess<A>::store_rows;
  using typename RowAccess<A>::QuadRows;

  // Whether a block of predictions takes this file's kernels (the caller checked use_tile).
  static bool q8_logits_rows(const Rows& pred) noexcept {
    if constexpr (W != 16) {
      return false;
    } else {
      return quantized(pred.type) && pred.class_stride == 1 && pred.classes >= 4 && pred.classes <= 16 &&
             pred.row_stride >= pred.classes && pred.row_stride <= 16 && 255.0f * pred.scale <= kOnePassRange && has_vbmi();
    }
  }

  // The four byte planes of t(v) (v: raw bytes), bits 0-6 by vpermi2b, bit 7 by a blend.
  [[gnu::always_inline, gnu::target("avx512vbmi")]] static inline void planes(const __m512i (&t)[4][4], const __m512i& v,
                                                                               __m512i (&pl)[4]) noexcept {
    const __mmask64 k = _mm512_movepi8_mask(v);
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c)
      pl[c] = _mm512_mask_blend_epi8(k, _mm512_permutex2var_epi8(t[c][0], v, t[c][1]), _mm512_permutex2var_epi8(t[c][2], v, t[c][3]));
  }

  // Four byte planes (or a byte and three zeros) interleaved into floats: f[j] block L holds the
  // four dwords of bytes 16 L + 4 j .. 16 L + 4 j + 3.
  [[gnu::always_inline, gnu::target("avx512vbmi")]] static inline void interleave(const __m512i& p0, const __m512i& p1,
                                                                                   const __m512i& p2, const __m512i& p3,
                                                                                   __m512i (&f)[4]) noexcept {
    const __m512i w0 = _mm512_unpacklo_epi8(p0, p1), w1 = _mm512_unpackhi_epi8(p0, p1);
    const __m512i w2 = _mm512_unpacklo_epi8(p2, p3), w3 = _mm512_unpackhi_epi8(p2, p3);
    f[0] = _mm512_unpacklo_epi16(w0, w2);
    f[1] = _mm512_unpackhi_epi16(w0, w2);
    f[2] = _mm512_unpacklo_epi16(w1, w3);
    f[3] = _mm512_unpackhi_epi16(w1, w3);
  }

  // The per-call constants and a group's bytes, read by Q8Quads's load_group and quad (raw bytes,
  // natural row order: dword r holds row r).
  struct Q8Group {
    const std::uint8_t* base;
    std::size_t total, stride, k_n;  // total: the block's bytes (no read beyond them)
    __m512i idx;                     // byte 4 r + k: (r mod 8) stride + k
    __m512i w[4];                    // the group's two 128-byte windows: rows 0-7, rows 8-15
    __mmask16 keep;                  // float lanes of the last quad (at K - 4) not read by the whole quads

    [[gnu::always_inline, gnu::target("avx512vbmi")]] Q8Group(const Rows& pred) noexcept
        : base(static_cast<const std::uint8_t*>(pred.data)),
          total((pred.rows - 1) * pred.row_stride + pred.classes),
          stride(pred.row_stride),
          k_n(pred.classes),
          idx(Q8Quads<A>::template quad_index<true>(pred.row_stride)) {
      const std::size_t shift = (k_n & ~std::size_t{3}) - (k_n - 4);  // lanes of the last quad read already
      keep = 0;
      for (unsigned l = 0; l < 16; ++l) keep = static_cast<__mmask16>(keep | ((l % 4 >= shift ? 1u : 0u) << l));
    }
    [[gnu::always_inline, gnu::target("avx512vbmi")]] void load(std::size_t r0) noexcept {
      Q8Quads<A>::load_group(base, r0 * stride, stride, total, _mm512_setzero_si512(), w);
    }
    // Byte 4 r + k: class c + k of row r.
    [[gnu::always_inline, gnu::target("avx512vbmi")]] __m512i quad(std::size_t c) const noexcept {
      return Q8Quads<A>::template quad<true>(w, _mm512_add_epi8(idx, _mm512_set1_epi8(static_cast<char>(c))));
    }
    // Byte 4 r of dword r: the byte at offset (r mod 8) stride + low byte of off's dword r.
    [[gnu::always_inline, gnu::target("avx512vbmi")]] __m512i pick(const __m512i& off) const noexcept {
      return _mm512_and_si512(Q8Quads<A>::template quad<true>(w, off), _mm512_set1_epi32(0xff));
    }
  };

  // Per row (dword lane r): max of u = byte ^ flip over x's four bytes of that row, accumulated in top.
  // After the quads: the raw byte of the max, its term t(b_max), and m = z(b_max).
  struct RowMax {
    __m512i raw;  // dword r: the raw byte of row r's max
    F t_max, m;
  };
  [[gnu::always_inline, gnu::target("avx512vbmi")]] static inline RowMax row_max(const __m512i (&t)[4][4], const __m512i& top,
                                                                                  const Quant& q) noexcept {
    const __m512i top16 = _mm512_max_epu8(top, _mm512_srli_epi32(top, 16));
    const __m512i top8 = _mm512_max_epu8(top16, _mm512_srli_epi32(top16, 8));
    const __m512i u = _mm512_and_si512(top8, _mm512_set1_epi32(0xff));
    RowMax out;
    out.raw = _mm512_xor_si512(u, _mm512_set1_epi32(q.flip));
    // The raw byte in every byte of its dword, its planes, and byte q of dword r from plane q.
    const __m512i rep = _mm512_mullo_epi32(out.raw, _mm512_set1_epi32(0x01010101));
    __m512i pl[4];
    planes(t, rep, pl);
    const __m512i b01 = _mm512_mask_blend_epi8(0x2222222222222222ull, pl[0], pl[1]);
    const __m512i b012 = _mm512_mask_blend_epi8(0x4444444444444444ull, b01, pl[2]);
    out.t_max = F(_mm512_castsi512_ps(_mm512_mask_blend_epi8(0x8888888888888888ull, b012, pl[3])));
    out.m = dequantized(u, q);
    return out;
  }

  // float32(s (u - zero)) of dword lanes u: one rounding, bit for bit the scalar dequantize.
  [[gnu::always_inline]] static inline F dequantized(const __m512i& u, const Quant& q) noexcept {
    const F a = F(_mm512_cvtepi32_ps(u)) - q.zero;  // exact
    return simd::rounded<A>(a * q.scale);
  }

  // The table per (type, scale, zero point), kept for the process in a few slots. The kernels are
  // called per block of 64 (sparse) or 32 (categorical) rows, and building the table (~350 vector
  // ops, mostly 512-bit double arithmetic and shuffles) cost ~1.2 ns a row at 4,096 x 10: 40% of the
  // sparse kernel's time, which then did not beat float32 (18.9 against 16.9 us; with the table
  // free: 13.1). A slot counts its readers; a writer takes an idle slot (no reader) by setting
  // kWriter, fills it, and keeps it as its first reader (acquire / release on the count orders the
  // table's reads and writes). A missing key takes an idle slot from a rotating start, so keys used
  // in turn replace each other; with no idle slot a call builds its own table. A table is a pure
  // function of its key: the same bits whichever way. Static storage: no allocation, 4 KiB of .bss
  // in the AVX-512 library only.
  struct alignas(64) TableSlot {
    __m512i t[4][4];
    std::uint64_t key;                 // 0: empty (a scale > 0 never gives 0)
    std::atomic<std::uint32_t> users;  // readers holding the slot, or kWriter while it is (re)filled
  };
  static constexpr std::uint32_t kWriter = 1u << 31;
  static constexpr std::size_t kTableSlots = 4;
  static inline TableSlot table_slots[kTableSlots];
  static inline std::atomic<std::uint32_t> next_slot{0};

  // A reader's hold on the slot unless it is being written; true when taken.
  static bool hold(TableSlot& slot) noexcept {
    std::uint32_t u = slot.users.load(std::memory_order_relaxed);
    while ((u & kWriter) == 0) {
      if (slot.users.compare_exchange_weak(u, u + 1, std::memory_order_acquire, std::memory_order_relaxed)) return true;
    }
    return false;
  }
  static void release(TableSlot* slot) noexcept { slot->users.fetch_sub(1, std::memory_order_release); }

  // A held slot with pred's table (release it after use), or null: build your own.
  [[gnu::noinline]] static TableSlot* cached_table(const Rows& pred) noexcept {
    const std::uint64_t key = (std::uint64_t{float_to_bits(pred.scale)} << 32) |
                              (static_cast<std::uint64_t>(static_cast<std::uint32_t>(pred.zero_point) & 0x1ff) << 1) |
                              (pred.type == DType::qi8 ? 1u : 0u);
    for (TableSlot& slot : table_slots) {
      if (!hold(slot)) continue;
      if (slot.key == key) return &slot;
      release(&slot);
    }
    const std::uint32_t first = next_slot.fetch_add(1, std::memory_order_relaxed);
    for (std::size_t i = 0; i < kTableSlots; ++i) {
      TableSlot& slot = table_slots[(first + i) % kTableSlots];
      std::uint32_t idle = 0;
      if (slot.users.compare_exchange_strong(idle, kWriter, std::memory_order_acquire, std::memory_order_relaxed)) {
        build_table(pred, slot.t);
        slot.key = key;
        slot.users.store(1, std::memory_order_release);  // the writer's own hold
        return &slot;
      }
    }
    return nullptr;
  }

  // A table in memory (a slot's, or the caller's own when no slot is idle: the same bits).
  using Table = __m512i[4][4];
  [[gnu::noinline, gnu::target("avx512vbmi")]] static void build_table(const Rows& pred, Table& t) noexcept { byte_table(Quant(pred), 255, t); }
  // The table as the permutes' memory operands, read again per group: hoisted out of the loop,
  // GCC kept the 16 registers as copies on the stack (frames of 2-2.4 KiB against M1's 4 KiB a call).
  [[gnu::always_inline]] static inline const Table& table_in_memory(const Table& t) noexcept {
    const Table* p = &t;
    __asm__("" : "+r"(p));
    return *p;
  }

  // ---- sparse from logits, no label smoothing --------------------------------------------------

  // The table from a slot, or built in a frame of its own (1 KiB) when no slot is free.
  [[gnu::noinline]] static void sparse_q8_logits(const Rows& pred, const std::int32_t* labels, float* loss) noexcept {
    if (TableSlot* slot = cached_table(pred)) {
      sparse_q8_run(slot->t, pred, labels, loss);
      return release(slot);
    }
    sparse_q8_own(pred, labels, loss);
  }
  [[gnu::noinline]] static void sparse_q8_own(const Rows& pred, const std::int32_t* labels, float* loss) noexcept {
    alignas(64) Table t;
    build_table(pred, t);
    sparse_q8_run(t, pred, labels, loss);
  }

  [[gnu::noinline, gnu::target("avx512vbmi")]] static void sparse_q8_run(const Table& table, const Rows& pred,
                                                                          const std::int32_t* labels, float* loss) noexcept {
    const Quant q(pred);
    Q8Group g(pred);
    const std::size_t k_n = pred.classes;
    const __m512i flip = _mm512_set1_epi8(static_cast<char>(q.flip));
    const __m512i row_off = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7);
    const __m512i row_base = _mm512_mullo_epi32(row_off, _mm512_set1_epi32(static_cast<std::int32_t>(g.stride)));
    const __m512i kv = _mm512_set1_epi32(static_cast<std::int32_t>(k_n));
    for (std::size_t r0 = 0; r0 < pred.rows; r0 += 16) {
      const std::size_t count = pred.rows - r0 < 16 ? pred.rows - r0 : 16;
      const Table& t = table_in_memory(table);
      g.load(r0);
      __m512i top = _mm512_setzero_si512();
      F s[4] = {F(0.0f), F(0.0f), F(0.0f), F(0.0f)};
      for (std::size_t c0 = 0; c0 < k_n; c0 += 4) {  // the quads as for_quads (a lambda would lose the target)
        const bool whole = c0 + 4 <= k_n;
        const __m512i x = g.quad(whole ? c0 : k_n - 4);
        top = _mm512_max_epu8(top, _mm512_xor_si512(x, flip));
        __m512i pl[4], f[4];
        planes(table_in_memory(t), x, pl);
        interleave(pl[0], pl[1], pl[2], pl[3], f);
        const __mmask16 keep = whole ? __mmask16{0xffff} : g.keep;
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j) s[j] = F(_mm512_mask_add_ps(s[j], keep, s[j], _mm512_castsi512_ps(f[j])));
      }
      const RowMax mx = row_max(t, top, q);
      const F s_sum = simd::div<A>(block_row_sums(s), mx.t_max);
      // The label's byte: dword r of the windows at (r mod 8) stride + label; -1 for missing rows.
      const __m512i lab = _mm512_mask_loadu_epi32(_mm512_set1_epi32(-1), static_cast<__mmask16>((1u << count) - 1), labels + r0);
      const __mmask16 valid = _mm512_cmpge_epi32_mask(lab, _mm512_setzero_si512()) & _mm512_cmplt_epi32_mask(lab, kv);
      const __m512i u_label = _mm512_xor_si512(g.pick(_mm512_add_epi32(row_base, lab)), _mm512_set1_epi32(q.flip));
      const F shifted = F(_mm512_maskz_sub_ps(valid, dequantized(u_label, q), mx.m));  // z_label - m; 0 as the float path
      const F out = log_any(s_sum) - shifted;
      store_rows(F(_mm512_maskz_mov_ps(_mm512_cmpge_epi32_mask(lab, _mm512_setzero_si512()), out)), loss + r0, count);
    }
  }

  // ---- categorical from logits -------------------------------------------------------------

  // The truth of a last group of `count` < 16 rows: QuadRows's order, a missing row reading the
  // group's first row (dropped), as QuadRowsPartial but without its offsets table on the stack.
  struct TruthPartial {
    const float* p;
    std::size_t stride, count;
    [[gnu::always_inline]] F vec(std::size_t c, std::size_t j) const noexcept {
      const auto quad = [&](std::size_t b) {
        const std::size_t r = 4 * b + j;
        return _mm_loadu_ps(p + (r < count ? r * stride : 0) + c);
      };
      // (the lane of an insert must be a literal for Clang)
      const __m512 v = _mm512_insertf32x4(_mm512_insertf32x4(_mm512_castps128_ps512(quad(0)), quad(1), 1), quad(2), 2);
      return _mm512_insertf32x4(v, quad(3), 3);
    }
  };
  template <bool kPartial>
  static auto truth_rows(const Rows& truth, std::size_t r0, std::size_t count) noexcept {
    const float* p = static_cast<const float*>(truth.data) + r0 * truth.row_stride;
    if constexpr (kPartial) {
      return TruthPartial{p, truth.row_stride, count};
    } else {
      return QuadRows{p, truth.row_stride};
    }
  }

  // The truth of the group at r0 (float32 rows, QuadRows's order): whole groups and a last one.
  template <bool kPartial>
  [[gnu::always_inline, gnu::target("avx512vbmi")]] static inline F categorical_q8_group(
      const __m512i (&t)[4][4], const Q8Group& g, const Quant& q, const Rows& truth, std::size_t r0, std::size_t count,
      const F& scale, const F& offset) noexcept {
    const auto y = truth_rows<kPartial>(truth, r0, count);
    const std::size_t k_n = g.k_n;
    const __m512i flip = _mm512_set1_epi8(static_cast<char>(q.flip));
    // Two passes over the quads (each re-read from the windows: 3 shuffles; kept, they took a
    // kilobyte of stack): the row max, then the sums.
    __m512i top = _mm512_setzero_si512();
    for (std::size_t c0 = 0; c0 < k_n; c0 += 4) top = _mm512_max_epu8(top, _mm512_xor_si512(g.quad(c0 + 4 <= k_n ? c0 : k_n - 4), flip));
    const RowMax mx = row_max(t, top, q);
    const F mb[4] = {simd::block_broadcast<0, A>(mx.m), simd::block_broadcast<1, A>(mx.m), simd::block_broadcast<2, A>(mx.m),
                     simd::block_broadcast<3, A>(mx.m)};
    F s[4] = {F(0.0f), F(0.0f), F(0.0f), F(0.0f)}, ts[4] = {s[0], s[0], s[0], s[0]}, acc[4] = {s[0], s[0], s[0], s[0]};
    const __m512i zero = _mm512_setzero_si512();
    for (std::size_t c0 = 0; c0 < k_n; c0 += 4) {
      const bool whole = c0 + 4 <= k_n;
      const std::size_t c = whole ? c0 : k_n - 4;
      const __mmask16 keep = whole ? __mmask16{0xffff} : g.keep;
      const __m512i x = g.quad(c);
      __m512i pl[4], f[4], u[4];
      planes(table_in_memory(t), x, pl);
      interleave(pl[0], pl[1], pl[2], pl[3], f);
      interleave(_mm512_xor_si512(x, flip), zero, zero, zero, u);
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) {
        const F z = dequantized(u[j], q) - mb[j];
        const F tk = simd::fma<A>(y.vec(c, static_cast<std::size_t>(j)), scale, offset);
        s[j] = F(_mm512_mask_add_ps(s[j], keep, s[j], _mm512_castsi512_ps(f[j])));
        ts[j] = F(_mm512_mask_add_ps(ts[j], keep, ts[j], tk));
        acc[j] = F(_mm512_mask3_fmadd_ps(tk, z, acc[j], keep));
      }
    }
    // sum t' (log S - (z - m)) = log S * sum t' - sum t' (z - m)
    const F s_sum = simd::div<A>(block_row_sums(s), mx.t_max);
    return log_any(s_sum) * block_row_sums(ts) - block_row_sums(acc);
  }

  [[gnu::noinline]] static void categorical_q8_logits(const Rows& pred, const Rows& truth, const LossParams& params,
                                                     float* loss) noexcept {
    if (TableSlot* slot = cached_table(pred)) {
      categorical_q8_run(slot->t, pred, truth, params, loss);
      return release(slot);
    }
    categorical_q8_own(pred, truth, params, loss);
  }
  [[gnu::noinline]] static void categorical_q8_own(const Rows& pred, const Rows& truth, const LossParams& params,
                                                   float* loss) noexcept {
    alignas(64) Table t;
    build_table(pred, t);
    categorical_q8_run(t, pred, truth, params, loss);
  }

  // Whole groups, then a last group of fewer rows in a sibling frame (its partial truth offsets).
  template <bool kPartial>
  [[gnu::noinline, gnu::target("avx512vbmi")]] static void categorical_q8_rows(const Table& table, const Rows& pred,
                                                                                const Rows& truth, const LossParams& params,
                                                                                float* loss, std::size_t r0) noexcept {
    const Quant q(pred);
    Q8Group g(pred);
    const typename RowAccess<A>::Smooth sm(params.label_smoothing, pred.classes);
    const F scale = sm.on ? sm.scale : F(1.0f), offset = sm.on ? sm.offset : F(0.0f);  // t * 1 + 0 == t
    if constexpr (kPartial) {
      const std::size_t count = pred.rows - r0;
      g.load(r0);
      store_rows(categorical_q8_group<true>(table_in_memory(table), g, q, truth, r0, count, scale, offset), loss + r0, count);
    } else {
      for (; r0 + 16 <= pred.rows; r0 += 16) {
        g.load(r0);
        store_rows(categorical_q8_group<false>(table_in_memory(table), g, q, truth, r0, 16, scale, offset), loss + r0, 16);
      }
    }
  }
  static void categorical_q8_run(const Table& t, const Rows& pred, const Rows& truth, const LossParams& params,
                                 float* loss) noexcept {
    const std::size_t whole = pred.rows - pred.rows % 16;
    if (whole > 0) categorical_q8_rows<false>(t, pred, truth, params, loss, 0);
    if (whole < pred.rows) categorical_q8_rows<true>(t, pred, truth, params, loss, whole);
  }
#else
  static bool q8_logits_rows(const Rows&) noexcept { return false; }
  static void sparse_q8_logits(const Rows&, const std::int32_t*, float*) noexcept {}
  static void categorical_q8_logits(const Rows&, const Rows&, const LossParams&, float*) noexcept {}
#endif
};

}  // namespace xent::detail::XENT_KERNEL_NS
