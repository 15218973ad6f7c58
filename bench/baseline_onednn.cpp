// oneDNN 2.6 (libdnnl-dev): the log-softmax primitive (softmax_v2, algorithm softmax_log) on one
// thread, as an inference engine runs it: the primitive is created once per shape (outside the
// timing), each update executes it into a rows x classes output tensor, and the loss is
// -logsoftmax[label] summed. The full output tensor is the cost xent never pays.
#include <cstdio>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "baselines.hpp"

// oneDNN's CPU runtime here is OpenMP (libgomp): one thread, as every other baseline runs.
extern "C" void omp_set_num_threads(int n);

namespace xent_bench {
namespace {

struct LogSoftmax {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  dnnl::memory::desc md;
  dnnl::softmax_v2_forward prim;
  std::vector<float> out;
  LogSoftmax(std::size_t rows, std::size_t classes)
      : md({static_cast<dnnl::memory::dim>(rows), static_cast<dnnl::memory::dim>(classes)},
           dnnl::memory::data_type::f32, dnnl::memory::format_tag::nc),
        out(rows * classes) {
    const dnnl::softmax_v2_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::softmax_log, md,
                                              md, 1);
    prim = dnnl::softmax_v2_forward(dnnl::softmax_v2_forward::primitive_desc(desc, engine));
  }
  void run(const float* in) {
    dnnl::memory src(md, engine, const_cast<float*>(in));
    dnnl::memory dst(md, engine, out.data());
    prim.execute(stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
    stream.wait();
  }
};

LogSoftmax& primitive_for(std::size_t rows, std::size_t classes) {
  static std::map<std::pair<std::size_t, std::size_t>, std::unique_ptr<LogSoftmax>> cache;
  auto& p = cache[{rows, classes}];
  if (!p) {
    omp_set_num_threads(1);
    p = std::make_unique<LogSoftmax>(rows, classes);
  }
  return *p;
}

double sparse_logits(const Case& c) {
  LogSoftmax& ls = primitive_for(c.rows, c.classes);
  ls.run(c.pred);
  double total = 0.0;
  for (std::size_t r = 0; r < c.rows; ++r)
    total -= static_cast<double>(ls.out[r * c.classes + static_cast<std::size_t>(c.labels[r])]);
  return total;
}

}  // namespace

const Baseline* onednn_baseline() {
  static const Baseline b{"onednn", sparse_logits, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};
  return &b;
}

const char* onednn_info() {
  const dnnl_version_t* v = dnnl_version();
  static char text[64];
  std::snprintf(text, sizeof text, "oneDNN %d.%d.%d (%s)", v->major, v->minor, v->patch, v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP, 1 thread" : "1 thread");
  return text;
}

}  // namespace xent_bench
