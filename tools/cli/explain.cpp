// find_bad_label: the one non-template piece of explain.hpp.
#include "cli/explain.hpp"

namespace xent::cli {

bool find_bad_label(const Chunk& c, std::size_t classes, const std::optional<std::int64_t>& ignore,
                    std::size_t& at, std::string& text) {
  const std::size_t n = c.shape.size();
  const auto bad_int = [&](std::int64_t v) {
    if (ignore && v == *ignore) return false;
    return v < 0 || static_cast<std::uint64_t>(v) >= classes;
  };
  for (std::size_t i = 0; i < n; ++i) {
    std::int64_t v = 0;
    switch (c.elem) {
      case Elem::i32: v = static_cast<const std::int32_t*>(c.data)[i]; break;
      case Elem::i64: v = static_cast<const std::int64_t*>(c.data)[i]; break;
      case Elem::u8: v = static_cast<const std::uint8_t*>(c.data)[i]; break;
      case Elem::u16: v = static_cast<const std::uint16_t*>(c.data)[i]; break;
      default: {
        const float f = static_cast<const float*>(c.data)[i];
        // A float label is truncated toward zero; NaN, inf and values beyond int64 are always bad.
        if (!std::isfinite(f) || std::fabs(f) >= 9.2e18f || bad_int(static_cast<std::int64_t>(f))) {
          at = i;
          text = float_text(static_cast<double>(f));
          return true;
        }
        continue;
      }
    }
    if (bad_int(v)) {
      at = i;
      text = std::to_string(v);
      return true;
    }
  }
  return false;
}

}  // namespace xent::cli
