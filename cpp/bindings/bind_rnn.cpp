// Bindings for ghostfast.rnn (filled in by the rnn work).
#include "boundary.hpp"

namespace py = pybind11;

void bind_rnn(py::module_& m) { (void)m; }
