// Semihosting calls (see semihost.h), and the newlib system calls built on them: output to the
// host's stdout/stderr, exit with a status, a heap between the linker script's __heap_start and
// __heap_end. Everything else (files, time, signals) reports that it is unavailable.
#include "semihost.h"

#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/times.h>

enum {
  kSysOpen = 0x01,
  kSysWrite = 0x05,
  kSysGetCmdline = 0x15,
  kSysExitExtended = 0x20,
  kApplicationExit = 0x20026,  // ADP_Stopped_ApplicationExit
};

static int semihost_call(int op, void* block) {
  register int r0 __asm__("r0") = op;
  register void* r1 __asm__("r1") = block;
  __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

// ":tt" opened for writing is the host's stdout, opened for appending its stderr.
static int console_handle(int fd) {
  static int handles[2] = {-1, -1};
  int* h = &handles[fd == 2];
  if (*h < 0) {
    uintptr_t block[3] = {(uintptr_t)":tt", fd == 2 ? 8u : 4u, 3u};
    *h = semihost_call(kSysOpen, block);
  }
  return *h;
}

size_t xent_semihost_write(int fd, const void* data, size_t n) {
  const int h = console_handle(fd);
  if (h < 0) return 0;
  uintptr_t block[3] = {(uintptr_t)h, (uintptr_t)data, n};
  return n - (size_t)semihost_call(kSysWrite, block);  // the call returns the bytes not written
}

void xent_semihost_exit(int status) {
  uintptr_t block[2] = {kApplicationExit, (uintptr_t)status};
  semihost_call(kSysExitExtended, block);
  for (;;) __asm__ volatile("bkpt 0");
}

int xent_semihost_cmdline(char* buf, size_t size) {
  uintptr_t block[2] = {(uintptr_t)buf, size};
  return semihost_call(kSysGetCmdline, block);
}

// ---- newlib's system calls -------------------------------------------------------------------

extern char __heap_start[], __heap_end[];

void* _sbrk(ptrdiff_t increment) {
  static char* brk = __heap_start;
  if (increment > __heap_end - brk || increment < __heap_start - brk) {
    static const char kMessage[] = "xent port: out of heap\n";
    xent_semihost_write(2, kMessage, sizeof kMessage - 1);
    errno = ENOMEM;
    return (void*)-1;
  }
  char* old = brk;
  brk += increment;
  return old;
}

int _write(int fd, const char* data, int n) {
  if (fd != 1 && fd != 2) {
    errno = EBADF;
    return -1;
  }
  return (int)xent_semihost_write(fd, data, (size_t)n);
}

void _exit(int status) { xent_semihost_exit(status); }

int _read(int fd, char* data, int n) {
  (void)fd, (void)data, (void)n;
  return 0;  // end of input
}
int _open(const char* path, int flags, int mode) {
  (void)path, (void)flags, (void)mode;
  errno = ENOENT;  // no file system
  return -1;
}
int _close(int fd) {
  (void)fd;
  errno = EBADF;
  return -1;
}
int _fstat(int fd, struct stat* st) {
  (void)fd;
  st->st_mode = S_IFCHR;
  return 0;
}
// Not a terminal: the host side is a pipe to ctest (and doctest would colour a terminal's output).
int _isatty(int fd) {
  (void)fd;
  return 0;
}
int _lseek(int fd, int offset, int whence) {
  (void)fd, (void)offset, (void)whence;
  errno = ESPIPE;
  return -1;
}
// raise() ends here (abort(), std::terminate): say so, since the exit status alone is 1.
int _kill(int pid, int sig) {
  (void)pid;
  static const char kMessage[] = "xent port: terminated by a signal (abort)\n";
  xent_semihost_write(2, kMessage, sizeof kMessage - 1);
  xent_semihost_exit(128 + sig);
}
int _getpid(void) { return 1; }
int _gettimeofday(struct timeval* tv, void* tz) {
  (void)tz;
  tv->tv_sec = 0;
  tv->tv_usec = 0;
  return 0;
}
clock_t _times(struct tms* t) {  // no clock either: clock() reads 0 (the soak test times itself with it)
  t->tms_utime = t->tms_stime = t->tms_cutime = t->tms_cstime = 0;
  return 0;
}
