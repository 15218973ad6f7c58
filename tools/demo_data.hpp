#pragma once
// The bundled digits data set, embedded at build time by tools/embed.cmake.
#include <cstddef>

namespace xent::cli {

struct EmbeddedFile {
  const char* name;            // file name in data/, e.g. "digits_logits.npy"
  const unsigned char* bytes;  // the whole .npy file, 64-byte aligned
  std::size_t size;
};
struct EmbeddedValue {
  const char* key;  // a numeric member of data/digits_reference.json, or "FILE/KEY" of
                    // data/digits_quantized.json's "files" (from_logits as 1 or 0)
  double value;
};

extern const EmbeddedFile kDemoFiles[];
extern const std::size_t kDemoFileCount;
extern const EmbeddedValue kDemoReferences[];
extern const std::size_t kDemoReferenceCount;

}  // namespace xent::cli
