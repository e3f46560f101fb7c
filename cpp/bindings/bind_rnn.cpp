// Bindings for ghostfast.rnn: converts the job dictionaries built by python/ghostfast/rnn.py into RunSpecs
// (under the GIL), runs the core with the GIL released, and converts the results back. No maths here.
#include <pybind11/stl.h>

#include <tuple>

#include "boundary.hpp"
#include "ghostfast/rnn_train_many.hpp"

namespace py = pybind11;
using namespace ghostfast::rnn;
using ghostfast::Control;
using ghostfast::bindings::darray;

namespace {

std::vector<double> to_vector(const py::handle& obj, const char* name) {
  darray a = darray::ensure(obj);
  if (!a) throw py::type_error(std::string(name) + " must be an array of float64");
  return std::vector<double>(a.data(), a.data() + a.size());
}

// [B, S, C] (Python layout) -> [S, B, C] (the engine's time-major layout).
std::vector<double> to_time_major(const darray& a) {
  const py::ssize_t B = a.shape(0), S = a.shape(1), C = a.shape(2);
  std::vector<double> out(static_cast<std::size_t>(a.size()));
  const double* p = a.data();
  for (py::ssize_t b = 0; b < B; ++b)
    for (py::ssize_t t = 0; t < S; ++t)
      for (py::ssize_t c = 0; c < C; ++c) out[(t * B + b) * C + c] = p[(b * S + t) * C + c];
  return out;
}

// [S, B, C] -> numpy [B, S, C].
darray to_batch_major(const std::vector<double>& v, py::ssize_t S, py::ssize_t B, py::ssize_t C) {
  darray out(std::vector<py::ssize_t>{B, S, C});
  double* p = out.mutable_data();
  for (py::ssize_t t = 0; t < S; ++t)
    for (py::ssize_t b = 0; b < B; ++b)
      for (py::ssize_t c = 0; c < C; ++c) p[(b * S + t) * C + c] = v[(t * B + b) * C + c];
  return out;
}

// A task as the engine reads it, built once per ghostfast.tasks.Task (which caches it): the arrays in the engine's
// time-major layout.
std::shared_ptr<TaskData> make_task(const py::handle& inputs, const py::handle& targets, const py::handle& mask,
                                    double loss_scale, bool ternary) {
  auto t = std::make_shared<TaskData>();
  darray in = darray::ensure(inputs), tg = darray::ensure(targets), mk = darray::ensure(mask);
  if (!in || !tg || !mk || in.ndim() != 3 || tg.ndim() != 3 || mk.ndim() != 3)
    throw py::value_error("task arrays must be 3-D float64 arrays");
  t->B = static_cast<int>(tg.shape(0));
  t->S = static_cast<int>(tg.shape(1));
  t->n_out = static_cast<int>(tg.shape(2));
  t->n_in = static_cast<int>(in.shape(2));
  if (in.shape(0) != t->B || in.shape(1) != t->S || mk.shape(0) != t->B || mk.shape(1) != t->S ||
      mk.shape(2) != t->n_out)
    throw py::value_error("task.inputs, targets and mask must agree in trials and steps");
  t->inputs = to_time_major(in);
  t->targets = to_time_major(tg);
  t->mask = to_time_major(mk);
  t->loss_scale = loss_scale;
  t->ternary = ternary;
  if (!(loss_scale > 0.0) || !std::isfinite(loss_scale)) throw py::value_error("loss_scale must be finite and > 0");
  return t;
}

TrainStateData parse_state(const py::dict& d) {
  TrainStateData st;
  st.params = to_vector(d["params"], "state.params");
  st.adam_m = to_vector(d["adam_m"], "state.adam_m");
  st.adam_v = to_vector(d["adam_v"], "state.adam_v");
  st.adam_step = d["adam_step"].cast<std::int64_t>();
  auto rng = d["rng"].cast<std::vector<std::uint64_t>>();
  if (rng.size() != st.rng.size()) throw py::value_error("state.rng must hold 6 uint64 words");
  std::copy(rng.begin(), rng.end(), st.rng.begin());
  st.epoch = d["epoch"].cast<std::int64_t>();
  if (st.epoch < 0) throw py::value_error("state.epoch must be >= 0");
  return st;
}

template <class T>
py::array_t<T> to_numpy(const std::vector<T>& v) {
  py::array_t<T> a(static_cast<py::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), a.mutable_data());
  return a;
}

py::dict state_to_dict(const TrainStateData& st) {
  py::dict d;
  d["params"] = to_numpy(st.params);
  d["adam_m"] = to_numpy(st.adam_m);
  d["adam_v"] = to_numpy(st.adam_v);
  d["adam_step"] = st.adam_step;
  d["rng"] = to_numpy(std::vector<std::uint64_t>(st.rng.begin(), st.rng.end()));
  d["epoch"] = st.epoch;
  return d;
}

py::list train_many_py(const py::list& jobs, int n_threads, Control* control, bool lanes) {
  std::vector<RunSpec> runs;
  runs.reserve(jobs.size());
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    try {
      if (!py::isinstance<RunSpec>(jobs[i])) throw py::type_error("job " + std::to_string(i) + " must be an RnnJob");
      runs.push_back(jobs[i].cast<RunSpec>());
      check_run(runs.back());  // raise ValueError now, under the GIL, rather than from a worker
    } catch (const std::invalid_argument& err) {
      throw py::value_error("job " + std::to_string(i) + ": " + err.what());
    }
  }
  std::vector<RunResult> results;
  std::vector<unsigned char> done;
  {
    py::gil_scoped_release release;
    train_many(runs, results, done, n_threads, control, lanes);
  }
  py::list out;
  // A job stopped by a cancel comes back with "cancelled": True (its partial result); one never started: None.
  for (std::size_t i = 0; i < runs.size(); ++i)
    out.append(done[i] || results[i].cancelled ? py::cast(std::move(results[i])) : py::object(py::none()));
  return out;
}

// One forward (+ backward) pass: (loss, grad or None, outputs [B,S,O], states [B,S+1,N]).
py::tuple evaluate_py(const RunSpec& job, bool with_grad) {
  const RunSpec& r = job;
  try {
    check_run(r);
  } catch (const std::invalid_argument& err) {
    throw py::value_error(err.what());
  }
  const TaskData& task = *r.task;
  const Layout L = make_layout(r.model);
  std::vector<double> grad(with_grad ? L.total : 0);
  std::vector<double> states(static_cast<std::size_t>(task.S + 1) * task.B * r.model.N);
  std::vector<double> outputs;
  double loss;
  {
    py::gil_scoped_release release;
    ghostfast::Rng rng(r.key0, r.key1, r.stream);
    loss = evaluate(r.model, r.params.data(), task, rng, with_grad ? grad.data() : nullptr, states.data(), &outputs);
  }
  auto ys = to_batch_major(outputs, task.S, task.B, task.n_out);
  auto xs = to_batch_major(states, task.S + 1, task.B, r.model.N);
  return py::make_tuple(loss, with_grad ? py::object(to_numpy(grad)) : py::object(py::none()), ys, xs);
}

}  // namespace

void bind_rnn(py::module_& m) {
  // The names the Python layer validates against and the engine's codes: defined once, here.
  py::enum_<Readout>(m, "RnnReadout", "Readouts of the RNN engine (rnn_readout.hpp).")
      .value("latent", Readout::Latent)
      .value("linear", Readout::Linear)
      .value("latent_linear", Readout::LatentLinear);
  py::enum_<Output>(m, "RnnOutput", "Output nonlinearities of the linear readouts.")
      .value("sigmoid", Output::Sigmoid)
      .value("tanh", Output::Tanh)
      .value("identity", Output::Identity);
  py::enum_<Dtype>(m, "RnnDtype", "The precision of a model's parameters and passes.")
      .value("float64", Dtype::Float64)
      .value("float32", Dtype::Float32);
  py::enum_<Optimizer>(m, "RnnOptimizer", "Optimizers of the RNN training loop (rnn_optim.hpp).")
      .value("sgd", Optimizer::Sgd)
      .value("adam", Optimizer::Adam);
  py::tuple groups(static_cast<std::size_t>(kNumGroups));
  for (int g = 0; g < kNumGroups; ++g) groups[static_cast<std::size_t>(g)] = group_name(g);
  m.attr("rnn_groups") = groups;
  py::class_<ModelSpec>(m, "RnnModelSpec",
                        "An RNN configuration as the engine reads it (built by ghostfast.rnn.Model, checked by "
                        "check()).")
      .def(py::init<>())
      .def_readwrite("N", &ModelSpec::N)
      .def_readwrite("K", &ModelSpec::K)
      .def_readwrite("full_rank", &ModelSpec::full_rank)
      .def_readwrite("alpha", &ModelSpec::alpha)
      .def_readwrite("readout", &ModelSpec::readout)
      .def_readwrite("output", &ModelSpec::output)
      .def_readwrite("threshold", &ModelSpec::threshold)
      .def_readwrite("read_before", &ModelSpec::read_before)
      .def_readwrite("n_in", &ModelSpec::n_in)
      .def_readwrite("n_out", &ModelSpec::n_out)
      .def_readwrite("noise_std", &ModelSpec::noise_std)
      .def_readwrite("x0_random", &ModelSpec::x0_random)
      .def_readwrite("x0_std", &ModelSpec::x0_std)
      .def_readwrite("x0", &ModelSpec::x0)
      .def_property(
          "trainable", [](const ModelSpec& s) { return std::vector<bool>(s.trainable.begin(), s.trainable.end()); },
          [](ModelSpec& s, const std::vector<bool>& flags) {
            if (flags.size() != kNumGroups) throw py::value_error("trainable: expected one flag per group");
            std::copy(flags.begin(), flags.end(), s.trainable.begin());
          })
      .def_readwrite("readout_l1_cap", &ModelSpec::readout_l1_cap)
      .def_readwrite("dtype", &ModelSpec::dtype)
      .def("check", [](const ModelSpec& s) {
        try {
          check_model(s);
        } catch (const std::invalid_argument& err) {
          throw py::value_error(err.what());
        }
      });

  py::class_<TaskData, std::shared_ptr<TaskData>>(
      m, "RnnTaskData",
      "A task as the engine reads it (time-major arrays), built once per ghostfast.tasks.Task and shared by its runs.")
      .def(py::init(&make_task), py::arg("inputs"), py::arg("targets"), py::arg("mask"), py::arg("loss_scale"),
           py::arg("ternary"))
      .def_readonly("n_trials", &TaskData::B)
      .def_readonly("n_steps", &TaskData::S)
      .def_readonly("n_in", &TaskData::n_in)
      .def_readonly("n_out", &TaskData::n_out)
      .def_readonly("loss_scale", &TaskData::loss_scale)
      .def_readonly("ternary", &TaskData::ternary);

  py::class_<RunSpec>(m, "RnnJob",
                      "One training run as the engine reads it (built and validated by ghostfast.rnn, checked again "
                      "by the engine before any work).")
      .def(py::init<>())
      .def_readwrite("model", &RunSpec::model)
      .def_property(
          "task", [](const RunSpec& r) { return std::const_pointer_cast<TaskData>(r.task); },
          [](RunSpec& r, std::shared_ptr<TaskData> t) { r.task = std::move(t); })
      .def_property(
          "params", [](const RunSpec& r) { return to_numpy(r.params); },
          [](RunSpec& r, const py::handle& a) { r.params = to_vector(a, "params"); })
      .def_readwrite("optimizer", &RunSpec::optimizer)
      .def_readwrite("lr", &RunSpec::lr)
      .def_readwrite("epochs", &RunSpec::epochs)
      .def_readwrite("beta1", &RunSpec::beta1)
      .def_readwrite("beta2", &RunSpec::beta2)
      .def_readwrite("eps", &RunSpec::eps)
      .def_readwrite("key0", &RunSpec::key0)
      .def_readwrite("key1", &RunSpec::key1)
      .def_readwrite("stream", &RunSpec::stream)
      .def_readwrite("record_every", &RunSpec::record_every)
      .def_readwrite("snapshot_epochs", &RunSpec::snapshot_epochs)
      .def_property(
          "state",
          [](const RunSpec& r) { return r.has_state ? py::object(state_to_dict(r.state)) : py::object(py::none()); },
          [](RunSpec& r, const py::object& d) {
            r.has_state = !d.is_none();
            r.state = r.has_state ? parse_state(d.cast<py::dict>()) : TrainStateData{};
          },
          "None, or the state dict to continue from (params, adam_m, adam_v, adam_step, rng, epoch).")
      .def_property(
          "fixed_point_grid", [](const RunSpec& r) { return to_numpy(r.fixed_point_grid); },
          [](RunSpec& r, const py::object& a) {
            r.fixed_point_grid = a.is_none() ? std::vector<double>{} : to_vector(a, "fixed_point_grid");
          });

  py::class_<RunResult>(m, "RnnRunResult",
                        "One run's result as the engine returns it; ghostfast.rnn turns it into a TrainResult.")
      .def_property_readonly("epochs", [](const RunResult& r) { return to_numpy(r.epochs); })
      .def_property_readonly("loss", [](const RunResult& r) { return to_numpy(r.loss); })
      .def_property_readonly("grad_norm", [](const RunResult& r) { return to_numpy(r.grad_norm); })
      .def_property_readonly("weight_norm", [](const RunResult& r) { return to_numpy(r.weight_norm); })
      .def_property_readonly("accuracy", [](const RunResult& r) { return to_numpy(r.accuracy); })
      .def_property_readonly("fixed_point_count",
                             [](const RunResult& r) {
                               return r.fixed_point_count.empty() ? py::object(py::none())
                                                                  : py::object(to_numpy(r.fixed_point_count));
                             })
      .def_property_readonly(
          "group_norms",
          [](const RunResult& r) {
            return to_numpy(r.group_norms)
                .reshape({static_cast<py::ssize_t>(kNumGroups), static_cast<py::ssize_t>(r.loss.size())});
          },
          "[group, record] gradient norm of each group (NaN rows for absent groups).")
      .def_property_readonly("snapshots",
                             [](const RunResult& r) {
                               py::list snaps;
                               for (const auto& [epoch, params] : r.snapshots)
                                 snaps.append(py::make_tuple(epoch, to_numpy(params)));
                               return snaps;
                             })
      .def_property_readonly("state", [](const RunResult& r) { return state_to_dict(r.state); })
      .def_readonly("diverged", &RunResult::diverged)
      .def_readonly("diverged_epoch", &RunResult::diverged_epoch)
      .def_readonly("cancelled", &RunResult::cancelled);

  m.def("rnn_train_many", &train_many_py, py::arg("jobs"), py::arg("n_threads") = 0, py::arg("control") = nullptr,
        py::arg("lanes") = true,
        "Train independent RNN jobs (RnnJob, built by ghostfast.rnn) in parallel; a job stopped by a cancel "
        "returns its partial result with cancelled=True, one never started returns None. lanes: train runs of one "
        "small shape together in SIMD lanes (the same numbers as alone).");
  m.def(
      "rnn_lane_width", [](Dtype dtype) { return lane_width(dtype); }, py::arg("dtype"),
      "How many networks of this precision one SIMD lane group trains together on this CPU (0: no lane groups "
      "in this build).");
  m.def(
      "rnn_tanh",
      [](const py::array& x) -> py::array {
        const auto n = static_cast<int>(x.size());
        if (py::isinstance<py::array_t<float>>(x)) {
          auto xf = py::array_t<float, py::array::c_style>::ensure(x);
          py::array_t<float> out(xf.request().shape);
          tanh_array(xf.data(), out.mutable_data(), n);
          return out;
        }
        darray xd = darray::ensure(x);
        if (!xd) throw py::type_error("x must be an array of float64 or float32");
        darray out(xd.request().shape);
        tanh_array(xd.data(), out.mutable_data(), n);
        return out;
      },
      py::arg("x"), "The engine's vectorised tanh in the array's precision (for tests against numpy's).");
  m.def(
      "rnn_normals",
      [](std::uint64_t key, std::uint64_t stream, const std::vector<py::ssize_t>& sizes) {
        py::ssize_t total = 0;
        for (py::ssize_t n : sizes) {
          if (n < 0 || n > (py::ssize_t(1) << 31) - 8) throw py::value_error("sizes must be in [0, 2^31 - 8]");
          total += n;
        }
        darray out(std::vector<py::ssize_t>{total});
        BulkNormals normals(key, stream);
        double* p = out.mutable_data();
        for (py::ssize_t n : sizes) {
          normals.fill(1.0, p, static_cast<int>(n));
          p += n;
        }
        return out;
      },
      py::arg("key"), py::arg("stream"), py::arg("sizes"),
      "Standard normals of BulkNormals(key, stream), drawn as fills of the given sizes (for tests).");
  m.def(
      "rnn_pass_keys",
      [](std::uint64_t key0, std::uint64_t key1, std::uint64_t stream, py::ssize_t n) {
        if (n < 0) throw py::value_error("n must be >= 0");
        py::array_t<std::uint64_t> out(n);
        ghostfast::Rng rng(key0, key1, stream);
        for (py::ssize_t i = 0; i < n; ++i) out.mutable_data()[i] = rng.next_u64();
        return out;
      },
      py::arg("key0"), py::arg("key1"), py::arg("stream"), py::arg("n"),
      "The noise keys of the first n passes of a stochastic run with stream Rng(key0, key1, stream) (for tests).");
  m.def("rnn_evaluate", &evaluate_py, py::arg("job"), py::arg("with_grad") = true,
        "One forward (+ BPTT) pass of a job: (loss, flat grad | None, outputs, states).");
}
