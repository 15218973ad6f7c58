// Vector table and reset for the QEMU Cortex-M boards the tests run on: enable the FPU (and on the
// M55 Helium, which shares its enable bits), copy .data, clear .bss, run the C++ constructors, then
// exit(main(argc, argv)) with the arguments the host passed through semihosting. A fault prints
// the fault status registers and exits with status 3, so ctest sees a failure, not a hang.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "semihost.h"

extern uint32_t __data_load[], __data_start[], __data_end[], __bss_start[], __bss_end[];
extern char __stack_top[];
extern void __libc_init_array(void);
int main(int argc, char** argv);

void xent_reset(void) __attribute__((noreturn));
static void xent_fault(void);

// -nostartfiles leaves out crti/crtbegin: what __libc_init_array and atexit expect from them.
void _init(void) {}
void _fini(void) {}
void* __dso_handle = &__dso_handle;

__attribute__((section(".vectors"), used)) const uintptr_t xent_vectors[16] = {
    (uintptr_t)__stack_top,   // initial stack pointer
    (uintptr_t)xent_reset,    // reset
    (uintptr_t)xent_fault,    // NMI
    (uintptr_t)xent_fault,    // HardFault
    (uintptr_t)xent_fault,    // MemManage
    (uintptr_t)xent_fault,    // BusFault
    (uintptr_t)xent_fault,    // UsageFault
    (uintptr_t)xent_fault,    // SecureFault (v8-M)
    0, 0, 0,
    (uintptr_t)xent_fault,    // SVCall
    (uintptr_t)xent_fault,    // DebugMonitor
    0,
    (uintptr_t)xent_fault,    // PendSV
    (uintptr_t)xent_fault,    // SysTick
};

#define XENT_REG(addr) (*(volatile uint32_t*)(addr))

static void xent_fault(void) {
  static const char kHex[] = "0123456789abcdef";
  char line[] = "xent port: fault, CFSR 0x........ HFSR 0x........\n";
  const uint32_t regs[2] = {XENT_REG(0xE000ED28u), XENT_REG(0xE000ED2Cu)};
  for (int r = 0; r < 2; ++r) {
    char* digits = line + (r == 0 ? 25 : 42);
    for (int i = 0; i < 8; ++i) digits[i] = kHex[(regs[r] >> (28 - 4 * i)) & 0xFu];
  }
  xent_semihost_write(2, line, sizeof line - 1);
  xent_semihost_exit(3);
}

// Splits the host's command line into argv: arguments separated by spaces, each possibly in
// double quotes with \" and \\ inside (run.sh quotes every argument, so spaces survive).
static int split_args(char* s, char** argv, int max) {
  int argc = 0;
  while (*s != '\0' && argc < max) {
    while (*s == ' ') ++s;
    if (*s == '\0') break;
    char* out = s;
    argv[argc++] = out;
    int quoted = 0;
    for (; *s != '\0' && (quoted || *s != ' '); ++s) {
      if (*s == '"') {
        quoted = !quoted;
      } else if (quoted && *s == '\\' && (s[1] == '"' || s[1] == '\\')) {
        *out++ = *++s;
      } else {
        *out++ = *s;
      }
    }
    if (*s != '\0') ++s;
    *out = '\0';
  }
  argv[argc] = NULL;
  return argc;
}

void xent_reset(void) {
  XENT_REG(0xE000ED88u) |= 0xFu << 20;  // CPACR: full access to CP10 and CP11 (FPU, MVE)
  __asm__ volatile("dsb\n\tisb" ::: "memory");
  for (uint32_t *src = __data_load, *dst = __data_start; dst < __data_end;) *dst++ = *src++;
  for (uint32_t* dst = __bss_start; dst < __bss_end;) *dst++ = 0;
  __libc_init_array();
  // Line-buffered output: what a test printed survives an abort(), which skips the final flush.
  setvbuf(stdout, NULL, _IOLBF, 256);
  setvbuf(stderr, NULL, _IONBF, 0);

  static char cmdline[1024];
  static char* argv[32];
  int argc = 0;
  if (xent_semihost_cmdline(cmdline, sizeof cmdline) == 0) argc = split_args(cmdline, argv, 31);
  if (argc == 0) {
    static char name[] = "xent";
    argv[0] = name;
    argv[1] = NULL;
    argc = 1;
  }
  exit(main(argc, argv));
}
