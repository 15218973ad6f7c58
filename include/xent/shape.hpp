#pragma once
// Fixed-capacity shapes and non-owning dense views: no allocation anywhere.
#include <cstddef>
#include <initializer_list>

namespace xent {

inline constexpr std::size_t kMaxRank = 8;

class Shape {
 public:
  constexpr Shape() noexcept = default;  // rank 0: a scalar
  // More than kMaxRank dims gives an invalid shape (rank kMaxRank + 1) that every call rejects
  // with Status::rank_out_of_range; the extra dims are not stored.
  constexpr Shape(std::initializer_list<std::size_t> dims) noexcept {
    for (std::size_t d : dims) {
      if (rank_ < kMaxRank) dims_[rank_] = d;
      if (rank_ <= kMaxRank) ++rank_;
    }
  }
  constexpr std::size_t rank() const noexcept { return rank_; }
  constexpr std::size_t operator[](std::size_t i) const noexcept { return i < kMaxRank ? dims_[i] : 0; }
  // Product of the dims (1 for rank 0). Saturates at SIZE_MAX instead of wrapping.
  constexpr std::size_t size() const noexcept {
    std::size_t n = 1;
    const std::size_t stored = rank_ < kMaxRank ? rank_ : kMaxRank;
    for (std::size_t i = 0; i < stored; ++i) {
      if (dims_[i] == 0) return 0;
      if (n > static_cast<std::size_t>(-1) / dims_[i]) n = static_cast<std::size_t>(-1);
      else n *= dims_[i];
    }
    return n;
  }
  constexpr bool valid() const noexcept { return rank_ <= kMaxRank; }
  // Builds a shape from a pointer and a count (rank > kMaxRank gives an invalid shape). Reads at
  // most kMaxRank dims and stops one past them, so any rank (a C caller's garbage size_t) is cheap.
  static constexpr Shape from(const std::size_t* dims, std::size_t rank) noexcept {
    Shape s;
    const std::size_t n = rank > kMaxRank ? kMaxRank + 1 : rank;
    for (std::size_t i = 0; i < n; ++i) {
      if (s.rank_ < kMaxRank) s.dims_[s.rank_] = dims[i];
      if (s.rank_ <= kMaxRank) ++s.rank_;
    }
    return s;
  }

 private:
  std::size_t dims_[kMaxRank] = {};
  std::size_t rank_ = 0;
};

constexpr bool operator==(const Shape& a, const Shape& b) noexcept {
  if (a.rank() != b.rank()) return false;
  for (std::size_t i = 0; i < a.rank() && i < kMaxRank; ++i)
    if (a[i] != b[i]) return false;
  return true;
}
constexpr bool operator!=(const Shape& a, const Shape& b) noexcept { return !(a == b); }

template <class T>
struct View {
  const T* data = nullptr;
  Shape shape;
};

template <class T>
constexpr View<T> view(const T* data, Shape shape) noexcept { return View<T>{data, shape}; }

}  // namespace xent
