/* A qemu-user TCG plugin that counts the guest instructions executed between two marker calls.
 *
 *   qemu-aarch64 -cpu cortex-a72 -plugin libxent_count.so[,out=FILE][,begin=SYM][,end=SYM][,profile=N] ./prog
 *
 * The measured program calls two tiny noinline functions (default symbols xent_count_begin and
 * xent_count_end; they must be in the main executable's symbol table) around each region; the
 * plugin writes one line per region, in call order, to FILE (default stderr):
 *
 *   xent-count region=<index> insns=<guest instructions>
 *
 * profile=N adds, under each region, its N costliest functions and N costliest blocks (start
 * address, instructions per entry, entries, instructions), to read beside objdump -d:
 *
 *   xent-count region=<i> symbol=<name> insns=<n>
 *   xent-count region=<i> block=0x<vaddr> size=<insns> entries=<n> insns=<n> symbol=<name>
 *
 * What is counted: every instruction of every translation block that starts after the begin
 * marker's block and before the end marker's block (the markers' own instructions are excluded,
 * the call into xent_count_end is included). Blocks are counted when entered, which is exact for
 * code that raises no exception inside a block; ARM conditional instructions count whether or not
 * their condition passes. One counter for all threads: measure single-threaded code.
 *
 * Built against the plugin API of QEMU 7.2 (API version 1), which Debian ships without its header:
 * the few declarations used are written out below from the API's documentation.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the QEMU plugin API, version 1 (what QEMU 7.2 loads), only what this plugin uses ---- */
#define XENT_EXPORT __attribute__((visibility("default")))

typedef uint64_t qemu_plugin_id_t;

typedef struct {
  const char *target_name;
  struct {
    int min;
    int cur;
  } version;
  bool system_emulation;
  union {
    struct {
      int smp_vcpus;
      int max_vcpus;
    } system;
  };
} qemu_info_t;

struct qemu_plugin_tb;   /* opaque */
struct qemu_plugin_insn; /* opaque */

enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };

typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, qemu_plugin_vcpu_udata_cb_t cb,
                                          enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op, void *ptr,
                                              uint64_t imm);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
const char *qemu_plugin_insn_symbol(const struct qemu_plugin_insn *insn);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);

XENT_EXPORT extern int qemu_plugin_version;
XENT_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv);

XENT_EXPORT int qemu_plugin_version = 1;

/* ---- the counter ---- */
static uint64_t executed;     /* instructions of every block entered, markers excluded */
static uint64_t region_start; /* `executed` at the open region's begin marker */
static bool region_open;
static unsigned regions;      /* regions closed so far */
static unsigned errors;       /* markers out of order */
static FILE *out;
static const char *begin_symbol = "xent_count_begin";
static const char *end_symbol = "xent_count_end";

/* profile=N: each translated block keeps its own entry counter (an inline add, as `executed`). */
struct block {
  uint64_t entries;
  uint64_t vaddr;
  uint64_t size;
  const char *symbol; /* QEMU's copy of the executable's string table: lives as long as QEMU */
  struct block *next;
};
static unsigned profile_top;
static struct block *blocks;

static void profile_reset(void) {
  for (struct block *b = blocks; b != NULL; b = b->next) b->entries = 0;
}

static int by_insns(const void *a, const void *b) {
  const struct block *x = *(const struct block *const *)a, *y = *(const struct block *const *)b;
  const uint64_t ix = x->entries * x->size, iy = y->entries * y->size;
  return ix < iy ? 1 : ix > iy ? -1 : 0;
}

/* The region's N costliest functions (blocks summed by symbol) and N costliest blocks. */
static void profile_print(unsigned region) {
  size_t n = 0;
  for (struct block *b = blocks; b != NULL; b = b->next) n += b->entries > 0;
  struct block **hot = malloc((n ? n : 1) * sizeof *hot);
  struct {
    const char *symbol;
    uint64_t insns;
  } *sums = malloc((n ? n : 1) * sizeof *sums);
  if (hot == NULL || sums == NULL) {
    fprintf(out, "xent-count error=out-of-memory\n");
    ++errors;
    free(hot);
    free(sums);
    return;
  }
  size_t k = 0, m = 0;
  for (struct block *b = blocks; b != NULL; b = b->next)
    if (b->entries > 0) hot[k++] = b;
  qsort(hot, n, sizeof *hot, by_insns);
  for (size_t i = 0; i < n; ++i) { /* quadratic in the symbols of one region: a few hundred */
    const char *sym = hot[i]->symbol ? hot[i]->symbol : "?";
    size_t j = 0;
    while (j < m && strcmp(sums[j].symbol, sym) != 0) ++j;
    if (j == m) sums[m++].symbol = sym, sums[j].insns = 0;
    sums[j].insns += hot[i]->entries * hot[i]->size;
  }
  for (unsigned t = 0; t < profile_top && t < m; ++t) {
    size_t best = t;
    for (size_t j = t + 1; j < m; ++j)
      if (sums[j].insns > sums[best].insns) best = j;
    const char *sym = sums[best].symbol;
    const uint64_t insns = sums[best].insns;
    sums[best] = sums[t];
    fprintf(out, "xent-count region=%u symbol=%s insns=%" PRIu64 "\n", region, sym, insns);
  }
  for (size_t i = 0; i < n && i < profile_top; ++i)
    fprintf(out, "xent-count region=%u block=0x%" PRIx64 " size=%" PRIu64 " entries=%" PRIu64 " insns=%" PRIu64
                 " symbol=%s\n",
            region, hot[i]->vaddr, hot[i]->size, hot[i]->entries, hot[i]->entries * hot[i]->size,
            hot[i]->symbol ? hot[i]->symbol : "?");
  free(hot);
  free(sums);
}

static void on_begin(unsigned int vcpu_index, void *userdata) {
  (void)vcpu_index;
  (void)userdata;
  if (region_open) {
    fprintf(out, "xent-count error=begin-inside-region region=%u\n", regions);
    ++errors;
  }
  region_open = true;
  region_start = executed;
  if (profile_top > 0) profile_reset();
}

static void on_end(unsigned int vcpu_index, void *userdata) {
  (void)vcpu_index;
  (void)userdata;
  if (!region_open) {
    fprintf(out, "xent-count error=end-without-begin region=%u\n", regions);
    ++errors;
    return;
  }
  region_open = false;
  fprintf(out, "xent-count region=%u insns=%" PRIu64 "\n", regions, executed - region_start);
  if (profile_top > 0) profile_print(regions);
  fflush(out);
  ++regions;
}

/* A marker's block starts at the marker's first instruction: the call's target begins a block. */
static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
  (void)id;
  const size_t n = qemu_plugin_tb_n_insns(tb);
  const char *symbol = n > 0 ? qemu_plugin_insn_symbol(qemu_plugin_tb_get_insn(tb, 0)) : NULL;
  if (symbol != NULL && strcmp(symbol, begin_symbol) == 0) {
    qemu_plugin_register_vcpu_tb_exec_cb(tb, on_begin, QEMU_PLUGIN_CB_NO_REGS, NULL);
  } else if (symbol != NULL && strcmp(symbol, end_symbol) == 0) {
    qemu_plugin_register_vcpu_tb_exec_cb(tb, on_end, QEMU_PLUGIN_CB_NO_REGS, NULL);
  } else {
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &executed, n);
    struct block *b = profile_top > 0 ? calloc(1, sizeof *b) : NULL;
    if (profile_top > 0 && b == NULL) ++errors; /* the profile would miss this block */
    if (b != NULL) { /* a block translated again gets a second record: the sums stay right */
      b->vaddr = qemu_plugin_tb_vaddr(tb);
      b->size = n;
      b->symbol = symbol;
      b->next = blocks;
      blocks = b;
      qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &b->entries, 1);
    }
  }
}

static void on_qemu_exit(qemu_plugin_id_t id, void *userdata) {
  (void)id;
  (void)userdata;
  if (region_open) {
    fprintf(out, "xent-count error=region-not-closed region=%u\n", regions);
    ++errors;
  }
  fprintf(out, "xent-count regions=%u errors=%u\n", regions, errors);
  if (out != stderr) fclose(out);
}

static const char *value_of(const char *arg, const char *key) {
  const size_t k = strlen(key);
  return strncmp(arg, key, k) == 0 && arg[k] == '=' ? arg + k + 1 : NULL;
}

XENT_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv) {
  if (info->system_emulation) {
    fprintf(stderr, "xent-count: for qemu-user only (one process, symbols of its executable)\n");
    return 1;
  }
  const char *path = NULL;
  for (int i = 0; i < argc; ++i) {
    const char *v;
    if ((v = value_of(argv[i], "out")) != NULL) {
      path = v;
    } else if ((v = value_of(argv[i], "begin")) != NULL) {
      begin_symbol = v;  /* argv outlives the plugin */
    } else if ((v = value_of(argv[i], "end")) != NULL) {
      end_symbol = v;
    } else if ((v = value_of(argv[i], "profile")) != NULL) {
      profile_top = (unsigned)strtoul(v, NULL, 10);
    } else {
      fprintf(stderr, "xent-count: unknown argument '%s' (out=FILE, begin=SYMBOL, end=SYMBOL, profile=N)\n",
              argv[i]);
      return 1;
    }
  }
  out = stderr;
  if (path != NULL && (out = fopen(path, "w")) == NULL) {
    fprintf(stderr, "xent-count: cannot write %s\n", path);
    return 1;
  }
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
  qemu_plugin_register_atexit_cb(id, on_qemu_exit, NULL);
  return 0;
}
