/* The plugin's own check: regions whose instruction counts are known from the code itself.
 * Each region is one asm statement (the calls to the markers included), so the compiler cannot
 * add a single instruction to it. Counted: everything after xent_count_begin returns, up to and
 * including the call into xent_count_end (the markers' own instructions are excluded):
 *   region 0: the call alone                                       1
 *   region 1: mov + 100 x (subtract, branch back) + the call       202
 *   region 2: the same with 1000 iterations                        2002
 * ctest compares the plugin's output with these numbers on aarch64 and on armv7 (Thumb-2). */

/* The markers, as the measured programs write them (plain C: a return instruction each). */
__attribute__((noinline)) void xent_count_begin(void) { __asm__ volatile("" ::: "memory"); }
__attribute__((noinline)) void xent_count_end(void) { __asm__ volatile("" ::: "memory"); }

#if defined(__aarch64__)
#define XENT_CALL(f) "bl " #f "\n"
#define XENT_LOOP(n) "mov x0, #" #n "\n1: subs x0, x0, #1\nb.ne 1b\n"
#define XENT_CLOBBERS "x0", "x30", "cc", "memory"
#elif defined(__arm__)
#define XENT_CALL(f) "bl " #f "\n"
#define XENT_LOOP(n) "movw r0, #" #n "\n1: subs r0, r0, #1\nbne 1b\n"
#define XENT_CLOBBERS "r0", "lr", "cc", "memory"
#else
#error "count_probe.c is for aarch64 and armv7"
#endif

int main(void) {
  __asm__ volatile(XENT_CALL(xent_count_begin) XENT_CALL(xent_count_end) ::: XENT_CLOBBERS);
  __asm__ volatile(XENT_CALL(xent_count_begin) XENT_LOOP(100) XENT_CALL(xent_count_end) ::: XENT_CLOBBERS);
  __asm__ volatile(XENT_CALL(xent_count_begin) XENT_LOOP(1000) XENT_CALL(xent_count_end) ::: XENT_CLOBBERS);
  return 0;
}
