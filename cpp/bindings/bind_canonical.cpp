// Bindings for ghostfast.canonical: flat float64 arrays in (Python broadcasts and validates first),
// outputs allocated here, one GIL release around the C++ work. No maths here.
#include <pybind11/stl.h>

#include "boundary.hpp"
#include "ghostfast/canonical.hpp"
#include "ghostfast/parallel.hpp"

namespace py = pybind11;
namespace gc = ghostfast::canonical;
using ghostfast::Control;
using ghostfast::bindings::darray;
using ghostfast::bindings::require_ndim;

namespace {

using i64array = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;
using u8array = py::array_t<std::uint8_t, py::array::c_style>;

void require_same_length(const darray& a, const darray& b, const char* name_a, const char* name_b) {
  if (a.size() != b.size())
    throw py::value_error(std::string(name_a) + " and " + name_b + " must have the same length, got " +
                          std::to_string(a.size()) + " and " + std::to_string(b.size()));
}

py::tuple sharp(const darray& r, double T, bool normalized) {
  require_ndim(r, 1, "r");
  if (!(T > 0.0) || !std::isfinite(T)) throw py::value_error("T must be a finite number > 0");
  const py::ssize_t n = r.size();
  darray loss({n}), grad({n});
  const double* rp = r.data();
  double* lp = loss.mutable_data();
  double* gp = grad.mutable_data();
  {
    py::gil_scoped_release release;
    for (py::ssize_t i = 0; i < n; ++i) {
      lp[i] = gc::sharp_loss(rp[i], T);
      gp[i] = gc::sharp_grad(rp[i], T, normalized);
    }
  }
  return py::make_tuple(loss, grad);
}

py::tuple simulate(const darray& r, const darray& confidence, double T, double threshold, double dt, int n_threads) {
  require_ndim(r, 1, "r");
  require_ndim(confidence, 1, "confidence");
  require_same_length(r, confidence, "r", "confidence");
  const gc::SimConfig cfg = gc::SimConfig::make(T, threshold, dt);
  const py::ssize_t n = r.size();
  darray loss({n}), grad({n});
  const double* rp = r.data();
  const double* ap = confidence.data();
  double* lp = loss.mutable_data();
  double* gp = grad.mutable_data();
  {
    py::gil_scoped_release release;
    gc::simulate_many(rp, ap, n, cfg, lp, gp, n_threads);
  }
  return py::make_tuple(loss, grad);
}

py::dict train(const darray& r0, const darray& lr, std::optional<darray> confidence, double T, std::int64_t epochs,
               bool normalized, const i64array& record_epochs, double threshold, double dt, int n_threads,
               Control* control) {
  require_ndim(r0, 1, "r0");
  require_ndim(lr, 1, "lr");
  require_same_length(r0, lr, "r0", "lr");
  if (confidence) {
    require_ndim(*confidence, 1, "confidence");
    require_same_length(r0, *confidence, "r0", "confidence");
  }
  if (record_epochs.ndim() != 1) throw py::value_error("record_epochs must be a 1-D array");
  gc::TrainConfig cfg;
  cfg.sim = gc::SimConfig::make(T, threshold, dt);
  cfg.normalized = normalized;
  cfg.sharp = !confidence.has_value();
  cfg.epochs = epochs;
  cfg.record_epochs.assign(record_epochs.data(), record_epochs.data() + record_epochs.size());
  gc::validate(cfg);

  const py::ssize_t n = r0.size();
  const py::ssize_t n_records = record_epochs.size();
  darray r_hist({n, n_records}), loss_hist({n, n_records}), r_final({n});
  i64array arrival({n});
  u8array trapped({n}), diverged({n}), completed({n});
  gc::TrainOutputs out{r_hist.mutable_data(),  loss_hist.mutable_data(), arrival.mutable_data(),
                       trapped.mutable_data(), diverged.mutable_data(),  completed.mutable_data(),
                       r_final.mutable_data()};
  const double* r0p = r0.data();
  const double* lrp = lr.data();
  const double* ap = confidence ? confidence->data() : nullptr;
  {
    py::gil_scoped_release release;
    gc::train_many(r0p, lrp, ap, n, cfg, out, n_threads, control);
  }
  py::dict result;
  result["r"] = r_hist;
  result["loss"] = loss_hist;
  result["r_final"] = r_final;
  result["arrival_epoch"] = arrival;
  result["trapped"] = trapped;
  result["diverged"] = diverged;
  result["completed"] = completed;
  return result;
}

}  // namespace

void bind_canonical(py::module_& m) {
  m.def("canonical_sharp", &sharp, py::arg("r"), py::arg("T"), py::arg("normalized"),
        "Sharp-limit loss and gradient of the canonical model (the values train() uses), elementwise.");
  m.def("canonical_simulate", &simulate, py::arg("r"), py::arg("confidence"), py::arg("T"), py::arg("threshold"),
        py::arg("dt"), py::arg("n_threads") = 0,
        "Euler simulation of dx/dt = r + x^2 with a sigmoid readout: (loss, dloss_dr) per (r, confidence) pair.");
  m.def("canonical_train", &train, py::arg("r0"), py::arg("lr"), py::arg("confidence"), py::arg("T"), py::arg("epochs"),
        py::arg("normalized"), py::arg("record_epochs"), py::arg("threshold"), py::arg("dt"), py::arg("n_threads") = 0,
        py::arg("control") = nullptr,
        "Gradient descent on r for each (r0, lr[, confidence]) run; returns a dict of histories and flags.");
}
