// The numpy boundary shared by every binding file: array types, shape and value checks that raise
// ValueError naming the argument, and the gil-release helper. No maths lives here.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace ghostfast::bindings {

namespace py = pybind11;

// forcecast converts ints and float32 to float64; c_style guarantees contiguous row-major memory.
using darray = py::array_t<double, py::array::c_style | py::array::forcecast>;

inline std::string shape_str(const py::array& a) {
  std::ostringstream os;
  os << "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) os << (i ? ", " : "") << a.shape(i);
  os << (a.ndim() == 1 ? ",)" : ")");
  return os.str();
}

inline void require_ndim(const py::array& a, py::ssize_t ndim, const char* name) {
  if (a.ndim() != ndim) {
    std::ostringstream os;
    os << name << " must be a " << ndim << "-D array, got shape " << shape_str(a);
    throw py::value_error(os.str());
  }
}

// expected: the shape, -1 for "any length" in that axis.
inline void require_shape(const py::array& a, const std::vector<py::ssize_t>& expected, const char* name) {
  bool ok = a.ndim() == static_cast<py::ssize_t>(expected.size());
  for (std::size_t i = 0; ok && i < expected.size(); ++i)
    ok = expected[i] < 0 || a.shape(static_cast<py::ssize_t>(i)) == expected[i];
  if (!ok) {
    std::ostringstream os;
    os << name << " must have shape (";
    for (std::size_t i = 0; i < expected.size(); ++i) {
      os << (i ? ", " : "");
      if (expected[i] < 0)
        os << "*";
      else
        os << expected[i];
    }
    os << (expected.size() == 1 ? ",)" : ")") << ", got " << shape_str(a);
    throw py::value_error(os.str());
  }
}

inline void require_finite(const darray& a, const char* name) {
  const double* p = a.data();
  for (py::ssize_t i = 0; i < a.size(); ++i)
    if (!std::isfinite(p[i])) throw py::value_error(std::string(name) + " must be finite (contains NaN or inf)");
}

inline darray new_array(const std::vector<py::ssize_t>& shape) { return darray(shape); }

}  // namespace ghostfast::bindings
