// The strict .npy reader: valid files of every version and dtype, every rejection, and a
// fuzz-style sweep of mutated headers that must never crash (run under ASan/UBSan in CI).
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "npy.hpp"
#include "npy_writer.hpp"

using xent::npy::Array;
using xent::npy::DType;
using xent::npy::Error;
using xent::npy::Header;
using xent_test::NpySpec;
using xent_test::npy_bytes;

namespace {

std::vector<unsigned char> file_of(const NpySpec& spec, std::size_t data_bytes) {
  std::vector<unsigned char> data(data_bytes, 0);
  return npy_bytes(spec, data.data(), data.size());
}

NpySpec spec_of(const char* descr, std::vector<std::size_t> shape, unsigned version = 1) {
  NpySpec s;
  s.descr = descr;
  s.shape = std::move(shape);
  s.version = version;
  return s;
}

// Parses a whole buffer; returns the error text ("" on success).
std::string parse_error(const std::vector<unsigned char>& bytes, Array* out = nullptr) {
  Array a;
  Error e;
  const bool ok = xent::npy::parse(bytes.data(), bytes.size(), a, e);
  if (out != nullptr) *out = a;
  CHECK(ok == e.empty());
  return ok ? std::string() : std::string(e.text);
}

bool contains(const std::string& s, const char* what) { return s.find(what) != std::string::npos; }

}  // namespace

TEST_CASE("cli/npy: every supported dtype and version parses with its shape and data offset") {
  struct Case {
    const char* descr;
    DType type;
    std::size_t size;
  };
  const Case cases[] = {{"<f4", DType::f4, 4}, {"<f2", DType::f2, 2}, {"<f8", DType::f8, 8}, {"<i4", DType::i4, 4},
                        {"<i8", DType::i8, 8}, {"|u1", DType::u1, 1}, {"<u2", DType::u2, 2}, {"|b1", DType::b1, 1},
                        {"<u1", DType::u1, 1}, {"<b1", DType::b1, 1}, {"|i1", DType::i1, 1}, {"<i1", DType::i1, 1}};
  for (const Case& c : cases) {
    for (unsigned version = 1; version <= 3; ++version) {
      CAPTURE(c.descr);
      CAPTURE(version);
      const auto bytes = file_of(spec_of(c.descr, {3, 4}, version), 12 * c.size);
      Array a;
      REQUIRE(parse_error(bytes, &a) == "");
      CHECK(a.header.version == version);
      CHECK(a.header.dtype == c.type);
      CHECK(xent::npy::dtype_size(c.type) == c.size);
      CHECK(a.header.rank == 2);
      CHECK(a.header.shape[0] == 3);
      CHECK(a.header.shape[1] == 4);
      CHECK(a.header.count == 12);
      CHECK(a.header.data_bytes == 12 * c.size);
      CHECK(a.header.data_offset % 64 == 0);
      CHECK(a.data == bytes.data() + a.header.data_offset);
    }
  }
}

TEST_CASE("cli/npy: scalar, 1-d, empty and rank-8 shapes") {
  Array a;
  REQUIRE(parse_error(file_of(spec_of("<f4", {}), 4), &a) == "");
  CHECK(a.header.rank == 0);
  CHECK(a.header.count == 1);
  REQUIRE(parse_error(file_of(spec_of("<f4", {7}), 28), &a) == "");
  CHECK(a.header.rank == 1);
  CHECK(a.header.count == 7);
  REQUIRE(parse_error(file_of(spec_of("<f4", {0, 5}), 0), &a) == "");
  CHECK(a.header.count == 0);
  REQUIRE(parse_error(file_of(spec_of("|u1", {1, 2, 1, 2, 1, 2, 1, 2}), 16), &a) == "");
  CHECK(a.header.rank == 8);
  CHECK(a.header.count == 16);
  // Key order, quotes and spacing as other writers produce them; a Python 2 long suffix.
  NpySpec s;
  s.dict_override = "{\"shape\":(2L,3L),\"fortran_order\":False,\"descr\":\"<f4\"}";
  REQUIRE(parse_error(file_of(s, 24), &a) == "");
  CHECK(a.header.count == 6);
}

TEST_CASE("cli/npy: the real data files of data/ parse") {
  const char* names[] = {"digits_labels.npy", "digits_logits.npy", "digits_probs_f16.npy", "digits_logits_i8.npy",
                         "digits_probs_u8.npy"};
  for (const char* name : names) {
    CAPTURE(name);
    std::vector<unsigned char> bytes;
    Array a;
    Error e;
    REQUIRE_MESSAGE(xent::npy::load_npy((std::string(XENT_DATA_DIR) + "/" + name).c_str(), bytes, a, e), e.text);
    CHECK(a.header.shape[0] == 897);
    CHECK(a.aligned());
  }
}

TEST_CASE("cli/npy: rejections name the problem") {
  CHECK(contains(parse_error({}), "truncated header"));
  CHECK(contains(parse_error({'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0, 0, 0}), "bad magic"));
  CHECK(contains(parse_error({0x93, 'N', 'U'}), "truncated header"));
  auto good = file_of(spec_of("<f4", {2, 3}), 24);
  {
    auto b = good;
    b[1] = 'X';
    CHECK(contains(parse_error(b), "bad magic"));
  }
  {
    auto b = good;
    b[6] = 4;
    CHECK(contains(parse_error(b), "version 4.0"));
    b[6] = 1;
    b[7] = 1;
    CHECK(contains(parse_error(b), "version 1.1"));
  }
  for (std::size_t cut = 0; cut < 128; ++cut) {
    CAPTURE(cut);
    CHECK(contains(parse_error(std::vector<unsigned char>(good.begin(), good.begin() + static_cast<long>(cut))),
                   "truncated header"));
  }
  for (std::size_t cut = 128; cut < good.size(); ++cut)
    CHECK(contains(parse_error(std::vector<unsigned char>(good.begin(), good.begin() + static_cast<long>(cut))),
                   "truncated data"));
  {
    auto b = good;
    b.push_back(0);
    CHECK(contains(parse_error(b), "trailing bytes"));
  }
  CHECK(contains(parse_error(file_of(spec_of("<i2", {2}), 4)), "unsupported dtype '<i2'"));
  CHECK(contains(parse_error(file_of(spec_of("<c8", {2}), 16)), "unsupported dtype"));
  CHECK(contains(parse_error(file_of(spec_of("|u2", {2}), 4)), "unsupported dtype"));
  CHECK(contains(parse_error(file_of(spec_of(">f4", {2}), 8)), "big-endian"));
  CHECK(contains(parse_error(file_of(spec_of(">i8", {2}), 16)), "big-endian"));
  {
    NpySpec s = spec_of("<f4", {2, 3});
    s.fortran = "True";
    CHECK(contains(parse_error(file_of(s, 24)), "Fortran"));
  }
  CHECK(contains(parse_error(file_of(spec_of("|u1", {1, 1, 1, 1, 1, 1, 1, 1, 1}), 1)), "rank above 8"));
  {
    // Element counts or byte sizes beyond size_t (64 or 32 bits, by target).
    const bool wide = sizeof(std::size_t) == 8;
    NpySpec s;
    s.dict_override = std::string("{'descr': '<f4', 'fortran_order': False, 'shape': ") +
                      (wide ? "(8589934592, 8589934592)" : "(65536, 65536)") + "}";
    CHECK(contains(parse_error(file_of(s, 0)), "too large"));
    s.dict_override = std::string("{'descr': '<f8', 'fortran_order': False, 'shape': ") +
                      (wide ? "(2305843009213693952,)" : "(536870912,)") + "}";
    CHECK(contains(parse_error(file_of(s, 0)), "too large"));
    s.dict_override = std::string("{'descr': '<f8', 'fortran_order': False, 'shape': ") +
                      (wide ? "(18446744073709551616,)" : "(4294967296,)") + "}";
    CHECK(contains(parse_error(file_of(s, 0)), "does not fit"));
    // A zero dimension makes the array empty, whatever the others.
    s.dict_override = std::string("{'descr': '<f8', 'fortran_order': False, 'shape': ") +
                      (wide ? "(0, 8589934592, 8589934592)" : "(0, 65536, 65536)") + "}";
    Array a;
    CHECK(parse_error(file_of(s, 0), &a) == "");
    CHECK(a.header.count == 0);
  }
  CHECK(contains(parse_error(file_of(spec_of("<f4", {1}), 0)), "truncated data"));
  struct Bad {
    const char* dict;
    const char* message;
  };
  const Bad bad[] = {
      {"{'descr': '<f4', 'fortran_order': False}", "'shape' is missing"},
      {"{'descr': '<f4', 'shape': (2,)}", "'fortran_order' is missing"},
      {"{'fortran_order': False, 'shape': (2,)}", "'descr' is missing"},
      {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", "appears twice"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2)}", "must be a tuple"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': [2]}", "must be a tuple"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}", "non-negative"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (02,)}", "leading zero"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,)}", "does not fit"},
      {"{'descr': '<f4', 'fortran_order': Falsey, 'shape': (2,)}", "True or False"},
      {"{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}", "True or False"},
      {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,)}", "structured"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}", "unexpected key 'extra'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x", "after the dict"},
      {"['descr', '<f4']", "dict"},
      {"{'descr': '<f4' 'fortran_order': False, 'shape': (2,)}", "expected ','"},
      {"{'descr: '<f4', 'fortran_order': False, 'shape': (2,)}", "expected ':'"},
      {"{'descr': '<f\\4', 'fortran_order': False, 'shape': (2,)}", "quoted string"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2 3)}", "expected ',' or ')'"},
  };
  for (const Bad& b : bad) {
    CAPTURE(b.dict);
    NpySpec s;
    s.dict_override = b.dict;
    const std::string e = parse_error(file_of(s, 8));
    CHECK_MESSAGE(contains(e, b.message), e);
  }
  {
    // A version 2 header length beyond the limit is refused before anything is read.
    auto b = file_of(spec_of("<f4", {2}, 2), 8);
    b[11] = 0x7f;
    CHECK(contains(parse_error(b), "above the limit"));
  }
}

TEST_CASE("cli/npy: data alignment is reported, not assumed") {
  int misaligned = 0;
  for (std::size_t pad = 0; pad < 4; ++pad) {
    NpySpec s = spec_of("<f4", {3});
    s.align = 1;
    s.extra_pad = pad;
    auto bytes = file_of(s, 12);
    Array a;
    REQUIRE(parse_error(bytes, &a) == "");
    const bool expect = reinterpret_cast<std::uintptr_t>(a.data) % 4 == 0;
    CHECK(a.aligned() == expect);
    misaligned += expect ? 0 : 1;
  }
  CHECK(misaligned == 3);
}

TEST_CASE("cli/npy: opening checks the file against the header") {
  const std::string dir = XENT_CLI_TEST_DIR;
  const std::string path = dir + "/npy_open_short.npy";
  auto bytes = file_of(spec_of("<f4", {10}), 40);
  bytes.resize(bytes.size() - 3);
  REQUIRE(xent_test::write_bytes(path, bytes));
  xent::npy::File f;
  Header h;
  Error e;
  CHECK_FALSE(xent::npy::open_npy(path.c_str(), f, h, e));
  CHECK(contains(e.text, "truncated data: the header needs 40 bytes of data, the file has 37"));
  bytes.resize(bytes.size() + 4);
  REQUIRE(xent_test::write_bytes(path, bytes));
  CHECK_FALSE(xent::npy::open_npy(path.c_str(), f, h, e));
  CHECK(contains(e.text, "trailing bytes: the file has 1 bytes after the 40 bytes of data"));
  bytes.resize(bytes.size() - 1);
  REQUIRE(xent_test::write_bytes(path, bytes));
  REQUIRE(xent::npy::open_npy(path.c_str(), f, h, e));
  CHECK(f.size() == bytes.size());
  CHECK(h.data_offset + h.data_bytes == bytes.size());
  // A read past the end (as after the file shrank) is an error, never a fault.
  unsigned char past[8];
  CHECK_FALSE(f.read(bytes.size() - 4, past, sizeof past, e));
  CHECK(contains(e.text, "the file shrank to"));
  const std::string empty = dir + "/npy_open_empty.npy";
  REQUIRE(xent_test::write_bytes(empty, {}));
  CHECK_FALSE(xent::npy::open_npy(empty.c_str(), f, h, e));
  CHECK(contains(e.text, "truncated header"));
  CHECK_FALSE(xent::npy::open_npy((dir + "/does-not-exist.npy").c_str(), f, h, e));
  CHECK(contains(e.text, "cannot open"));
  CHECK_FALSE(xent::npy::open_npy(dir.c_str(), f, h, e));
  CHECK(contains(e.text, "not a regular file"));
  // A header longer than one small read (version 2, ~70 KB of padding) is read whole.
  NpySpec wide = spec_of("<f4", {10}, 2);
  wide.extra_pad = 70000;
  const std::string padded = dir + "/npy_open_padded.npy";
  REQUIRE(xent_test::write_bytes(padded, file_of(wide, 40)));
  std::vector<unsigned char> all;
  Array a;
  REQUIRE_MESSAGE(xent::npy::load_npy(padded.c_str(), all, a, e), e.text);
  CHECK(a.header.data_offset > 70000);
  CHECK(a.header.count == 10);
}

TEST_CASE("cli/npy: mutated headers never crash the parser") {
  // Byte flips, insertions and truncations of valid files: each either parses to a header whose
  // data fits the buffer exactly, or fails with a message. ASan/UBSan catch any stray access.
  std::vector<std::vector<unsigned char>> seeds;
  seeds.push_back(file_of(spec_of("<f4", {3, 4}), 48));
  seeds.push_back(file_of(spec_of("<i8", {5}, 2), 40));
  seeds.push_back(file_of(spec_of("|b1", {}, 3), 1));
  seeds.push_back(file_of(spec_of("<f2", {2, 1, 2}), 8));
  const char alphabet[] = "{}()[],:'\" 0123456789LTrueFalsedescrshapefortran_order<>|f4i8u1b1\n\t\\";
  xent_test::Rng rng(7);
  std::size_t parsed = 0;
  const int rounds = XENT_EXHAUSTIVE_TESTS ? 200000 : 20000;
  for (int round = 0; round < rounds; ++round) {
    std::vector<unsigned char> b = seeds[rng.below(seeds.size())];
    const std::size_t edits = 1 + rng.below(4);
    for (std::size_t e = 0; e < edits; ++e) {
      const std::size_t where = rng.below(b.size() + 1);
      switch (rng.below(5)) {
        case 0:  // replace a byte with any byte
          if (where < b.size()) b[where] = static_cast<unsigned char>(rng.next());
          break;
        case 1:  // replace a byte with a grammar character
          if (where < b.size()) b[where] = static_cast<unsigned char>(alphabet[rng.below(sizeof alphabet - 1)]);
          break;
        case 2:  // insert a grammar character
          b.insert(b.begin() + static_cast<long>(where),
                   static_cast<unsigned char>(alphabet[rng.below(sizeof alphabet - 1)]));
          break;
        case 3:  // delete a byte
          if (where < b.size()) b.erase(b.begin() + static_cast<long>(where));
          break;
        default:  // truncate
          b.resize(where);
          break;
      }
    }
    // An exactly sized heap copy, so ASan sees any read past the end.
    std::vector<unsigned char> exact(b);
    Header h;
    Error e;
    if (xent::npy::parse_header(exact.data(), exact.size(), h, e)) {
      CHECK(h.data_offset <= exact.size());
      CHECK(h.rank <= xent::npy::kMaxRank);
    } else {
      CHECK(!e.empty());
    }
    Array a;
    if (xent::npy::parse(exact.data(), exact.size(), a, e)) {
      ++parsed;
      CHECK(a.header.data_offset + a.header.data_bytes == exact.size());
    } else {
      CHECK(std::strlen(e.text) > 0);
    }
  }
  CHECK(parsed > 0);  // the mutations keep some files valid (e.g. padding changes)
}
