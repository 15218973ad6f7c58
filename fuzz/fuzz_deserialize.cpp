// Fuzzes deserialize of both metrics (MaxClasses 0, 1, 4, 33; any options; with or without state)
// on arbitrary bytes, on the metric's own serialization with bytes patched, cut or appended, and
// on bytes resealed with a valid CRC-32 so the checks behind it are reached.
// Invariants: an error leaves serialize()'s bytes identical; an ok round-trips (serialize gives
// back the first serialized_size bytes read); the metric's own bytes, and its own bytes with only
// the stored sums changed and resealed, are always accepted (any double is a state a metric can
// reach: NaN totals, negative counts).
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "fuzz_decode.hpp"
#include "metric_test_util.hpp"

namespace {

using xent::Status;

template <class M>
std::vector<unsigned char> state_bytes(const M& m) {
  std::vector<unsigned char> b(M::serialized_size);
  fz::require(m.serialize(b.data(), b.size()) == Status::ok, "serialize of a metric failed");
  return b;
}

void reseal(std::vector<unsigned char>& b, std::size_t need) {
  if (b.size() < need || need < 4) return;
  const std::uint32_t crc = mt::crc32(b.data(), need - 4);
  for (std::size_t i = 0; i < 4; ++i) b[need - 4 + i] = static_cast<unsigned char>(crc >> (8 * i));
}

template <class M>
void run(fz::Bytes& in, const typename M::Options& options, bool with_state) {
  M m(options);
  if (with_state) {
    using namespace mt::worked;
    if constexpr (std::is_same_v<typename M::Options, xent::SparseOptions>)
      (void)m.update_state(xent::view(kLabels, {2}), xent::view(kPred, {2, 3}), xent::view(kWeights, {2}));
    else
      (void)m.update_state(xent::view(kOneHot, {2, 3}), xent::view(kPred, {2, 3}), xent::view(kWeights, {2}));
  }
  const std::vector<unsigned char> before = state_bytes(m);
  constexpr std::size_t need = M::serialized_size;

  // The bytes to read, in a heap buffer of exactly their size.
  std::vector<unsigned char> bytes;
  bool must_accept = false;
  bool null_input = false;
  switch (in.pick(5)) {
    case 0: bytes = in.rest(); break;  // anything
    case 1: bytes = in.rest(), reseal(bytes, need); break;
    case 2: {  // our own bytes with patches, resealed or not
      bytes = before;
      const bool seal = in.flag();
      const std::size_t patches = in.pick(8);
      bool sums_only = true;
      for (std::size_t p = 0; p < patches; ++p) {
        const std::size_t at = in.u16() % need;
        bytes[at] = in.u8();
        sums_only = sums_only && at >= 32 && at + 4 < need;
      }
      if (seal) reseal(bytes, need);
      must_accept = sums_only && (seal || patches == 0);
      break;
    }
    case 3: {  // our own bytes cut short or with bytes after them
      bytes = before;
      const std::size_t keep = in.u16();
      if (keep < bytes.size()) bytes.resize(keep);
      const std::vector<unsigned char> extra = in.rest();
      bytes.insert(bytes.end(), extra.begin(), extra.end());
      must_accept = keep >= need;
      break;
    }
    default: null_input = true; break;
  }
  const std::size_t size = null_input ? in.u8() % 2 : bytes.size();
  std::vector<unsigned char> buffer(bytes);  // exact size; data() may be null when empty
  const unsigned char* ptr = null_input ? nullptr : buffer.data();

  const Status s = m.deserialize(ptr, size);
  if (s != Status::ok) {
    fz::require(state_bytes(m) == before, "a failed deserialize changed the state");
    fz::require(!must_accept, "a metric's own (resealed) bytes were refused");
    return;
  }
  fz::require(size >= need && ptr != nullptr, "deserialize accepted fewer than serialized_size bytes");
  const std::vector<unsigned char> after = state_bytes(m);
  fz::require(std::memcmp(after.data(), ptr, need) == 0, "deserialize then serialize did not round-trip");
}

template <template <std::size_t> class Metric, class Options>
void run_kind(fz::Bytes& in, const Options& o, bool with_state) {
  switch (in.pick(4)) {
    case 0: return run<Metric<0>>(in, o, with_state);
    case 1: return run<Metric<1>>(in, o, with_state);
    case 2: return run<Metric<4>>(in, o, with_state);
    default: return run<Metric<33>>(in, o, with_state);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fz::Bytes in(data, size);
  const bool sparse = in.flag();
  const std::uint8_t flags = in.u8();
  const float ls = fz::detail::decode_ls(in);
  const int axis = static_cast<std::int8_t>(in.u8());
  const std::uint8_t ignore = in.u8();
  const bool with_state = in.flag();
  const xent::NanPolicy nan = (flags & 4u) != 0 ? xent::NanPolicy::reject : xent::NanPolicy::propagate;
  if (sparse) {
    xent::SparseOptions o;
    o.from_logits = (flags & 1u) != 0;
    o.per_class = (flags & 2u) != 0;
    o.nan_policy = nan;
    o.label_smoothing = ls;
    o.axis = axis;
    if ((flags & 8u) != 0) o.ignore_class = static_cast<std::int8_t>(ignore);
    run_kind<xent::SparseCategoricalCrossentropy>(in, o, with_state);
  } else {
    xent::CategoricalOptions o;
    o.from_logits = (flags & 1u) != 0;
    o.per_class = (flags & 2u) != 0;
    o.nan_policy = nan;
    o.label_smoothing = ls;
    o.axis = axis;
    run_kind<xent::CategoricalCrossentropy>(in, o, with_state);
  }
  return 0;
}
