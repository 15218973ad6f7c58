// Determinism (issue 13), for both metrics, logits and probabilities, float32 / float16 / bfloat16
// and quantized int8 / uint8 predictions, weighted or not:
// - repeated runs on the same data give bit-identical result() and serialize() bytes, wherever the
//   data lies in memory;
// - chunkings of the same rows (one update, or updates of 1, 2, 3, 7, 16, 17, 64 rows, or random
//   splits) agree within the double accumulation bound: every row's float32 loss is the same bits
//   whatever the chunking (checked through the functional forms, and kernel table by kernel table
//   with blocks of any size), so only the order of the double additions differs. A sum of n terms
//   in any order is within (n - 1) u sum|x| of the exact sum (u = 2^-53), so two orders are within
//   2 (n - 1) u sum|x| < n eps sum|x| of each other (eps = 2^-52); with c updates there are at most
//   n + c additions: the bound is (n + c) eps sum|w loss| (sum|w| for the count);
// - across instruction sets within the kernels' bounds: each run (ctest runs this suite once per
//   forced ISA, and on each ARM target) checks its totals against a float64 reference with
//   SEMANTICS.md's per-element tolerance, and one test compares every kernel table this process
//   can run against the reference and against each other, row by row.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "kernel_reference.hpp"
#include "kernels/kernel_table.hpp"
#include "kernels/tables.hpp"
#include "metric_reference.hpp"
#include "metric_test_util.hpp"

using xent::Shape;
using xent::Status;
using xent::view;

namespace {

// Twice the unit roundoff u of the batch sums (two summation orders of n terms differ by at most
// 2 (n - 1) u sum|x|): double's, except without a double-precision FPU (Cortex-M4F), where a batch's
// losses are summed in a float pair whose low part rounds too (src/update.cpp, PairSum: u = 2^-48).
#if defined(__ARM_FP) && !(__ARM_FP & 8)
constexpr double kEps = 0x1p-47;
#else
constexpr double kEps = 0x1p-52;
#endif

// Rows per case: 1000 (K = 1000 too on a native host); fewer under qemu-user and on the boards,
// whose RAM and emulated speed are smaller.
#if defined(XENT_BARE_METAL)
constexpr std::size_t kRows = 200, kLongRows = 16;
#elif defined(__aarch64__) || defined(__arm__)
constexpr std::size_t kRows = 1000, kLongRows = 200;
#else
constexpr std::size_t kRows = 1000, kLongRows = 1000;
#endif

enum class PT { f32, f16, bf16, qi8, qu8 };
const char* name_of(PT t) {
  switch (t) {
    case PT::f32: return "float32";
    case PT::f16: return "float16";
    case PT::bf16: return "bfloat16";
    case PT::qi8: return "int8";
    case PT::qu8: return "uint8";
  }
  return "?";
}
bool quantized(PT t) { return t == PT::qi8 || t == PT::qu8; }

struct Case {
  bool sparse = true, logits = false, weighted = false, interleaved = false;
  PT type = PT::f32;
  std::size_t rows = 0, k = 0;  // rows: elements of V (interleaved: outer slices of 8 positions)
  float ls = 0.0f;
  std::string name() const {
    return std::string(sparse ? "sparse" : "categorical") + (logits ? " logits" : " probs") + " K " + std::to_string(k) +
           " rows " + std::to_string(rows) + " " + name_of(type) + (weighted ? " weighted" : "") +
           (interleaved ? " class axis 1" : "") + " ls " + std::to_string(ls);
  }
  std::size_t inner() const { return interleaved ? 8 : 1; }
  std::size_t outer() const { return rows / inner(); }
  Shape pred_shape(std::size_t n0) const { return interleaved ? Shape{n0, k, 8} : Shape{n0, k}; }
  Shape v_shape(std::size_t n0) const { return interleaved ? Shape{n0, 8} : Shape{n0}; }
  int axis() const { return interleaved ? 1 : -1; }
  // Quantization parameters: TFLite's softmax outputs for probabilities; for logits a scale that
  // rounds (not a power of two) and a zero point inside the range.
  float scale() const { return logits ? (type == PT::qi8 ? 0.09f : 0.07f) : 1.0f / 256; }
  std::int32_t zero_point() const { return logits ? (type == PT::qi8 ? 5 : 128) : (type == PT::qi8 ? -128 : 0); }
};

// Both metrics x logits / probabilities x K in {3, 10, 37, 1000} x every prediction type; weights
// on half of them, label smoothing at K = 10 for float32 and uint8, classes interleaved (class
// axis 1) at K = 37 for float32 and int8.
std::vector<Case> cases() {
  std::vector<Case> v;
  for (const bool sparse : {true, false})
    for (const bool logits : {false, true})
      for (const std::size_t k : {3u, 10u, 37u, 1000u})
        for (const PT type : {PT::f32, PT::f16, PT::bf16, PT::qi8, PT::qu8}) {
          Case c;
          c.sparse = sparse;
          c.logits = logits;
          c.k = k;
          c.type = type;
          c.rows = k >= 1000 ? kLongRows : kRows;
          c.weighted = (k + static_cast<std::size_t>(type)) % 2 == 1;
          c.interleaved = k == 37 && (type == PT::f32 || type == PT::qi8);
          c.ls = k == 10 && (type == PT::f32 || type == PT::qu8) ? 0.1f : 0.0f;
          v.push_back(c);
        }
  return v;
}

// Where a case's predictions lie (the inputs' own storage, or a shifted copy).
struct Data {
  const float* f32 = nullptr;
  const xent::float16* f16 = nullptr;
  const xent::bfloat16* bf16 = nullptr;
  const std::int8_t* i8 = nullptr;
  const std::uint8_t* u8 = nullptr;
};

// A case's inputs; `pred` holds the values the library sees (rounded to 16 bits, or dequantized).
struct Inputs {
  std::vector<float> pred, truth, weights;
  std::vector<xent::float16> pred16;
  std::vector<xent::bfloat16> predb16;
  std::vector<std::int8_t> predi8;
  std::vector<std::uint8_t> predu8;
  std::vector<std::int32_t> labels;
  std::vector<std::int64_t> labels64;
  explicit Inputs(const Case& c) {
    xent::test::Rng rng(c.k * 7919 + c.rows + (c.sparse ? 1 : 2) + (c.logits ? 4 : 8) + 16 * static_cast<std::size_t>(c.type));
    const std::size_t n = c.rows * c.k;
    pred.resize(n);
    truth.assign(n, 0.0f);
    for (std::size_t i = 0; i < n; ++i) {
      const double u = rng.uniform();
      float x = c.logits ? static_cast<float>(u * 24.0 - 12.0) : static_cast<float>(u * u * u);  // some below eps
      switch (c.type) {
        case PT::f16: pred16.push_back(xent::to_float16(x)), x = xent::to_float(pred16.back()); break;
        case PT::bf16: predb16.push_back(xent::to_bfloat16(x)), x = xent::to_float(predb16.back()); break;
        case PT::qi8:
        case PT::qu8: {
          // Any byte: the values the type can stand for, as TFLite dequantizes them.
          const auto b = static_cast<std::uint8_t>(rng.next() >> 56);
          const std::int32_t q = c.type == PT::qi8 ? static_cast<std::int32_t>(static_cast<std::int8_t>(b)) : b;
          if (c.type == PT::qi8) predi8.push_back(static_cast<std::int8_t>(q));
          else predu8.push_back(b);
          x = c.scale() * static_cast<float>(q - c.zero_point());
          break;
        }
        case PT::f32: break;
      }
      pred[i] = x;
    }
    // Element v of V, class j: pred[(v / inner) * K * inner + j * inner + v % inner].
    for (std::size_t e = 0; e < c.rows; ++e) {
      const auto label = static_cast<std::int32_t>(rng.next() % c.k);
      labels.push_back(label);
      labels64.push_back(label);
      const std::size_t at = (e / c.inner()) * c.k * c.inner() + e % c.inner();
      truth[at + static_cast<std::size_t>(label) * c.inner()] = 1.0f;
      weights.push_back(static_cast<float>(rng.uniform() * 2.0));
    }
  }
  Data data() const { return Data{pred.data(), pred16.data(), predb16.data(), predi8.data(), predu8.data()}; }
};

// The same predictions `shift` elements further on in fresh storage.
struct Shifted {
  std::vector<float> f32;
  std::vector<xent::float16> f16;
  std::vector<xent::bfloat16> bf16;
  std::vector<std::int8_t> i8;
  std::vector<std::uint8_t> u8;
  std::size_t shift;
  template <class T>
  static void move(const std::vector<T>& from, std::vector<T>& to, std::size_t shift) {
    to.resize(from.size() + 16);
    std::copy(from.begin(), from.end(), to.begin() + static_cast<long>(shift));
  }
  Shifted(const Inputs& in, std::size_t s) : shift(s) {
    move(in.pred, f32, s);
    move(in.pred16, f16, s);
    move(in.predb16, bf16, s);
    move(in.predi8, i8, s);
    move(in.predu8, u8, s);
  }
  Data data() const { return Data{f32.data() + shift, f16.data() + shift, bf16.data() + shift, i8.data() + shift, u8.data() + shift}; }
};

// fn(y_pred) with the case's predictions from element p0 on, shape ps, as the view of its type.
template <class Fn>
auto with_pred(const Case& c, const Data& d, std::size_t p0, const Shape& ps, Fn&& fn) {
  switch (c.type) {
    case PT::f16: return fn(view(d.f16 + p0, ps));
    case PT::bf16: return fn(view(d.bf16 + p0, ps));
    case PT::qi8: return fn(xent::quantized(d.i8 + p0, ps, c.scale(), c.zero_point()));
    case PT::qu8: return fn(xent::quantized(d.u8 + p0, ps, c.scale(), c.zero_point()));
    case PT::f32: break;
  }
  return fn(view(d.f32 + p0, ps));
}

template <class Options>
Options options_of(const Case& c) {
  Options o;
  o.from_logits = c.logits;
  o.label_smoothing = c.ls;
  o.axis = c.axis();
  o.per_class = true;
  return o;
}

// Outer rows [o0, o1) into the metric.
template <class M>
Status update(M& m, const Case& c, const Inputs& in, const Data& d, std::size_t o0, std::size_t o1) {
  const std::size_t v0 = o0 * c.inner(), p0 = o0 * c.k * c.inner();
  const Shape ps = c.pred_shape(o1 - o0), vs = c.v_shape(o1 - o0);
  const auto w = view(in.weights.data() + v0, vs);
  return with_pred(c, d, p0, ps, [&](auto p) {
    if constexpr (std::is_same_v<typename M::Options, xent::SparseOptions>) {
      const auto t = view(in.labels.data() + v0, vs);
      return c.weighted ? m.update_state(t, p, w) : m.update_state(t, p);
    } else {
      const auto t = view(in.truth.data() + p0, ps);
      return c.weighted ? m.update_state(t, p, w) : m.update_state(t, p);
    }
  });
}

// Per-element losses of outer rows [o0, o1) through the functional form, into out.
Status losses(const Case& c, const Inputs& in, std::size_t o0, std::size_t o1, float* out) {
  const std::size_t v0 = o0 * c.inner(), p0 = o0 * c.k * c.inner(), n = (o1 - o0) * c.inner();
  const Shape ps = c.pred_shape(o1 - o0), vs = c.v_shape(o1 - o0);
  return with_pred(c, in.data(), p0, ps, [&](auto p) {
    if (c.sparse) {
      return xent::sparse_categorical_crossentropy(view(in.labels.data() + v0, vs), p, out, n,
                                                   options_of<xent::SparseOptions>(c));
    }
    return xent::categorical_crossentropy(view(in.truth.data() + p0, ps), p, out, n, options_of<xent::CategoricalOptions>(c));
  });
}

// The whole state of a metric after its updates.
struct Sums {
  float result;
  double total, count;
  std::vector<double> class_total;
  std::vector<unsigned char> bytes;  // serialize()
  bool operator==(const Sums& o) const {
    return std::memcmp(&result, &o.result, sizeof result) == 0 && std::memcmp(&total, &o.total, 8) == 0 &&
           std::memcmp(&count, &o.count, 8) == 0 && bytes == o.bytes;
  }
};

// Outer-row counts per update, cycled (empty: one update of everything).
using Chunks = std::vector<std::size_t>;

template <class M>
Sums run(const Case& c, const Inputs& in, const Chunks& chunks, const Data& d, std::size_t* updates = nullptr) {
  auto m = std::make_unique<M>(options_of<typename M::Options>(c));  // per-class sums of 1000 classes: not on a board's stack
  std::size_t o = 0, n = 0;
  for (std::size_t i = 0; o < c.outer(); ++i, ++n) {
    const std::size_t want = chunks.empty() ? c.outer() : chunks[i % chunks.size()];
    const std::size_t o1 = std::min(c.outer(), o + want);
    REQUIRE(update(*m, c, in, d, o, o1) == Status::ok);
    o = o1;
  }
  if (updates != nullptr) *updates = n;
  Sums s{m->result(), m->total(), m->count(), {}, std::vector<unsigned char>(M::serialized_size)};
  for (std::size_t k = 0; k < c.k; ++k) s.class_total.push_back(m->per_class_total(k));
  REQUIRE(m->serialize(s.bytes.data(), s.bytes.size()) == Status::ok);
  return s;
}

template <class F>
void for_metric(const Case& c, F&& f) {
  if (c.sparse) {
    f(static_cast<xent::SparseCategoricalCrossentropy<1000>*>(nullptr));
  } else {
    f(static_cast<xent::CategoricalCrossentropy<1000>*>(nullptr));
  }
}

// The chunkings: fixed row counts, a mix, and random splits (a fixed seed per case).
std::vector<Chunks> chunkings(const Case& c) {
  std::vector<Chunks> v = {{1}, {2}, {3}, {7}, {16}, {17}, {64}, {1, 500, 2, 77}};
  xent::test::Rng rng(c.rows + c.k);
  for (int s = 0; s < 2; ++s) {
    Chunks split;
    for (std::size_t o = 0; o < c.outer();) {
      const std::size_t n = 1 + static_cast<std::size_t>(rng.next() % (s == 0 ? 9u : 150u));
      split.push_back(n);
      o += n;
    }
    v.push_back(split);
  }
  return v;
}

// The float64 reference of a case: per-element losses with their tolerances, and the sums.
xref::Batch reference(const Case& c, const Inputs& in) {
  xref::Spec s;
  s.sparse = c.sparse;
  s.logits = c.logits;
  s.ls = c.ls;
  s.axis = c.axis();
  const Shape ps = c.pred_shape(c.outer());
  const std::vector<std::size_t> dims = mt::dims_of(ps), v = mt::dims_of(c.v_shape(c.outer()));
  std::vector<double> w(in.weights.begin(), in.weights.end());
  const auto ew = xref::element_weights(v, v, w);
  return xref::evaluate(s, dims, in.pred, in.truth, in.labels64, c.weighted ? &*ew : nullptr);
}

}  // namespace

TEST_CASE("determinism: repeated runs are bit-identical (result and serialize), wherever the inputs lie in memory") {
  for (const Case& c : cases()) {
    CAPTURE(c.name());
    const Inputs in(c);
    for_metric(c, [&](auto* tag) {
      using M = std::remove_pointer_t<decltype(tag)>;
      const Sums first = run<M>(c, in, {}, in.data());
      for (int again = 0; again < 2; ++again) CHECK(run<M>(c, in, {}, in.data()) == first);
      // The same predictions at other offsets of a 64-byte line: a kernel that peeled to alignment
      // would round differently at each.
      for (const std::size_t shift : {1u, 6u, 13u}) {
        CAPTURE(shift);
        const Shifted moved(in, shift);
        CHECK(run<M>(c, in, {}, moved.data()) == first);
        // Chunked the same way twice: the same bits too.
        CHECK(run<M>(c, in, {7, 64}, moved.data()) == run<M>(c, in, {7, 64}, in.data()));
      }
    });
  }
}

TEST_CASE("determinism: chunkings give the same per-row losses, and totals within the double accumulation bound") {
  double worst = 0.0, worst_rel = 0.0;  // the largest |difference| / bound, and relative difference of the mean
  for (const Case& c : cases()) {
    CAPTURE(c.name());
    const Inputs in(c);
    // Per-element losses of the whole batch, and of each piece of a chunking: the same bits.
    std::vector<float> whole(c.rows);
    REQUIRE(losses(c, in, 0, c.outer(), whole.data()) == Status::ok);
    double sum_abs = 0.0, sum_w = 0.0;
    for (std::size_t e = 0; e < c.rows; ++e) {
      const double w = c.weighted ? static_cast<double>(in.weights[e]) : 1.0;
      sum_abs += std::fabs(w * static_cast<double>(whole[e]));
      sum_w += std::fabs(w);
    }
    for_metric(c, [&](auto* tag) {
      using M = std::remove_pointer_t<decltype(tag)>;
      const Sums one = run<M>(c, in, {}, in.data());
      for (const Chunks& chunks : chunkings(c)) {
        CAPTURE(chunks.size());
        CAPTURE(chunks[0]);
        std::vector<float> pieces(c.rows);
        for (std::size_t o = 0, i = 0; o < c.outer(); ++i) {
          const std::size_t o1 = std::min(c.outer(), o + chunks[i % chunks.size()]);
          REQUIRE(losses(c, in, o, o1, pieces.data() + o * c.inner()) == Status::ok);
          o = o1;
        }
        std::size_t differ = 0;
        for (std::size_t e = 0; e < c.rows; ++e) differ += std::memcmp(&pieces[e], &whole[e], sizeof(float)) != 0 ? 1 : 0;
        CHECK(differ == 0);
        std::size_t updates = 0;
        const Sums many = run<M>(c, in, chunks, in.data(), &updates);
        const double n = static_cast<double>(c.rows + updates);
        const double bound = n * kEps * sum_abs, count_bound = n * kEps * sum_w;
        CHECK(std::fabs(many.total - one.total) <= bound);
        CHECK(std::fabs(many.count - one.count) <= count_bound);
        if (bound > 0) worst = std::max(worst, std::fabs(many.total - one.total) / bound);
        worst_rel = std::max(worst_rel, mt::rel_err(many.total / many.count, one.total / one.count));
        // The result is total / count rounded to float once: at most an ulp apart.
        CHECK(mt::ulp_distance(many.result, one.result) <= 1);
        for (std::size_t k = 0; k < c.k; ++k) CHECK(std::fabs(many.class_total[k] - one.class_total[k]) <= bound);
      }
    });
  }
  MESSAGE("isa " << std::string(xent::active_isa()) << ": chunkings' largest total difference " << worst
                 << " of the bound (n + c) eps sum|w loss|; largest relative difference of total / count " << worst_rel);
}

TEST_CASE("determinism: rows that leave the fast paths do not move their neighbours") {
  // Rows whose total is 0 (a NaN loss, as Keras), subnormal or infinite, and logits rows with an
  // infinity or NaN, take the kernels' careful paths; the rows beside them must keep their own
  // bits whatever the chunking (such a row once sent its whole group of W rows row by row).
  for (const bool sparse : {true, false})
    for (const bool logits : {false, true})
      for (const PT type : {PT::f32, PT::qu8})
        for (const std::size_t k : {4u, 10u, 16u, 37u}) {
          Case c;
          c.sparse = sparse;
          c.logits = logits;
          c.type = type;
          c.k = k;
          c.rows = 203;
          CAPTURE(c.name());
          Inputs in(c);
          const auto set_row = [&](std::size_t r, float value) {
            for (std::size_t j = 0; j < k; ++j) {
              in.pred[r * k + j] = value;
              if (type == PT::qu8) in.predu8[r * k + j] = static_cast<std::uint8_t>(value);
            }
          };
          if (type == PT::qu8) {
            set_row(5, static_cast<float>(c.zero_point()));  // dequantized 0: S = 0 from probabilities
            set_row(150, 255.0f);
          } else if (!logits) {
            set_row(5, 0.0f);      // S = 0: 0 / 0
            set_row(77, 1e-41f);   // S subnormal
            set_row(150, 3e38f);   // S = inf
          } else {
            in.pred[5 * k + 1] = std::numeric_limits<float>::infinity();
            in.pred[77 * k + 2] = -std::numeric_limits<float>::infinity();
            in.pred[150 * k] = std::numeric_limits<float>::quiet_NaN();
          }
          std::vector<float> whole(c.rows);
          REQUIRE(losses(c, in, 0, c.rows, whole.data()) == Status::ok);
          if (!logits && type == PT::f32 && !sparse) CHECK(std::isnan(whole[5]));
          for (const std::size_t chunk : {1u, 2u, 3u, 5u, 15u, 17u, 33u}) {
            CAPTURE(chunk);
            std::vector<float> pieces(c.rows);
            for (std::size_t r0 = 0; r0 < c.rows; r0 += chunk) {
              REQUIRE(losses(c, in, r0, std::min(c.rows, r0 + chunk), pieces.data() + r0) == Status::ok);
            }
            std::size_t differ = 0;
            for (std::size_t e = 0; e < c.rows; ++e) differ += std::memcmp(&pieces[e], &whole[e], sizeof(float)) != 0 ? 1 : 0;
            CHECK(differ == 0);
          }
        }
}

TEST_CASE("determinism: this run's instruction set against float64, within the kernel bounds") {
  // ctest runs the suite once per forced ISA (x86) or per target (ARM, boards): each run checks its own.
  double worst = 0.0;
  for (const Case& c : cases()) {
    CAPTURE(c.name());
    const Inputs in(c);
    const xref::Batch ref = reference(c, in);
    double sum_abs = 0.0;
    for (std::size_t e = 0; e < c.rows; ++e)
      sum_abs += std::fabs(ref.losses[e].value * (c.weighted ? static_cast<double>(in.weights[e]) : 1.0));
    for_metric(c, [&](auto* tag) {
      using M = std::remove_pointer_t<decltype(tag)>;
      const Sums got = run<M>(c, in, {100}, in.data());
      // Each element within its tolerance, times its weight; the metric's additions on top.
      const double bound = ref.abs_err + 2.0 * static_cast<double>(c.rows) * kEps * sum_abs;
      CHECK(std::fabs(got.total - ref.total) <= bound);
      CHECK(got.count == doctest::Approx(ref.count).epsilon(1e-12));
      worst = std::max(worst, std::fabs(got.total - ref.total) / bound);
    });
  }
  MESSAGE("isa " << std::string(xent::active_isa()) << ": largest |total - float64| " << worst << " of the kernel bound");
}

namespace {

// The kernel tables this process can run: scalar, and the SIMD ones its CPU supports.
std::vector<const xent::detail::KernelTable*> reachable_tables() {
  std::vector<const xent::detail::KernelTable*> t = {&xent::detail::scalar::table()};
  const std::string best = xent::detail::best_kernels().name;
#if defined(XENT_HAVE_X86_KERNELS)
  t.push_back(&xent::detail::sse2::table());
  if (best == "avx2" || best == "avx512") t.push_back(&xent::detail::avx2::table());
  if (best == "avx512") t.push_back(&xent::detail::avx512::table());
#elif defined(XENT_HAVE_NEON_KERNELS)
  t.push_back(&xent::detail::neon::table());
#endif
  CHECK(std::string(t.back()->name) == best);  // the best one is among them
  return t;
}

// Per-element losses of a case from one table, in kernel calls of at most `block` rows (the
// metric's blocks are up to 64 rows; interleaved: never across an outer slice of 8 positions).
std::vector<float> table_losses(const xent::detail::KernelTable& table, const Case& c, const Inputs& in, std::size_t block) {
  using xent::detail::DType;
  xent::detail::LossParams params;
  params.from_logits = c.logits;
  params.label_smoothing = c.ls;
  std::vector<float> out(c.rows);
  const Data d = in.data();
  const void* base = d.f32;
  std::size_t item = 4;
  DType type = DType::f32;
  switch (c.type) {
    case PT::f16: base = d.f16, item = 2, type = DType::f16; break;
    case PT::bf16: base = d.bf16, item = 2, type = DType::bf16; break;
    case PT::qi8: base = d.i8, item = 1, type = DType::qi8; break;
    case PT::qu8: base = d.u8, item = 1, type = DType::qu8; break;
    case PT::f32: break;
  }
  for (std::size_t e = 0; e < c.rows;) {
    std::size_t rows = std::min(block, c.rows - e);
    if (c.interleaved) rows = std::min(rows, 8 - e % 8);
    // Contiguous rows of K, or (class axis 1) positions of one outer slice, classes 8 apart.
    const std::size_t at = c.interleaved ? (e / 8) * c.k * 8 + e % 8 : e * c.k;
    xent::detail::Rows pred{static_cast<const unsigned char*>(base) + at * item, type, rows, c.k,
                            c.interleaved ? std::size_t{1} : c.k, c.interleaved ? std::size_t{8} : std::size_t{1},
                            c.scale(), c.zero_point()};
    if (!quantized(c.type)) pred.scale = 1.0f, pred.zero_point = 0;
    if (c.sparse) {
      table.sparse_rows(pred, in.labels.data() + e, params, out.data() + e);
    } else {
      xent::detail::Rows truth = pred;
      truth.data = in.truth.data() + at;
      truth.type = DType::f32;
      truth.scale = 1.0f;
      truth.zero_point = 0;
      table.categorical_rows(pred, truth, params, out.data() + e);
    }
    e += rows;
  }
  return out;
}

}  // namespace

TEST_CASE("determinism: every reachable kernel table, blocks of any size, against float64 and the other tables") {
  const auto tables = reachable_tables();
  std::string names;
  for (const auto* t : tables) names += std::string(t->name) + " ";
  MESSAGE("tables compared: " << names);
  double worst_pair = 0.0;  // the largest |a - b| / (tol_a + tol_b) of a row between two tables
  for (const Case& c : cases()) {
    CAPTURE(c.name());
    const Inputs in(c);
    const xref::Batch ref = reference(c, in);
    std::vector<std::vector<float>> per_table;
    std::vector<double> totals;
    for (const auto* t : tables) {
      const std::string table_name = t->name;
      CAPTURE(table_name);
      per_table.push_back(table_losses(*t, c, in, 64));
      const std::vector<float>& l64 = per_table.back();
      // Each row's loss the same bits whatever the block it is computed in.
      for (const std::size_t block : {1u, 2u, 3u, 5u, 17u, 256u}) {
        CAPTURE(block);
        const std::vector<float> other = table_losses(*t, c, in, block);
        std::size_t differ = 0;
        for (std::size_t e = 0; e < c.rows; ++e) differ += std::memcmp(&other[e], &l64[e], sizeof(float)) != 0 ? 1 : 0;
        CHECK(differ == 0);
      }
      double total = 0.0;
      std::size_t bad = 0;
      for (std::size_t e = 0; e < c.rows; ++e) {
        const double l = static_cast<double>(l64[e]);
        if (!(std::fabs(l - ref.losses[e].value) <= ref.losses[e].tol)) ++bad;
        total += l * (c.weighted ? static_cast<double>(in.weights[e]) : 1.0);
      }
      CHECK(bad == 0);
      totals.push_back(total);
    }
    for (std::size_t a = 0; a < tables.size(); ++a)
      for (std::size_t b = a + 1; b < tables.size(); ++b) {
        const std::string pair = std::string(tables[a]->name) + " / " + tables[b]->name;
        CAPTURE(pair);
        double sum_tol = 0.0, sum_abs = 0.0;
        std::size_t apart = 0;  // rows further apart than both tolerances
        for (std::size_t e = 0; e < c.rows; ++e) {
          const double w = c.weighted ? static_cast<double>(in.weights[e]) : 1.0;
          const double tol = 2.0 * ref.losses[e].tol;
          const double diff = std::fabs(static_cast<double>(per_table[a][e]) - static_cast<double>(per_table[b][e]));
          if (!(diff <= tol)) ++apart;
          worst_pair = std::max(worst_pair, diff / tol);
          sum_tol += std::fabs(w) * tol;
          sum_abs += std::fabs(w * ref.losses[e].value);
        }
        CHECK(apart == 0);
        CHECK(std::fabs(totals[a] - totals[b]) <= sum_tol + 2.0 * static_cast<double>(c.rows) * kEps * sum_abs);
      }
  }
  MESSAGE("tables: largest row difference " << worst_pair << " of the two kernels' tolerances");
}
