// Arm semihosting: the debugger (here QEMU) performs I/O for the program. Calls are `bkpt 0xab`
// with the operation in r0 and a pointer to its parameter block in r1; the result comes back in r0.
#pragma once
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

// Writes n bytes to the host's stdout (fd 1) or stderr (fd 2); returns the count written.
size_t xent_semihost_write(int fd, const void* data, size_t n);
// Ends the emulation with this exit status (SYS_EXIT_EXTENDED); never returns.
void xent_semihost_exit(int status) __attribute__((noreturn));
// The command line the host passed (QEMU: -semihosting-config arg=...), NUL-terminated in buf.
// Returns 0 on success.
int xent_semihost_cmdline(char* buf, size_t size);

#ifdef __cplusplus
}
#endif
