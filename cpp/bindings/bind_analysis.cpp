// Bindings for ghostfast.analysis (filled in by the analysis work).
#include "boundary.hpp"

namespace py = pybind11;

void bind_analysis(py::module_& m) { (void)m; }
