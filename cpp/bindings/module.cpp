// PYBIND11_MODULE(_core): one bind_<area> function per binding file.
#include <pybind11/pybind11.h>

namespace py = pybind11;

void bind_common(py::module_& m);
void bind_canonical(py::module_& m);
void bind_rnn(py::module_& m);
void bind_analysis(py::module_& m);

PYBIND11_MODULE(_core, m) {
  m.doc() = "ghostfast compiled core (C++17 + OpenMP). Use the Python API in ghostfast.* instead.";
  bind_common(m);
  bind_canonical(m);
  bind_rnn(m);
  bind_analysis(m);
}
