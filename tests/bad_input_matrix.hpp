#pragma once
// The bad-input matrix's bookkeeping (tests/test_bad_input_matrix.cpp, _c.cpp): the Statuses each
// public entry point can return (declared here from reading the code), the ones the tests provoked,
// and the checks every failing call must pass.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "metric_test_util.hpp"

namespace matrix {

using xent::Status;

// Every update of a metric can return these; sparse ones also label_out_of_range.
inline constexpr std::initializer_list<Status> kUpdate = {
    Status::null_data,  Status::rank_out_of_range, Status::shape_mismatch,  Status::too_many_classes,
    Status::no_classes, Status::invalid_option,    Status::non_finite_input};

struct Coverage {
  std::map<std::string, std::set<Status>> declared, provoked;
  std::size_t calls = 0;

  void declare(const std::string& entry, std::initializer_list<Status> statuses, bool sparse = false) {
    for (Status s : statuses) declared[entry].insert(s);
    if (sparse) declared[entry].insert(Status::label_out_of_range);
  }
  // One failing call: its status must be the one the input provokes, and one the entry point declares.
  void record(const std::string& entry, const std::string& what, Status got, Status want) {
    INFO(entry << ": " << what);
    CHECK(static_cast<int>(got) == static_cast<int>(want));
    CHECK(declared[entry].count(want) == 1);
    if (got == want) provoked[entry].insert(got);
    ++calls;
  }
  std::size_t cells(const std::map<std::string, std::set<Status>>& m) const {
    std::size_t n = 0;
    for (const auto& e : m) n += e.second.size();
    return n;
  }
  // Every declared cell provoked at least once.
  void check_complete() const {
    for (const auto& e : declared)
      for (Status s : e.second) {
        INFO(e.first << " x status " << static_cast<int>(s) << " (" << xent::status_message(s) << ")");
        CHECK(provoked.count(e.first) == 1);
        if (provoked.count(e.first) == 1) CHECK(provoked.at(e.first).count(s) == 1);
      }
  }
};

// The state of a metric as its serialized bytes.
template <class M>
std::vector<unsigned char> serialized(const M& m) {
  std::vector<unsigned char> b(M::serialized_size);
  REQUIRE(m.serialize(b.data(), b.size()) == Status::ok);
  return b;
}

// A failing call on a metric: the wanted status, and serialize()'s bytes (and the object's raw bytes)
// exactly as before.
template <class M, class Call>
void expect(Coverage& cov, const std::string& entry, const std::string& what, Status want, M& m, Call call) {
  const std::vector<unsigned char> bytes = serialized(m), raw = mt::raw(m);
  const Status got = call();
  cov.record(entry, what, got, want);
  INFO(entry << ": " << what);
  CHECK(serialized(m) == bytes);
  CHECK(mt::raw(m) == raw);
}

inline const float kNaN = std::numeric_limits<float>::quiet_NaN();
inline const float kInf = std::numeric_limits<float>::infinity();
inline constexpr std::size_t kSizeMax = std::numeric_limits<std::size_t>::max();

// The C API's rows (test_bad_input_matrix_c.cpp); returns how many prediction dtypes they ran.
std::size_t c_api_rows(Coverage& cov);

}  // namespace matrix
