#pragma once
// Counting heap allocations in a test program: global operator new/delete are replaced here and
// count every allocation while armed; on glibc without AddressSanitizer, malloc/calloc/realloc are
// wrapped too (ASan owns malloc, so under it only operator new is counted). The replacements are
// definitions: include this header in exactly one translation unit of a program
// (tests/test_alloc.cpp in xent_tests, tests/soak.cpp in xent_soak).
#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#define XENT_TEST_COUNT_MALLOC 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define XENT_TEST_COUNT_MALLOC 0
#endif
#endif
#if !defined(XENT_TEST_COUNT_MALLOC)
#if defined(__GLIBC__)
#define XENT_TEST_COUNT_MALLOC 1
#else
#define XENT_TEST_COUNT_MALLOC 0
#endif
#endif

namespace alloc_count {
inline std::atomic<bool> g_armed{false};
inline std::atomic<long> g_news{0};
inline std::atomic<long> g_mallocs{0};
}  // namespace alloc_count

// Replaced global allocation functions (any translation unit may define them; these count).
void* operator new(std::size_t n) {
  if (alloc_count::g_armed.load(std::memory_order_relaxed)) alloc_count::g_news.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  std::abort();  // the suite may build without exceptions: no bad_alloc
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  if (alloc_count::g_armed.load(std::memory_order_relaxed)) alloc_count::g_news.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

#if XENT_TEST_COUNT_MALLOC
// glibc's own allocator stays underneath (__libc_*), so memory from either side frees correctly.
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* malloc(std::size_t n) noexcept {
  if (alloc_count::g_armed.load(std::memory_order_relaxed))
    alloc_count::g_mallocs.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(n);
}
void* calloc(std::size_t n, std::size_t s) noexcept {
  if (alloc_count::g_armed.load(std::memory_order_relaxed))
    alloc_count::g_mallocs.fetch_add(1, std::memory_order_relaxed);
  return __libc_calloc(n, s);
}
void* realloc(void* p, std::size_t n) noexcept {
  if (alloc_count::g_armed.load(std::memory_order_relaxed))
    alloc_count::g_mallocs.fetch_add(1, std::memory_order_relaxed);
  return __libc_realloc(p, n);
}
}
#endif

namespace alloc_count {

struct Counts {
  long news, mallocs;
};
inline Counts counting_start() {
  g_news = 0;
  g_mallocs = 0;
  g_armed = true;
  return {0, 0};
}
inline Counts counting_stop() {
  g_armed = false;
  return {g_news.load(), g_mallocs.load()};
}

}  // namespace alloc_count
