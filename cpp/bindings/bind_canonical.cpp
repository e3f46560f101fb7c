// Bindings for ghostfast.canonical (filled in by the canonical work).
#include "boundary.hpp"

namespace py = pybind11;

void bind_canonical(py::module_& m) { (void)m; }
