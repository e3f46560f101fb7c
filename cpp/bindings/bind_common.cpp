// Build facts (OpenMP, threads, version) and the Control object that long calls share with Python.
#include <stdexcept>
#include <string>
#include <vector>

#include "boundary.hpp"
#include "ghostfast/parallel.hpp"
#include "ghostfast/rnn_kernels.hpp"

#ifndef GHOSTFAST_VERSION
#define GHOSTFAST_VERSION "0+unknown"
#endif

namespace py = pybind11;
using ghostfast::Control;

void bind_common(py::module_& m) {
  m.attr("has_openmp") = ghostfast::has_openmp();
  m.attr("build_version") = GHOSTFAST_VERSION;
  m.def("default_threads", &ghostfast::default_threads,
        "Threads a parallel call uses when n_threads is None (OMP_NUM_THREADS or the core count).");
  // Read-only: the vector kernels the RNN products and tanh use on this CPU (chosen once, at first use).
  m.def(
      "vector_kernel",
      []() -> std::string {
        switch (ghostfast::rnn::vector_kernel()) {
          case ghostfast::rnn::VectorKernel::Avx512:
            return "avx512";
          case ghostfast::rnn::VectorKernel::Avx2Fma:
            return "avx2";
          default:
            return "portable";
        }
      },
      "The RNN kernel path this CPU runs: 'portable' (std::fma), 'avx2' (AVX2 + FMA) or 'avx512'. Every path "
      "gives the same bits.");
  m.def("max_threads", &ghostfast::max_threads,
        "The most threads a parallel call uses (the processors available); larger counts are clamped.");

  // Test hook: throws from iteration fail_at of an OpenMP loop run with the GIL released, to prove that an
  // exception raised on a worker thread reaches Python as ValueError (see tests/test_package.py).
  m.def(
      "_parallel_error_probe",
      [](std::int64_t n, std::int64_t fail_at, int n_threads) {
        std::vector<double> out(static_cast<std::size_t>(n > 0 ? n : 0), 0.0);
        {
          py::gil_scoped_release release;
          ghostfast::parallel_for(n, n_threads, [&](std::int64_t i) {
            if (i == fail_at) throw std::invalid_argument("probe failure at iteration " + std::to_string(i));
            out[static_cast<std::size_t>(i)] = static_cast<double>(i);
          });
        }
        return n;
      },
      py::arg("n"), py::arg("fail_at"), py::arg("n_threads") = 0);

  py::class_<Control>(m, "Control", "Progress counter and cancel flag shared with a running C++ call (thread-safe).")
      .def(py::init<>())
      .def(
          "cancel", [](Control& c) { c.cancel.store(true); }, "Ask the running call to stop soon.")
      .def_property_readonly("cancelled", [](const Control& c) { return c.cancel.load(); })
      .def_property_readonly(
          "done", [](const Control& c) { return c.done.load(); }, "Number of jobs finished so far.")
      .def_property_readonly(
          "epochs", [](const Control& c) { return c.epochs.load(); },
          "Training epochs done so far, summed over jobs (updated every few epochs).");
}
