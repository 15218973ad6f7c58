// The fused per-row loss kernels of the active table against the float64 references of
// kernel_reference.hpp: per-row loss within 1e-6 * max(1, |loss|) + 4 ulp (SEMANTICS.md), for
// sparse/categorical, probabilities/logits, label smoothing, ignored rows, contiguous and
// interleaved layouts, f32/f16/bf16 predictions; quantized int8/uint8 predictions against the
// references on their dequantized values.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "kernel_reference.hpp"
#include "kernels/kernel_table.hpp"
#include "xent/half.hpp"

using xent::detail::DType;
using xent::detail::kernels;
using xent::detail::LossParams;
using xent::detail::Rows;
using xent::test::ulp_of;

namespace {

double loss_tolerance(double ref) { return 1e-6 * std::max(1.0, std::fabs(ref)) + 4 * ulp_of(ref); }

// Within tol of a finite reference; NaN where the reference is NaN (0 / 0: an all-zero
// probability row, which quantized rows meet more often).
bool near(double got, double ref, double tol) { return std::isnan(ref) ? std::isnan(got) : std::fabs(got - ref) <= tol; }

// Quantization parameters of a qi8 / qu8 block.
struct Quant {
  float scale = 1.0f;
  std::int32_t zero_point = 0;
};

// A block of rows stored in some dtype and layout; values() gives what the kernel reads, widened
// (quantized types: x stored as clamp(round(x / scale) + zero_point), read as float32(scale * (q - zp))).
struct Block {
  DType type = DType::f32;
  std::size_t rows = 0, classes = 0, row_stride = 0, class_stride = 0;
  Quant quant;
  std::vector<float> f32;
  std::vector<std::uint16_t> u16;
  std::vector<std::uint8_t> u8;
  std::vector<std::vector<double>> values;  // [row][class]

  // pad: elements between contiguous rows (0: dense rows, the last one ending the allocation).
  Block(const std::vector<std::vector<float>>& v, DType t, bool interleaved, std::size_t pad = 3, Quant q = {})
      : type(t), rows(v.size()), classes(v[0].size()), quant(q) {
    // Interleaved: the rows are consecutive positions of a larger plane (stride > rows), classes apart.
    row_stride = interleaved ? 1 : classes + pad;
    class_stride = interleaved ? rows + 5 : 1;
    const std::size_t size = (rows - 1) * row_stride + (classes - 1) * class_stride + 1;
    f32.assign(size, std::numeric_limits<float>::quiet_NaN());  // padding must never be read as data
    u16.assign(size, 0x7e00);
    u8.assign(size, 0);
    values.assign(rows, std::vector<double>(classes));
    for (std::size_t r = 0; r < rows; ++r) {
      for (std::size_t k = 0; k < classes; ++k) {
        const std::size_t at = r * row_stride + k * class_stride;
        const float x = v[r][k];
        switch (t) {
          case DType::f16: u16[at] = xent::to_float16(x).bits; values[r][k] = xent::to_float(xent::float16{u16[at]}); break;
          case DType::bf16: u16[at] = xent::to_bfloat16(x).bits; values[r][k] = xent::to_float(xent::bfloat16{u16[at]}); break;
          case DType::u8: u8[at] = static_cast<std::uint8_t>(x); values[r][k] = u8[at]; break;
          case DType::qi8:
          case DType::qu8: {
            const double lo = t == DType::qi8 ? -128.0 : 0.0;
            const double s = static_cast<double>(q.scale);
            const double n = std::fmin(std::fmax(std::nearbyint(static_cast<double>(x) / s) + q.zero_point, lo), lo + 255.0);
            u8[at] = static_cast<std::uint8_t>(static_cast<int>(n) & 0xff);  // int8 as its two's complement byte
            values[r][k] = static_cast<float>(s * (n - q.zero_point));        // exact product, one rounding
            break;
          }
          default: f32[at] = x; values[r][k] = x; break;
        }
      }
    }
  }
  Rows view() const {
    const bool bytes = type == DType::u8 || type == DType::qi8 || type == DType::qu8;
    const void* data = type == DType::f32 ? static_cast<const void*>(f32.data())
                       : bytes            ? static_cast<const void*>(u8.data())
                                          : static_cast<const void*>(u16.data());
    return Rows{data, type, rows, classes, row_stride, class_stride, quant.scale, quant.zero_point};
  }
};

std::vector<std::vector<float>> random_probs(xent::test::Rng& rng, std::size_t rows, std::size_t k, bool normalise) {
  std::vector<std::vector<float>> p(rows, std::vector<float>(k));
  for (auto& row : p) {
    double s = 0;
    for (float& v : row) {
      v = static_cast<float>(std::pow(rng.uniform(), 3.0));  // many small values, some below eps
      s += v;
    }
    if (normalise && s > 0) {
      for (float& v : row) v = static_cast<float>(v / s);
    }
  }
  return p;
}

std::vector<std::vector<float>> random_logits(xent::test::Rng& rng, std::size_t rows, std::size_t k) {
  std::vector<std::vector<float>> z(rows, std::vector<float>(k));
  for (auto& row : z) {
    for (float& v : row) v = rng.uniform(-15.0f, 15.0f);
  }
  return z;
}

// SEMANTICS.md's tolerance for a sparse loss from probabilities, 4 ulp of each log entering it:
// log S - log clip(p_y) is a difference of two logs near -16 when the row's probabilities are all
// below eps (loss about log K), right to a few ulp of 16, not of the loss. Quantized blocks meet
// such rows often (small probabilities quantize to exact zeros); the float blocks keep the
// stricter loss_tolerance, their all-zero rows have a test of their own.
double sparse_probs_tolerance(const std::vector<double>& p, int label, double ref) {
  double s = 0.0;
  for (double v : p) s += xent::test::clip_ref(v);
  const double log_p = std::log(xent::test::clip_ref(p[static_cast<std::size_t>(label)]));
  return std::max(loss_tolerance(ref), 1e-6 * std::max(1.0, std::fabs(ref)) + 4 * (ulp_of(std::log(s)) + ulp_of(log_p)));
}

void check_sparse(const Block& pred, const std::vector<std::int32_t>& labels, bool from_logits, float ls) {
  LossParams params;
  params.from_logits = from_logits;
  params.label_smoothing = ls;
  std::vector<float> loss(pred.rows + 1, 12345.0f);
  kernels().sparse_rows(pred.view(), labels.data(), params, loss.data());
  CHECK(loss[pred.rows] == 12345.0f);  // nothing written past the block
  for (std::size_t r = 0; r < pred.rows; ++r) {
    const double ref = xent::test::ref_sparse(pred.values[r], labels[r], from_logits, ls);
    INFO("K " << pred.classes << " row " << r << " logits " << from_logits << " ls " << ls << " type "
              << static_cast<int>(pred.type) << " stride " << pred.row_stride);
    if (labels[r] < 0) {
      CHECK(loss[r] == 0.0f);
      CHECK(!std::signbit(loss[r]));
    } else {
      const bool quantized = pred.type == DType::qi8 || pred.type == DType::qu8;
      const double tol = quantized && !from_logits ? sparse_probs_tolerance(pred.values[r], labels[r], ref) : loss_tolerance(ref);
      CHECK(std::fabs(static_cast<double>(loss[r]) - ref) <= tol);
    }
  }
}

void check_categorical(const Block& pred, const Block& truth, bool from_logits, float ls) {
  LossParams params;
  params.from_logits = from_logits;
  params.label_smoothing = ls;
  std::vector<float> loss(pred.rows + 1, 12345.0f);
  kernels().categorical_rows(pred.view(), truth.view(), params, loss.data());
  CHECK(loss[pred.rows] == 12345.0f);
  std::vector<double> class_total(pred.classes + 1, 0.5);
  std::vector<float> weight(pred.rows);
  for (std::size_t r = 0; r < pred.rows; ++r) weight[r] = 0.25f * static_cast<float>(r % 5) - 0.25f;
  kernels().categorical_class_shares(pred.view(), truth.view(), params, weight.data(), class_total.data());
  CHECK(class_total[pred.classes] == 0.5);
  std::vector<double> ref_total(pred.classes, 0.5);
  std::vector<double> scale(pred.classes, 0.0);  // sum of |w| max(1, |share|): the class totals' tolerance
  for (std::size_t r = 0; r < pred.rows; ++r) {
    const auto shares = xent::test::ref_categorical_shares(pred.values[r], truth.values[r], from_logits, ls);
    double ref = 0;
    for (std::size_t k = 0; k < pred.classes; ++k) {
      ref += shares[k];
      ref_total[k] += static_cast<double>(weight[r]) * shares[k];
      scale[k] += std::fabs(static_cast<double>(weight[r])) * std::max(1.0, std::fabs(shares[k]));
    }
    INFO("K " << pred.classes << " row " << r << " logits " << from_logits << " ls " << ls << " type "
              << static_cast<int>(pred.type) << " stride " << pred.row_stride);
    CHECK(near(static_cast<double>(loss[r]), ref, loss_tolerance(ref)));
  }
  for (std::size_t k = 0; k < pred.classes; ++k) {
    CHECK(near(class_total[k], ref_total[k], 1e-6 * scale[k] + 1e-12));
  }
}

}  // namespace

TEST_CASE("rows: sparse, probabilities and logits, every layout and dtype") {
  xent::test::Rng rng(101);
  for (std::size_t k : {1u, 2u, 3u, 5u, 10u, 16u, 17u, 31u, 100u, 257u, 1000u, 9001u}) {
    const std::size_t rows = k > 1000 ? 3 : (k > 100 ? 19 : 70);
    std::vector<std::int32_t> labels(rows);
    for (std::size_t r = 0; r < rows; ++r) labels[r] = r % 7 == 3 ? -1 : static_cast<std::int32_t>(rng.next() % k);
    for (bool interleaved : {false, true}) {
      for (DType t : {DType::f32, DType::f16, DType::bf16}) {
        for (float ls : {0.0f, 0.1f}) {
          check_sparse(Block(random_probs(rng, rows, k, true), t, interleaved), labels, false, ls);
          check_sparse(Block(random_probs(rng, rows, k, false), t, interleaved), labels, false, ls);
          check_sparse(Block(random_logits(rng, rows, k), t, interleaved), labels, true, ls);
        }
      }
    }
  }
}

TEST_CASE("rows: categorical, probabilities and logits, soft and one-hot truth, every layout and dtype") {
  xent::test::Rng rng(202);
  for (std::size_t k : {1u, 2u, 3u, 7u, 10u, 16u, 33u, 100u, 1000u, 4099u}) {
    const std::size_t rows = k > 1000 ? 3 : (k > 100 ? 11 : 40);
    std::vector<std::vector<float>> onehot(rows, std::vector<float>(k, 0.0f));
    for (auto& row : onehot) row[static_cast<std::size_t>(rng.next() % k)] = 1.0f;
    for (bool interleaved : {false, true}) {
      for (DType t : {DType::f32, DType::f16, DType::bf16}) {
        for (float ls : {0.0f, 0.1f}) {
          const Block soft(random_probs(rng, rows, k, true), DType::f32, interleaved);
          const Block hot(onehot, t == DType::bf16 ? DType::u8 : DType::f32, interleaved);
          check_categorical(Block(random_probs(rng, rows, k, true), t, interleaved), soft, false, ls);
          check_categorical(Block(random_probs(rng, rows, k, false), t, interleaved), hot, false, ls);
          check_categorical(Block(random_logits(rng, rows, k), t, interleaved), soft, true, ls);
          check_categorical(Block(random_logits(rng, rows, k), t, interleaved), hot, true, ls);
        }
      }
    }
  }
}

TEST_CASE("rows: a full block of 256 rows of 10 classes") {
  xent::test::Rng rng(303);
  const std::size_t rows = xent::detail::kMaxBlockRows;
  std::vector<std::int32_t> labels(rows);
  for (std::size_t r = 0; r < rows; ++r) labels[r] = static_cast<std::int32_t>(rng.next() % 10);
  for (bool interleaved : {false, true}) {
    check_sparse(Block(random_probs(rng, rows, 10, true), DType::f32, interleaved), labels, false, 0.0f);
    check_sparse(Block(random_logits(rng, rows, 10), DType::f16, interleaved), labels, true, 0.0f);
    check_categorical(Block(random_probs(rng, rows, 10, true), DType::f32, interleaved),
                      Block(random_probs(rng, rows, 10, true), DType::f32, interleaved), false, 0.1f);
  }
}

TEST_CASE("rows: short contiguous rows, every K up to the largest tile, dense or padded, any row count") {
  // The lanes-as-rows paths read four classes of a row at a time, and may read into the next row
  // only inside the block: dense blocks end exactly at the allocation's end (ASan checks that),
  // row counts leave partial lane groups, and the probabilities are unnormalised (S far from 1).
  xent::test::Rng rng(505);
  for (std::size_t k = 1; k <= 64; ++k) {
    for (std::size_t rows : {2u, 7u, 16u, 37u}) {
      for (std::size_t pad : {0u, 1u, 5u}) {
        std::vector<std::int32_t> labels(rows);
        for (std::size_t r = 0; r < rows; ++r) labels[r] = r % 5 == 2 ? -1 : static_cast<std::int32_t>(rng.next() % k);
        const DType t = k % 3 == 1 ? DType::f16 : (k % 7 == 2 ? DType::bf16 : DType::f32);
        const float ls = k % 4 == 3 ? 0.1f : 0.0f;
        check_sparse(Block(random_probs(rng, rows, k, false), DType::f32, false, pad), labels, false, 0.0f);
        check_sparse(Block(random_probs(rng, rows, k, true), t, false, pad), labels, false, ls);
        check_sparse(Block(random_logits(rng, rows, k), t, false, pad), labels, true, ls);
        std::vector<std::vector<float>> onehot(rows, std::vector<float>(k, 0.0f));
        for (std::size_t r = 0; r < rows; ++r) onehot[r][static_cast<std::size_t>(rng.next() % k)] = 1.0f;
        const Block soft(random_probs(rng, rows, k, true), DType::f32, false, pad + 2);
        check_categorical(Block(random_probs(rng, rows, k, false), DType::f32, false, pad), soft, false, ls);
        check_categorical(Block(random_logits(rng, rows, k), DType::f32, false, pad), Block(onehot, DType::f32, false, pad), true, ls);
        check_categorical(Block(random_probs(rng, rows, k, true), t, false, pad), Block(onehot, DType::f32, false, 0), false, 0.0f);
      }
    }
  }
}

TEST_CASE("rows: the worked examples and confident rows of SEMANTICS.md") {
  const std::vector<std::vector<float>> p = {{0.05f, 0.95f, 0.0f}, {0.1f, 0.8f, 0.1f}, {0.0f, 1.0f, 0.0f}, {0.0f, 0.0f, 0.0f}};
  const std::vector<std::vector<float>> t = {{0, 1, 0}, {0, 0, 1}, {0, 1, 0}, {0, 1, 0}};
  const std::vector<std::int32_t> labels = {1, 2, 1, 1};
  for (bool interleaved : {false, true}) {
    const Block pred(p, DType::f32, interleaved);
    const Block truth(t, DType::f32, interleaved);
    float sparse[4], cat[4];
    kernels().sparse_rows(pred.view(), labels.data(), LossParams{}, sparse);
    kernels().categorical_rows(pred.view(), truth.view(), LossParams{}, cat);
    // Keras's values, within the semantics' tolerance (Keras's own float32 path rounds differently).
    CHECK(std::fabs(cat[0] - 0.051293306f) <= loss_tolerance(0.051293306));
    CHECK(std::fabs(sparse[0] - 0.051293444f) <= loss_tolerance(0.051293444));
    // One-hot rows relative to a few ulp: the log is accurate relative to its result near 1.
    CHECK(std::fabs(cat[1] - 2.3025851f) <= 4 * ulp_of(2.3025851));
    CHECK(std::fabs(sparse[1] - 2.3025851f) <= 4 * ulp_of(2.3025851));
    CHECK(std::fabs(cat[2] - 1.1920930e-07f) <= 2 * ulp_of(1.1920930e-07));
    CHECK(std::fabs(sparse[2] - 2.3841855e-07f) <= 2 * ulp_of(2.3841855e-07));
    CHECK(std::isnan(cat[3]));
    // log 3 here is log(3e-7) - log(1e-7): two logs near -16, each within 3.5 ulp of 16 (2^-19 each),
    // so only the per-element tolerance holds for it, not a few ulp of log 3.
    CHECK(std::fabs(sparse[3] - std::log(3.0f)) <= loss_tolerance(std::log(3.0)));
    CHECK(std::fabs(static_cast<double>(sparse[0] + sparse[1]) / 2 - 1.1769392) <= 1e-6 * 1.1769392);
  }
}

TEST_CASE("rows: confident logits and -inf logits") {
  // loss = log(1 + 9 e^-16) ~ 1.0e-6. Keras forms S = sum(exp(z - m)) in float32, so S near 1 carries
  // a few ulp of 1 (2^-24 each) whatever the order of the sum; the log adds only ulps of the result.
  std::vector<std::vector<float>> z(5, std::vector<float>(10, 0.0f));
  for (std::size_t r = 0; r < 5; ++r) z[r][r] = 16.0f;
  z[4][7] = -std::numeric_limits<float>::infinity();  // another class at -inf: finite loss
  const std::vector<std::int32_t> labels = {0, 1, 2, 3, 4};
  LossParams params;
  params.from_logits = true;
  for (bool interleaved : {false, true}) {
    const Block pred(z, DType::f32, interleaved);
    float loss[5];
    kernels().sparse_rows(pred.view(), labels.data(), params, loss);
    for (std::size_t r = 0; r < 5; ++r) {
      const double ref = xent::test::ref_sparse(pred.values[r], labels[r], true, 0.0);
      CHECK(std::isfinite(loss[r]));
      CHECK(std::fabs(static_cast<double>(loss[r]) - ref) <= 4 * 0x1p-24 + 4 * ulp_of(ref));
    }
  }
}

TEST_CASE("rows: a NaN (or an all-zero probability row) gives NaN on every path, its neighbours stay finite") {
  xent::test::Rng rng(404);
  for (std::size_t k : {3u, 10u, 40u, 100u, 9001u}) {
    for (bool interleaved : {false, true}) {
      for (bool logits : {false, true}) {
        auto v = logits ? random_logits(rng, 5, k) : random_probs(rng, 5, k, true);
        v[1][k / 2] = std::numeric_limits<float>::quiet_NaN();
        if (!logits) std::fill(v[3].begin(), v[3].end(), 0.0f);
        const Block pred(v, DType::f32, interleaved);
        const Block truth(random_probs(rng, 5, k, true), DType::f32, interleaved);
        LossParams params;
        params.from_logits = logits;
        const std::vector<std::int32_t> labels = {0, static_cast<std::int32_t>(k - 1), 0, 0, 0};
        float sparse[5], cat[5];
        kernels().sparse_rows(pred.view(), labels.data(), params, sparse);
        kernels().categorical_rows(pred.view(), truth.view(), params, cat);
        INFO("K " << k << " interleaved " << interleaved << " logits " << logits);
        CHECK(std::isnan(sparse[1]));
        CHECK(std::isnan(cat[1]));
        CHECK(std::isfinite(sparse[0]));
        CHECK(std::isfinite(cat[0]));
        if (!logits) {
          CHECK(std::isnan(cat[3]));  // 0 / 0, as in Keras
          CHECK(std::fabs(static_cast<double>(sparse[3]) - std::log(static_cast<double>(k) * 1e-7f) + std::log(1e-7f)) <= 1e-6 * std::log(static_cast<double>(k)) + 1e-6);  // log(K)
        }
      }
    }
  }
}

namespace {

// Parameters as a converter picks them: probabilities often at TFLite's softmax ones, logits over
// their range [-15, 15] (int8 or uint8 zero points anywhere in range), sometimes log_softmax's.
Quant quant_for(xent::test::Rng& rng, DType t, bool logits) {
  const std::int32_t lo = t == DType::qi8 ? -128 : 0;
  const std::uint64_t pick = rng.next() % 4;
  if (!logits) return pick < 2 ? Quant{1.0f / 256, lo} : Quant{rng.uniform(1.0f / 300, 1.0f / 100), lo + static_cast<std::int32_t>(rng.next() % 30)};
  if (pick == 0) return Quant{16.0f / 256, lo + 255};
  return Quant{rng.uniform(30.0f / 255, 40.0f / 255), lo + 128 + static_cast<std::int32_t>(rng.next() % 41) - 20};
}

}  // namespace

TEST_CASE("rows: quantized int8 / uint8, every layout, short and long rows, both losses") {
  // Short rows go through the tiles and quads (K * W <= 256), the interleaved ones through lanes,
  // long ones row by row (the byte max, then one widening exp pass); partial lane groups and
  // unnormalised probabilities included, padding never read (ASan; dense blocks end the allocation).
  xent::test::Rng rng(606);
  std::vector<std::size_t> ks;
  for (std::size_t k = 1; k <= 70; ++k) ks.push_back(k);
  for (std::size_t k : {100u, 255u, 1000u, 4097u, 40000u}) ks.push_back(k);
  for (std::size_t k : ks) {
    // Partial lane groups (19 = 16 + 3) and whole ones; long rows one at a time (the float64
    // references are most of the time, and Cortex-M4 computes double in software).
    const std::size_t rows = k > 1000 ? 1 : (k > 70 || k % 3 == 0 ? 19 : 16);
    std::vector<std::int32_t> labels(rows);
    for (std::size_t r = 0; r < rows; ++r) labels[r] = r % 5 == 2 ? -1 : static_cast<std::int32_t>(rng.next() % k);
    std::vector<std::vector<float>> onehot(rows, std::vector<float>(k, 0.0f));
    for (std::size_t r = 0; r < rows; ++r) onehot[r][static_cast<std::size_t>(rng.next() % k)] = 1.0f;
    for (DType t : {DType::qi8, DType::qu8}) {
      for (bool interleaved : {false, true}) {
        const std::size_t pad = k % 2;  // dense or padded rows
        const float ls = k % 4 == 3 ? 0.1f : 0.0f;
        const Quant qp = quant_for(rng, t, false), ql = quant_for(rng, t, true);
        INFO("type " << static_cast<int>(t) << " probs " << qp.scale << "/" << qp.zero_point << " logits " << ql.scale << "/"
                     << ql.zero_point);
        check_sparse(Block(random_probs(rng, rows, k, true), t, interleaved, pad, qp), labels, false, 0.0f);
        check_sparse(Block(random_probs(rng, rows, k, false), t, interleaved, pad, qp), labels, false, ls);
        check_sparse(Block(random_logits(rng, rows, k), t, interleaved, pad, ql), labels, true, ls);
        const Block soft(random_probs(rng, rows, k, true), DType::f32, interleaved, pad);
        const Block hot(onehot, DType::f32, interleaved, pad);
        check_categorical(Block(random_probs(rng, rows, k, true), t, interleaved, pad, qp), hot, false, ls);
        check_categorical(Block(random_probs(rng, rows, k, false), t, interleaved, pad, qp), soft, false, 0.0f);
        check_categorical(Block(random_logits(rng, rows, k), t, interleaved, pad, ql), soft, true, ls);
      }
    }
  }
}

TEST_CASE("rows: quantized extremes: every byte value, all-equal rows, the largest scales") {
  // A row holding all 256 byte values (the max at either end), rows of one repeated value (an
  // all-zero probability row: NaN for categorical, log K for sparse), and a scale large enough that
  // the dequantized values span float32's range (the exp of z - m underflows to 0 for all but the max).
  for (DType t : {DType::qi8, DType::qu8}) {
    const std::int32_t lo = t == DType::qi8 ? -128 : 0;
    for (Quant q : {Quant{1.0f / 256, lo}, Quant{16.0f / 256, lo + 255}, Quant{0.7f, lo + 100}, Quant{1e30f, lo + 17}}) {
      std::vector<std::vector<float>> v(4, std::vector<float>(256));
      for (std::size_t i = 0; i < 256; ++i) {
        const float up = (static_cast<float>(i) + static_cast<float>(lo) - static_cast<float>(q.zero_point)) * q.scale;
        v[0][i] = up;        // increasing: the max last
        v[1][255 - i] = up;  // decreasing: the max first
        v[2][i] = 0.0f;      // all at zero
        v[3][i] = v[0][i / 2];
      }
      for (bool interleaved : {false, true}) {
        const Block pred(v, t, interleaved, 0, q);
        const std::vector<std::int32_t> labels = {255, 0, 17, 200};
        INFO("type " << static_cast<int>(t) << " scale " << q.scale << " zp " << q.zero_point);
        for (bool logits : {false, true}) {
          LossParams params;
          params.from_logits = logits;
          float loss[4];
          kernels().sparse_rows(pred.view(), labels.data(), params, loss);
          for (std::size_t r = 0; r < 4; ++r) {
            const double ref = xent::test::ref_sparse(pred.values[r], labels[r], logits, 0.0);
            INFO("row " << r << " logits " << logits << " got " << loss[r] << " want " << ref);
            if (std::isinf(ref) || std::isnan(ref)) CHECK(static_cast<double>(loss[r]) == ref);
            else CHECK(std::fabs(static_cast<double>(loss[r]) - ref) <= loss_tolerance(ref));
          }
        }
      }
    }
  }
}

TEST_CASE("rows: long quantized rows holding every byte value, the max anywhere, tails of any length") {
  // Rows of 1,024 or more take the AVX-512 tables (the byte table where VBMI is there): every byte
  // value is looked up, those above a row's max never, and the last n % 64 bytes take the masked path.
  xent::test::Rng rng(808);
  for (DType t : {DType::qi8, DType::qu8}) {
    const std::int32_t lo = t == DType::qi8 ? -128 : 0;
    // 255 s up to 64 (the byte table relative to byte 255: 1/256 .. 0.25), above (relative to the max).
    for (Quant q : {Quant{1.0f / 256, lo}, Quant{16.0f / 256, lo + 255}, Quant{0.0627451f, lo + 128}, Quant{0.25f, lo + 7},
                    Quant{0.2511f, lo + 200}, Quant{0.7f, lo + 100}, Quant{4.0f, lo + 3}}) {
      for (std::size_t k : {1024u, 1087u, 2049u, 4159u}) {
        std::vector<std::vector<float>> v(4, std::vector<float>(k));
        std::vector<std::int32_t> labels(4);
        for (std::size_t r = 0; r < 4; ++r) {
          // Row 0: every byte value; row 1: bytes up to a random max; rows 2, 3: mostly near the max,
          // row 3's among the lowest bytes (the one-pass table's terms are relative to byte 255's value).
          const std::int32_t top = r == 1 ? static_cast<std::int32_t>(rng.next() % 256) : r == 3 ? static_cast<std::int32_t>(rng.next() % 8) : 255;
          for (std::size_t i = 0; i < k; ++i) {
            std::int32_t u = static_cast<std::int32_t>(rng.next() % static_cast<std::uint64_t>(top + 1));
            if (r >= 2 && i % 5 != 0) u = top - static_cast<std::int32_t>(rng.next() % 3);
            if (r == 0 && i < 256) u = static_cast<std::int32_t>(i);
            v[r][i] = static_cast<float>(u + lo - q.zero_point) * q.scale;
          }
          labels[r] = static_cast<std::int32_t>(rng.next() % k);
        }
        INFO("type " << static_cast<int>(t) << " scale " << q.scale << " zp " << q.zero_point << " K " << k);
        check_sparse(Block(v, t, false, 0, q), labels, true, 0.0f);
      }
    }
  }
}

TEST_CASE("rows: long quantized logits with large values, where each value's rounding shows in the loss") {
  // |z| up to ~1000: a dequantized value's rounding (half an ulp of z, 1.5e-5 at 256) is far above
  // the tolerance of a loss near log S ~ 4. Most of each row sits one to three steps below its max,
  // so S is made of those terms: the kernels must use the rounded values, as the semantics say
  // (the AVX-512 tables' correction and e_max factor; without them this test fails).
  xent::test::Rng rng(707);
  for (DType t : {DType::qi8, DType::qu8}) {
    const std::int32_t lo = t == DType::qi8 ? -128 : 0;
    for (float scale : {0.73f, 0.9013f, 1.37f, 3.3f, 4.0f, 4.1f}) {  // 255 s <= 1024: the AVX-512 tables, above: the exp pass
      for (std::size_t k : {1500u, 4099u}) {
        const Quant q{scale, lo + static_cast<std::int32_t>(rng.next() % 40)};
        std::vector<std::vector<float>> v(4, std::vector<float>(k));
        std::vector<std::int32_t> labels(4);
        for (std::size_t r = 0; r < 4; ++r) {
          const double top = static_cast<double>(lo + 255 - q.zero_point);
          for (std::size_t i = 0; i < k; ++i) {
            const double step = i % 8 == 0 ? static_cast<double>(rng.next() % 200) : static_cast<double>(1 + i % 3);
            v[r][i] = static_cast<float>((top - step) * scale);
          }
          const std::size_t at = static_cast<std::size_t>(rng.next() % k);
          v[r][at] = static_cast<float>(top * scale);
          // The max's class (the loss is log S, small) or one near it.
          labels[r] = static_cast<std::int32_t>(r % 2 == 0 ? at : (at + 1) % k);
        }
        INFO("type " << static_cast<int>(t) << " scale " << scale << " zp " << q.zero_point << " K " << k);
        check_sparse(Block(v, t, false, 0, q), labels, true, 0.0f);
        std::vector<std::vector<float>> onehot(4, std::vector<float>(k, 0.0f));
        for (std::size_t r = 0; r < 4; ++r) onehot[r][static_cast<std::size_t>(labels[r])] = 1.0f;
        check_categorical(Block(v, t, false, 0, q), Block(onehot, DType::f32, false, 0), true, 0.0f);
      }
    }
  }
}
