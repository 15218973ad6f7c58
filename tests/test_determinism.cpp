// Determinism (issue 13):
// - repeated runs on the same data give bit-identical results, wherever the data lies in memory;
// - chunkings of the same data (one update, or many of various row counts) agree within the
//   double accumulation bound: every per-element float32 loss is the same bits whatever the chunk
//   (checked below), so only the order of the double additions differs. A sum of n terms in any
//   order is within (n - 1) u sum|x| of the exact sum (u = 2^-53, the unit roundoff), so two
//   orders are within 2 (n - 1) u sum|x| < n eps sum|x| of each other (eps = 2^-52); with c chunks
//   there are at most n + c additions: the bound used is (n + c) eps sum|w loss| (and sum|w| for
//   the count);
// - across instruction sets within the kernels' bounds: in each run (ctest runs this suite once per
//   forced ISA) the totals against a float64 reference with SEMANTICS.md's per-element tolerance,
//   and, in one test, every kernel table this process can run against the reference and against
//   each other, row by row.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
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

constexpr double kEps = 0x1p-52;

struct Case {
  bool sparse = true, logits = false, weighted = false, half = false, interleaved = false;
  std::size_t rows = 0, k = 0;  // rows: elements of V (interleaved: outer slices of 8 positions)
  float ls = 0.0f;
  std::string name() const {
    return std::string(sparse ? "sparse" : "categorical") + (logits ? " logits" : " probs") + " K " +
           std::to_string(k) + " rows " + std::to_string(rows) + (weighted ? " weighted" : "") +
           (half ? " float16" : " float32") + (interleaved ? " class axis 1" : "") + " ls " + std::to_string(ls);
  }
  std::size_t inner() const { return interleaved ? 8 : 1; }
  std::size_t outer() const { return rows / inner(); }
  Shape pred_shape(std::size_t n0) const { return interleaved ? Shape{n0, k, 8} : Shape{n0, k}; }
  Shape v_shape(std::size_t n0) const { return interleaved ? Shape{n0, 8} : Shape{n0}; }
  int axis() const { return interleaved ? 1 : -1; }
};

// Every combination the tests sweep: both metrics, logits and probabilities, weights or not,
// float32 and float16, K from 3 to 1000, the class axis last or not, label smoothing.
std::vector<Case> cases() {
  std::vector<Case> v;
  for (const bool sparse : {true, false})
    for (const bool logits : {false, true})
      for (const std::size_t k : {3u, 10u, 37u, 1000u}) {
        Case c;
        c.sparse = sparse;
        c.logits = logits;
        c.k = k;
        c.rows = k >= 1000 ? 160 : 2400;
        c.weighted = (k % 2) == 1;
        c.half = k == 10;
        c.interleaved = k == 37;
        c.ls = !sparse && k == 10 ? 0.1f : 0.0f;
        v.push_back(c);
      }
  return v;
}

// A case's inputs; `pred` holds the values the library sees (float16-rounded when half).
struct Inputs {
  std::vector<float> pred, truth, weights;
  std::vector<xent::float16> pred16;
  std::vector<std::int32_t> labels;
  std::vector<std::int64_t> labels64;
  explicit Inputs(const Case& c) {
    xent::test::Rng rng(c.k * 7919 + c.rows + (c.sparse ? 1 : 2) + (c.logits ? 4 : 8));
    const std::size_t n = c.rows * c.k;
    pred.resize(n);
    truth.assign(n, 0.0f);
    for (std::size_t i = 0; i < n; ++i) {
      const double u = rng.uniform();
      pred[i] = c.logits ? static_cast<float>(u * 24.0 - 12.0) : static_cast<float>(u * u * u);  // some below eps
      if (c.half) pred16.push_back(xent::to_float16(pred[i])), pred[i] = xent::to_float(pred16.back());
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
};

template <class M>
Status update(M& m, const Case& c, const Inputs& in, std::size_t o0, std::size_t o1, const float* pred,
              const xent::float16* pred16) {
  const std::size_t v0 = o0 * c.inner(), p0 = o0 * c.k * c.inner();
  const Shape ps = c.pred_shape(o1 - o0), vs = c.v_shape(o1 - o0);
  const auto w = view(in.weights.data() + v0, vs);
  auto go = [&](auto p) {
    if constexpr (std::is_same_v<typename M::Options, xent::SparseOptions>) {
      const auto t = view(in.labels.data() + v0, vs);
      return c.weighted ? m.update_state(t, p, w) : m.update_state(t, p);
    } else {
      const auto t = view(in.truth.data() + p0, ps);
      return c.weighted ? m.update_state(t, p, w) : m.update_state(t, p);
    }
  };
  return c.half ? go(view(pred16 + p0, ps)) : go(view(pred + p0, ps));
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

// The whole state of a metric after updates of the given outer-row counts (0: the rest).
struct Sums {
  float result;
  double total, count;
  std::vector<double> class_total;
  bool operator==(const Sums& o) const {
    return mt::ulp_distance(result, o.result) == 0 && std::memcmp(&total, &o.total, 8) == 0 &&
           std::memcmp(&count, &o.count, 8) == 0 && class_total == o.class_total;
  }
};

template <class M>
Sums run(const Case& c, const Inputs& in, const std::vector<std::size_t>& chunks, const float* pred,
         const xent::float16* pred16) {
  M m(options_of<typename M::Options>(c));
  std::size_t o = 0;
  for (std::size_t i = 0; o < c.outer(); ++i) {
    const std::size_t want = chunks.empty() ? c.outer() : chunks[i % chunks.size()];
    const std::size_t o1 = std::min(c.outer(), o + want);
    REQUIRE(update(m, c, in, o, o1, pred, pred16) == Status::ok);
    o = o1;
  }
  Sums s{m.result(), m.total(), m.count(), {}};
  for (std::size_t k = 0; k < c.k; ++k) s.class_total.push_back(m.per_class_total(k));
  return s;
}

template <class F>
void for_metric(const Case& c, F&& f) {
  if (c.sparse) f(xent::SparseCategoricalCrossentropy<1000>{});
  else f(xent::CategoricalCrossentropy<1000>{});
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

TEST_CASE("determinism: repeated runs are bit-identical, wherever the inputs lie in memory") {
  for (const Case& c : cases()) {
    CAPTURE(c.name());
    const Inputs in(c);
    for_metric(c, [&](auto tag) {
      using M = decltype(tag);
      const Sums first = run<M>(c, in, {}, in.pred.data(), in.pred16.data());
      for (int again = 0; again < 3; ++again) CHECK(run<M>(c, in, {}, in.pred.data(), in.pred16.data()) == first);
      // The same predictions at every offset of a 64-byte line (1 to 15 elements further on): a
      // kernel that peeled to alignment would round differently at each.
      for (std::size_t shift = 1; shift < 16; shift += 3) {
        CAPTURE(shift);
        std::vector<float> moved(in.pred.size() + 16);
        std::vector<xent::float16> moved16(in.pred16.size() + 16);
        std::copy(in.pred.begin(), in.pred.end(), moved.begin() + static_cast<long>(shift));
        std::copy(in.pred16.begin(), in.pred16.end(), moved16.begin() + static_cast<long>(shift));
        CHECK(run<M>(c, in, {}, moved.data() + shift, moved16.data() + shift) == first);
        // Chunked the same way twice: the same bits too.
        CHECK(run<M>(c, in, {7, 64}, moved.data() + shift, moved16.data() + shift) ==
              run<M>(c, in, {7, 64}, in.pred.data(), in.pred16.data()));
      }
    });
  }
}

TEST_CASE("determinism: chunkings agree within the double accumulation bound") {
  // Row counts per update, cycled: single rows, odd sizes across the library's 32/64-row blocks, a mix.
  const std::vector<std::vector<std::size_t>> chunkings = {{1}, {3}, {31, 33}, {63, 64, 65}, {257}, {1, 500, 2, 77}};
  double worst = 0.0;  // the largest |difference| / bound seen
  for (const Case& c : cases()) {
    CAPTURE(c.name());
    const Inputs in(c);
    // Per-element losses of the whole batch, and of each piece of a chunking: the same bits.
    std::vector<float> whole(c.rows);
    const auto losses = [&](std::size_t o0, std::size_t o1, float* out) {
      const std::size_t v0 = o0 * c.inner(), p0 = o0 * c.k * c.inner(), n = (o1 - o0) * c.inner();
      const Shape ps = c.pred_shape(o1 - o0), vs = c.v_shape(o1 - o0);
      auto go = [&](auto p) {
        if (c.sparse) return xent::sparse_categorical_crossentropy(view(in.labels.data() + v0, vs), p, out, n,
                                                                    options_of<xent::SparseOptions>(c));
        return xent::categorical_crossentropy(view(in.truth.data() + p0, ps), p, out, n,
                                              options_of<xent::CategoricalOptions>(c));
      };
      return c.half ? go(view(in.pred16.data() + p0, ps)) : go(view(in.pred.data() + p0, ps));
    };
    REQUIRE(losses(0, c.outer(), whole.data()) == Status::ok);
    double sum_abs = 0.0, sum_w = 0.0;
    for (std::size_t e = 0; e < c.rows; ++e) {
      const double w = c.weighted ? static_cast<double>(in.weights[e]) : 1.0;
      sum_abs += std::fabs(w * static_cast<double>(whole[e]));
      sum_w += std::fabs(w);
    }
    for_metric(c, [&](auto tag) {
      using M = decltype(tag);
      const Sums one = run<M>(c, in, {}, in.pred.data(), in.pred16.data());
      for (const auto& chunks : chunkings) {
        CAPTURE(chunks[0]);
        std::vector<float> pieces(c.rows);
        std::size_t o = 0, updates = 0;
        for (std::size_t i = 0; o < c.outer(); ++i, ++updates) {
          const std::size_t o1 = std::min(c.outer(), o + chunks[i % chunks.size()]);
          REQUIRE(losses(o, o1, pieces.data() + o * c.inner()) == Status::ok);
          o = o1;
        }
        CHECK(std::memcmp(pieces.data(), whole.data(), whole.size() * sizeof(float)) == 0);
        const Sums many = run<M>(c, in, chunks, in.pred.data(), in.pred16.data());
        const double n = static_cast<double>(c.rows + updates);
        const double bound = n * kEps * sum_abs, count_bound = n * kEps * sum_w;
        CHECK(std::fabs(many.total - one.total) <= bound);
        CHECK(std::fabs(many.count - one.count) <= count_bound);
        if (bound > 0) worst = std::max(worst, std::fabs(many.total - one.total) / bound);
        // The result is total / count rounded to float once: at most an ulp apart.
        CHECK(mt::ulp_distance(many.result, one.result) <= 1);
        for (std::size_t k = 0; k < c.k; ++k) CHECK(std::fabs(many.class_total[k] - one.class_total[k]) <= bound);
      }
    });
  }
  MESSAGE("chunkings: largest total difference " << worst << " of the bound (n + c) eps sum|w loss|");
}

TEST_CASE("determinism: rows that leave the fast paths (zero, subnormal, infinite totals) do not move their neighbours") {
  // Categorical probabilities whose row total is 0 (a NaN loss, as Keras), subnormal or infinite
  // take the row-by-row division; the rows beside them must keep their own path's bits whatever
  // the chunking (they once went row by row together with such a row's whole group).
  for (const std::size_t k : {4u, 10u, 16u}) {
    CAPTURE(k);
    const std::size_t rows = 203;
    xent::test::Rng rng(k);
    std::vector<float> p(rows * k), t(rows * k, 0.0f);
    for (std::size_t i = 0; i < p.size(); ++i) p[i] = static_cast<float>(rng.uniform());
    for (std::size_t r = 0; r < rows; ++r) t[r * k + r % k] = 1.0f;
    for (std::size_t j = 0; j < k; ++j) {
      p[5 * k + j] = 0.0f;      // S = 0: 0 / 0
      p[77 * k + j] = 1e-41f;   // S subnormal
      p[150 * k + j] = 3e38f;   // S = inf
    }
    const auto losses = [&](std::size_t r0, std::size_t r1, float* out) {
      return xent::categorical_crossentropy(view(t.data() + r0 * k, {r1 - r0, k}), view(p.data() + r0 * k, {r1 - r0, k}), out,
                                            r1 - r0);
    };
    std::vector<float> whole(rows);
    REQUIRE(losses(0, rows, whole.data()) == Status::ok);
    CHECK(std::isnan(whole[5]));
    for (const std::size_t chunk : {1u, 2u, 3u, 5u, 15u, 17u, 33u}) {
      CAPTURE(chunk);
      std::vector<float> pieces(rows);
      for (std::size_t r0 = 0; r0 < rows; r0 += chunk) REQUIRE(losses(r0, std::min(rows, r0 + chunk), pieces.data() + r0) == Status::ok);
      CHECK(std::memcmp(pieces.data(), whole.data(), rows * sizeof(float)) == 0);
    }
  }
}

TEST_CASE("determinism: this run's instruction set against float64, within the kernel bounds") {
  // ctest runs the suite once per forced ISA (x86) or per target (ARM): each run checks its own.
  double worst = 0.0;
  for (const Case& c : cases()) {
    CAPTURE(c.name());
    const Inputs in(c);
    const xref::Batch ref = reference(c, in);
    double sum_abs = 0.0;
    for (std::size_t e = 0; e < c.rows; ++e)
      sum_abs += std::fabs(ref.losses[e].value * (c.weighted ? static_cast<double>(in.weights[e]) : 1.0));
    for_metric(c, [&](auto tag) {
      using M = decltype(tag);
      const Sums got = run<M>(c, in, {100}, in.pred.data(), in.pred16.data());
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

// Per-element losses of a case from one table, block by block as the metric calls it.
std::vector<float> table_losses(const xent::detail::KernelTable& table, const Case& c, const Inputs& in) {
  using xent::detail::DType;
  xent::detail::LossParams params;
  params.from_logits = c.logits;
  params.label_smoothing = c.ls;
  std::vector<float> out(c.rows);
  const void* base = c.half ? static_cast<const void*>(in.pred16.data()) : in.pred.data();
  const std::size_t item = c.half ? 2 : 4;
  const std::size_t block = c.interleaved ? c.inner() : 64;
  for (std::size_t e = 0; e < c.rows; e += block) {
    const std::size_t rows = std::min(block, c.rows - e);
    // Contiguous rows of K, or (class axis 1) the 8 positions of one outer slice, classes 8 apart.
    const std::size_t at = c.interleaved ? (e / 8) * c.k * 8 : e * c.k;
    xent::detail::Rows pred{static_cast<const unsigned char*>(base) + at * item, c.half ? DType::f16 : DType::f32,
                            rows, c.k, c.interleaved ? std::size_t{1} : c.k, c.interleaved ? std::size_t{8} : std::size_t{1}};
    if (c.sparse) {
      table.sparse_rows(pred, in.labels.data() + e, params, out.data() + e);
    } else {
      xent::detail::Rows truth = pred;
      truth.data = in.truth.data() + at;
      truth.type = DType::f32;
      table.categorical_rows(pred, truth, params, out.data() + e);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("determinism: every reachable ISA table agrees with float64 and with the others") {
  const auto tables = reachable_tables();
  std::string names;
  for (const auto* t : tables) names += std::string(t->name) + " ";
  MESSAGE("tables compared: " << names);
  double worst_pair = 0.0;  // the largest |a - b| / (tol_a + tol_b) of a row between two tables
  for (const Case& c : cases()) {
    CAPTURE(c.name());
    const Inputs in(c);
    const xref::Batch ref = reference(c, in);
    std::vector<std::vector<float>> losses;
    std::vector<double> totals;
    for (const auto* t : tables) {
      CAPTURE(t->name);
      losses.push_back(table_losses(*t, c, in));
      double total = 0.0;
      std::size_t bad = 0;
      for (std::size_t e = 0; e < c.rows; ++e) {
        const double l = static_cast<double>(losses.back()[e]);
        if (!(std::fabs(l - ref.losses[e].value) <= ref.losses[e].tol)) ++bad;
        total += l * (c.weighted ? static_cast<double>(in.weights[e]) : 1.0);
      }
      CHECK(bad == 0);
      totals.push_back(total);
    }
    for (std::size_t a = 0; a < tables.size(); ++a)
      for (std::size_t b = a + 1; b < tables.size(); ++b) {
        CAPTURE(tables[a]->name);
        CAPTURE(tables[b]->name);
        double sum_tol = 0.0, sum_abs = 0.0;
        std::size_t apart = 0;  // rows further apart than both tolerances
        for (std::size_t e = 0; e < c.rows; ++e) {
          const double w = c.weighted ? static_cast<double>(in.weights[e]) : 1.0;
          const double tol = 2.0 * ref.losses[e].tol;
          const double diff = std::fabs(static_cast<double>(losses[a][e]) - static_cast<double>(losses[b][e]));
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
