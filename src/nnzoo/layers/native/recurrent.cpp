// The time loops of the LSTM family and of the GRU on the CPU, each step's gate arithmetic
// fused into one pass over its rows, split across ATen's threads. These are the loops of
// _fast_lstm.py and _fast_gru.py, equation for equation, with the same buffers; the Python
// modules say what each buffer holds and derive the backward passes.
//
// float: σ(a) = 1 / (1 + e^{−a}) with e^x from a degree-7 Taylor polynomial on
// |r| ≤ ln2/2 after x = n·ln2 + r (relative error below 1e-7), written so that the compiler
// vectorises the loops. double: std::exp, for the tests that compare in float64.
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/addmm.h>
#include <ATen/ops/mm.h>
#include <torch/library.h>

#include <cmath>
#include <cstdint>
#include <cstring>

namespace {

using at::Tensor;

inline float exp_of(float x) {
  x = x < -87.0f ? -87.0f : x;  // written so that NaN passes through
  x = x > 88.0f ? 88.0f : x;
  const float shifter = 12582912.0f;                 // 1.5·2^23: adding it rounds to an integer
  float n = (x * 1.44269504f + shifter) - shifter;   // n = round(x / ln2)
  float r = (x - n * 0.693145752f) - n * 1.42860677e-6f;   // ln2 split in two: r exact
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  int32_t bits = (static_cast<int32_t>(n) + 127) << 23;   // 2^n
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

inline double exp_of(double x) { return std::exp(x); }

template <typename T>
inline T sigmoid(T a) {
  return T(1) / (T(1) + exp_of(-a));
}

// rows [0, n) of a step, split across threads in blocks of at least ~16k values
template <typename F>
void over_rows(int64_t n, int64_t values_per_row, const F& f) {
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, values_per_row));
  at::parallel_for(0, n, grain, f);
}

int64_t rows_at(at::IntArrayRef sizes, int64_t t, int64_t batch) {
  return sizes.empty() ? batch : sizes[t];
}

// the state a step reads: `first` at t = 0, the buffer's step t − 1 after, cut to n rows
Tensor before(const Tensor& first, const Tensor& buffer, int64_t t, int64_t n) {
  return (t == 0 ? first : buffer.select(0, t - 1)).narrow(0, 0, n);
}

template <typename T>
const T* before_ptr(const Tensor& first, const Tensor& buffer, int64_t t, int64_t row_size) {
  return t == 0 ? first.data_ptr<T>() : buffer.data_ptr<T>() + (t - 1) * row_size;
}

// ---- the LSTM family: 4 gates (i, f, g, o), with peepholes or not, or 3 coupled (f, g, o) ----

enum Kind { PLAIN, PEEPHOLE, COUPLED };

// one row of a step: the gates' pre-activations a (G·H) become the gates after σ; g, c_t,
// tanh c_t and h_t are written
template <typename T, Kind K>
void lstm_row_forward(T* __restrict a, const T* __restrict cp, T* __restrict g, T* __restrict c,
                      T* __restrict tc, T* __restrict h, const T* __restrict peep, int64_t hidden) {
  if constexpr (K == COUPLED) {
    for (int64_t j = 0; j < hidden; ++j) {
      const T f = sigmoid(a[j]), sg = sigmoid(a[hidden + j]), o = sigmoid(a[2 * hidden + j]);
      const T gj = T(2) * sg - T(1);                         // g = tanh(a_g) = 2σ(2a_g) − 1
      const T cj = gj + f * (cp[j] - gj);                    // c = g + f ⊙ (c_{t−1} − g)
      const T tcj = T(2) * sigmoid(T(2) * cj) - T(1);
      a[j] = f; a[hidden + j] = sg; a[2 * hidden + j] = o;
      g[j] = gj; c[j] = cj; tc[j] = tcj; h[j] = o * tcj;
    }
  } else {
    for (int64_t j = 0; j < hidden; ++j) {
      T pre_i = a[j], pre_f = a[hidden + j], pre_o = a[3 * hidden + j];
      if constexpr (K == PEEPHOLE) {                         // i, f peek at c_{t−1}
        pre_i += peep[j] * cp[j];
        pre_f += peep[hidden + j] * cp[j];
      }
      const T i = sigmoid(pre_i), f = sigmoid(pre_f), sg = sigmoid(a[2 * hidden + j]);
      const T gj = T(2) * sg - T(1);
      const T cj = f * cp[j] + i * gj;                       // c = f ⊙ c_{t−1} + i ⊙ g
      if constexpr (K == PEEPHOLE) pre_o += peep[2 * hidden + j] * cj;   // o peeks at c_t
      const T o = sigmoid(pre_o);
      const T tcj = T(2) * sigmoid(T(2) * cj) - T(1);
      a[j] = i; a[hidden + j] = f; a[2 * hidden + j] = sg; a[3 * hidden + j] = o;
      g[j] = gj; c[j] = cj; tc[j] = tcj; h[j] = o * tcj;
    }
  }
}

// one row of a step backwards: δa (G·H) from the gates s; δh (dh + ∂L/∂h_t) read, δc updated
// in place to δc_{t−1}
template <typename T, Kind K>
void lstm_row_backward(const T* __restrict s, const T* __restrict cp, const T* __restrict g,
                       const T* __restrict tc, const T* __restrict h, const T* __restrict go,
                       const T* __restrict dh, T* __restrict dc, T* __restrict d,
                       const T* __restrict peep, int64_t hidden) {
  if constexpr (K == COUPLED) {
    for (int64_t j = 0; j < hidden; ++j) {
      const T f = s[j], sg = s[hidden + j], o = s[2 * hidden + j];
      const T dhj = dh[j] + go[j];
      const T dcj = dc[j] + dhj * (o - h[j] * tc[j]);        // o(1 − tanh² c) = o − h tanh c
      d[j] = (cp[j] - g[j]) * dcj * f * (T(1) - f);
      d[hidden + j] = dcj * (T(1) - f) * T(4) * sg * (T(1) - sg);
      d[2 * hidden + j] = dhj * tc[j] * o * (T(1) - o);
      dc[j] = dcj * f;
    }
  } else {
    for (int64_t j = 0; j < hidden; ++j) {
      const T i = s[j], f = s[hidden + j], sg = s[2 * hidden + j], o = s[3 * hidden + j];
      const T dhj = dh[j] + go[j];
      T dcj = dc[j] + dhj * (o - h[j] * tc[j]);
      const T d_o = dhj * tc[j] * o * (T(1) - o);
      if constexpr (K == PEEPHOLE) dcj += d_o * peep[2 * hidden + j];   // o peeked at c_t
      const T di = dcj * g[j] * i * (T(1) - i);
      const T df = dcj * cp[j] * f * (T(1) - f);
      d[j] = di;
      d[hidden + j] = df;
      d[2 * hidden + j] = dcj * i * T(4) * sg * (T(1) - sg);
      d[3 * hidden + j] = d_o;
      T next = dcj * f;                                      // δc_{t−1}
      if constexpr (K == PEEPHOLE) next += di * peep[j] + df * peep[hidden + j];
      dc[j] = next;
    }
  }
}

template <typename T, Kind K>
void lstm_forward_steps(Tensor& s, const Tensor& w_rec, const Tensor& h0, const Tensor& c0,
                        Tensor& g_all, Tensor& c_all, Tensor& tanh_c, Tensor& out,
                        at::IntArrayRef sizes, const T* peep) {
  const int64_t steps = s.size(0), batch = s.size(1), hidden = out.size(2);
  const int64_t width = (K == COUPLED ? 3 : 4) * hidden;
  for (int64_t t = 0; t < steps; ++t) {
    const int64_t n = rows_at(sizes, t, batch);
    s.select(0, t).narrow(0, 0, n).addmm_(before(h0, out, t, n), w_rec);
    T* S = s.data_ptr<T>() + t * batch * width;
    const T* C_prev = before_ptr<T>(c0, c_all, t, batch * hidden);
    const int64_t at = t * batch * hidden;
    T *G = g_all.data_ptr<T>() + at, *C = c_all.data_ptr<T>() + at;
    T *TC = tanh_c.data_ptr<T>() + at, *H = out.data_ptr<T>() + at;
    over_rows(n, width, [=](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b) {
        const int64_t r = b * hidden;
        lstm_row_forward<T, K>(S + b * width, C_prev + r, G + r, C + r, TC + r, H + r, peep, hidden);
      }
    });
  }
}

template <typename T, Kind K>
void lstm_backward_steps(const Tensor& s, const Tensor& g_all, const Tensor& c_all,
                         const Tensor& c0, const Tensor& tanh_c, const Tensor& out,
                         const Tensor& grad_out, const Tensor& w_hh, Tensor& da, Tensor& dh,
                         Tensor& dc, at::IntArrayRef sizes, const T* peep) {
  const int64_t steps = s.size(0), batch = s.size(1), hidden = out.size(2);
  const int64_t width = (K == COUPLED ? 3 : 4) * hidden;
  T *DH = dh.data_ptr<T>(), *DC = dc.data_ptr<T>();
  for (int64_t t = steps - 1; t >= 0; --t) {
    const int64_t n = rows_at(sizes, t, batch), at = t * batch * hidden;
    const T* S = s.data_ptr<T>() + t * batch * width;
    T* DA = da.data_ptr<T>() + t * batch * width;
    const T* C_prev = before_ptr<T>(c0, c_all, t, batch * hidden);
    const T *G = g_all.data_ptr<T>() + at, *TC = tanh_c.data_ptr<T>() + at;
    const T *H = out.data_ptr<T>() + at, *GO = grad_out.data_ptr<T>() + at;
    over_rows(n, width, [=](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b) {
        const int64_t r = b * hidden;
        lstm_row_backward<T, K>(S + b * width, C_prev + r, G + r, TC + r, H + r, GO + r, DH + r,
                                DC + r, DA + b * width, peep, hidden);
      }
    });
    Tensor dh_n = dh.narrow(0, 0, n);
    at::mm_out(dh_n, da.select(0, t).narrow(0, 0, n), w_hh);      // δh_{t−1}
  }
}

template <typename... Tensors>
void check_cpu(const char* name, const Tensors&... tensors) {
  const bool ok = ((tensors.device().is_cpu() && tensors.is_contiguous()) && ...);
  TORCH_CHECK(ok, name, ": every tensor must be a contiguous CPU tensor");
}

// s (T, B, G·H): every step's input term, the candidate's doubled; on return the gates after σ
void lstm_forward(Tensor s, const Tensor& w_rec, const Tensor& h0, const Tensor& c0,
                  Tensor g_all, Tensor c_all, Tensor tanh_c, Tensor out, at::IntArrayRef sizes,
                  const std::optional<Tensor>& peepholes) {
  check_cpu("lstm_forward", s, h0, c0, g_all, c_all, tanh_c, out);
  const bool coupled = s.size(2) == 3 * out.size(2);
  AT_DISPATCH_FLOATING_TYPES(s.scalar_type(), "lstm_forward", [&] {
    const scalar_t* peep = peepholes ? peepholes->data_ptr<scalar_t>() : nullptr;
    if (coupled)
      lstm_forward_steps<scalar_t, COUPLED>(s, w_rec, h0, c0, g_all, c_all, tanh_c, out, sizes, peep);
    else if (peep)
      lstm_forward_steps<scalar_t, PEEPHOLE>(s, w_rec, h0, c0, g_all, c_all, tanh_c, out, sizes, peep);
    else
      lstm_forward_steps<scalar_t, PLAIN>(s, w_rec, h0, c0, g_all, c_all, tanh_c, out, sizes, peep);
  });
}

// fills da (T, B, G·H) with every step's δa; dh, dc enter as ∂L/∂h_n, ∂L/∂c_n and leave as
// ∂L/∂h_0, ∂L/∂c_0
void lstm_backward(const Tensor& s, const Tensor& g_all, const Tensor& c_all, const Tensor& c0,
                   const Tensor& tanh_c, const Tensor& out, const Tensor& grad_out,
                   const Tensor& w_hh, Tensor da, Tensor dh, Tensor dc, at::IntArrayRef sizes,
                   const std::optional<Tensor>& peepholes) {
  check_cpu("lstm_backward", s, g_all, c_all, c0, tanh_c, out, grad_out, da, dh, dc);
  const bool coupled = s.size(2) == 3 * out.size(2);
  AT_DISPATCH_FLOATING_TYPES(s.scalar_type(), "lstm_backward", [&] {
    const scalar_t* peep = peepholes ? peepholes->data_ptr<scalar_t>() : nullptr;
    if (coupled)
      lstm_backward_steps<scalar_t, COUPLED>(s, g_all, c_all, c0, tanh_c, out, grad_out, w_hh, da, dh, dc, sizes, peep);
    else if (peep)
      lstm_backward_steps<scalar_t, PEEPHOLE>(s, g_all, c_all, c0, tanh_c, out, grad_out, w_hh, da, dh, dc, sizes, peep);
    else
      lstm_backward_steps<scalar_t, PLAIN>(s, g_all, c_all, c0, tanh_c, out, grad_out, w_hh, da, dh, dc, sizes, peep);
  });
}

// ---- the GRU: gates r, z, n, the n gate's pre-activation doubled -----------------------------

template <typename T>
void gru_row_forward(T* __restrict x, const T* __restrict hh, const T* __restrict hp,
                     T* __restrict nb, T* __restrict h, int64_t hidden) {
  for (int64_t j = 0; j < hidden; ++j) {
    const T r = sigmoid(x[j] + hh[j]), z = sigmoid(x[hidden + j] + hh[hidden + j]);
    const T sn = sigmoid(x[2 * hidden + j] + r * hh[2 * hidden + j]);   // σ(2a_n)
    const T nj = T(2) * sn - T(1);
    x[j] = r; x[hidden + j] = z; x[2 * hidden + j] = sn;
    nb[j] = nj;
    h[j] = nj + z * (hp[j] - nj);                            // n + z ⊙ (h_{t−1} − n)
  }
}

template <typename T>
void gru_row_backward(const T* __restrict x, const T* __restrict hh, const T* __restrict hp,
                      const T* __restrict nb, const T* __restrict go, T* __restrict dh,
                      T* __restrict dx, T* __restrict dq, int64_t hidden) {
  for (int64_t j = 0; j < hidden; ++j) {
    const T r = x[j], z = x[hidden + j], sn = x[2 * hidden + j];
    const T dhj = dh[j] + go[j];
    const T dn = dhj * (T(1) - z) * T(4) * sn * (T(1) - sn);
    const T dz = (hp[j] - nb[j]) * dhj * z * (T(1) - z);
    const T dr = dn * hh[2 * hidden + j] * r * (T(1) - r) * T(0.5);   // hh_n kept doubled
    dx[j] = dr; dx[hidden + j] = dz; dx[2 * hidden + j] = dn;
    dq[j] = dr; dq[hidden + j] = dz; dq[2 * hidden + j] = dn * r;
    dh[j] = dhj * z;                                         // δh_{t−1}, before W_hh's share
  }
}

template <typename T>
void gru_forward_steps(Tensor& xs, const Tensor& w_rec, const std::optional<Tensor>& b_rec,
                       const Tensor& h0, Tensor& hh, Tensor& n_all, Tensor& out,
                       at::IntArrayRef sizes) {
  const int64_t steps = xs.size(0), batch = xs.size(1), hidden = out.size(2), width = 3 * hidden;
  for (int64_t t = 0; t < steps; ++t) {
    const int64_t n = rows_at(sizes, t, batch);
    Tensor hh_t = hh.select(0, t).narrow(0, 0, n);
    const Tensor h_prev = before(h0, out, t, n);
    if (b_rec) at::addmm_out(hh_t, *b_rec, h_prev, w_rec);
    else at::mm_out(hh_t, h_prev, w_rec);
    T* X = xs.data_ptr<T>() + t * batch * width;
    const T* HH = hh.data_ptr<T>() + t * batch * width;
    const T* H_prev = before_ptr<T>(h0, out, t, batch * hidden);
    T *N = n_all.data_ptr<T>() + t * batch * hidden, *H = out.data_ptr<T>() + t * batch * hidden;
    over_rows(n, width, [=](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b) {
        const int64_t r = b * hidden;
        gru_row_forward<T>(X + b * width, HH + b * width, H_prev + r, N + r, H + r, hidden);
      }
    });
  }
}

template <typename T>
void gru_backward_steps(const Tensor& xs, const Tensor& hh, const Tensor& n_all,
                        const Tensor& out, const Tensor& h0, const Tensor& grad_out,
                        const Tensor& w_hh, Tensor& dx_gates, Tensor& dhh, Tensor& dh,
                        at::IntArrayRef sizes) {
  const int64_t steps = xs.size(0), batch = xs.size(1), hidden = out.size(2), width = 3 * hidden;
  T* DH = dh.data_ptr<T>();
  for (int64_t t = steps - 1; t >= 0; --t) {
    const int64_t n = rows_at(sizes, t, batch), at = t * batch * hidden;
    const T *X = xs.data_ptr<T>() + t * batch * width, *HH = hh.data_ptr<T>() + t * batch * width;
    T *DX = dx_gates.data_ptr<T>() + t * batch * width, *DHH = dhh.data_ptr<T>() + t * batch * width;
    const T* H_prev = before_ptr<T>(h0, out, t, batch * hidden);
    const T *N = n_all.data_ptr<T>() + at, *GO = grad_out.data_ptr<T>() + at;
    over_rows(n, width, [=](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b) {
        const int64_t r = b * hidden, w = b * width;
        gru_row_backward<T>(X + w, HH + w, H_prev + r, N + r, GO + r, DH + r, DX + w, DHH + w, hidden);
      }
    });
    dh.narrow(0, 0, n).addmm_(dhh.select(0, t).narrow(0, 0, n), w_hh);   // δh_{t−1}
  }
}

void gru_forward(Tensor xs, const Tensor& w_rec, const std::optional<Tensor>& b_rec,
                 const Tensor& h0, Tensor hh, Tensor n_all, Tensor out, at::IntArrayRef sizes) {
  check_cpu("gru_forward", xs, h0, hh, n_all, out);
  AT_DISPATCH_FLOATING_TYPES(xs.scalar_type(), "gru_forward", [&] {
    gru_forward_steps<scalar_t>(xs, w_rec, b_rec, h0, hh, n_all, out, sizes);
  });
}

void gru_backward(const Tensor& xs, const Tensor& hh, const Tensor& n_all, const Tensor& out,
                  const Tensor& h0, const Tensor& grad_out, const Tensor& w_hh, Tensor dx_gates,
                  Tensor dhh, Tensor dh, at::IntArrayRef sizes) {
  check_cpu("gru_backward", xs, hh, n_all, out, h0, grad_out, dx_gates, dhh, dh);
  AT_DISPATCH_FLOATING_TYPES(xs.scalar_type(), "gru_backward", [&] {
    gru_backward_steps<scalar_t>(xs, hh, n_all, out, h0, grad_out, w_hh, dx_gates, dhh, dh, sizes);
  });
}

}  // namespace

TORCH_LIBRARY(nnzoo, m) {
  m.def("lstm_forward(Tensor(a!) s, Tensor w_rec, Tensor h0, Tensor c0, Tensor(b!) g_all, "
        "Tensor(c!) c_all, Tensor(d!) tanh_c, Tensor(e!) out, int[] sizes, Tensor? peepholes) -> ()");
  m.def("lstm_backward(Tensor s, Tensor g_all, Tensor c_all, Tensor c0, Tensor tanh_c, Tensor out, "
        "Tensor grad_out, Tensor w_hh, Tensor(a!) da, Tensor(b!) dh, Tensor(c!) dc, int[] sizes, "
        "Tensor? peepholes) -> ()");
  m.def("gru_forward(Tensor(a!) xs, Tensor w_rec, Tensor? b_rec, Tensor h0, Tensor(b!) hh, "
        "Tensor(c!) n_all, Tensor(d!) out, int[] sizes) -> ()");
  m.def("gru_backward(Tensor xs, Tensor hh, Tensor n_all, Tensor out, Tensor h0, Tensor grad_out, "
        "Tensor w_hh, Tensor(a!) dx_gates, Tensor(b!) dhh, Tensor(c!) dh, int[] sizes) -> ()");
}

TORCH_LIBRARY_IMPL(nnzoo, CPU, m) {
  m.impl("lstm_forward", &lstm_forward);
  m.impl("lstm_backward", &lstm_backward);
  m.impl("gru_forward", &gru_forward);
  m.impl("gru_backward", &gru_backward);
}
