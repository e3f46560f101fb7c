// Build facts (OpenMP, threads, version) and the Control object that long calls share with Python.
#include "boundary.hpp"
#include "ghostfast/parallel.hpp"

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

  py::class_<Control>(m, "Control",
                      "Progress counter and cancel flag shared with a running C++ call (thread-safe).")
      .def(py::init<>())
      .def("cancel", [](Control& c) { c.cancel.store(true); }, "Ask the running call to stop soon.")
      .def_property_readonly("cancelled", [](const Control& c) { return c.cancel.load(); })
      .def_property_readonly("done", [](const Control& c) { return c.done.load(); },
                             "Number of jobs finished so far.");
}
