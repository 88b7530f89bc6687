// The matrix-vector decoder (see decoder.h). Per layer: RMSNorm, one pass over q/k/v, RoPE and
// the cache write, attention threaded over (row, head), o with the residual added in place, one
// pass over gate/up, SwiGLU, down with the residual. LoRA: scaling * A x is computed per row
// before its pass (rank values), B's rows are added inside the pass, beside the base rows.
#include "kernels/decoder.h"

#include "kernels/gemv.h"
#include "llama.h"

#include "moin/error.h"

#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <array>
#include <cmath>
#include <limits>

namespace moin {

namespace {

using kernels::WeightMatrix;
using kernels::WeightType;

bool decodable(const torch::Tensor& t)
{
    const auto type = t.scalar_type();
    return t.defined() && t.device().is_cpu() && t.is_contiguous()
           && (type == torch::kFloat32 || type == torch::kBFloat16 || type == torch::kFloat16);
}

WeightMatrix matrixOf(const torch::Tensor& w)
{
    WeightMatrix m;
    m.data = w.data_ptr();
    m.type = w.scalar_type() == torch::kFloat32    ? WeightType::Float32
             : w.scalar_type() == torch::kBFloat16 ? WeightType::BFloat16
                                                   : WeightType::Float16;
    m.rows = w.size(0);
    m.cols = w.size(1);
    m.stride = w.stride(0);
    return m;
}

// Elements [offset, offset + n) of a float32/bfloat16/float16 tensor as float32.
void readFloats(const torch::Tensor& t, int64_t offset, int64_t n, float* out)
{
    switch (t.scalar_type()) {
    case torch::kFloat32: {
        const float* p = t.data_ptr<float>() + offset;
        std::copy(p, p + n, out);
        return;
    }
    case torch::kBFloat16: {
        const c10::BFloat16* p = t.data_ptr<c10::BFloat16>() + offset;
        for (int64_t i = 0; i < n; ++i)
            out[i] = float(p[i]);
        return;
    }
    default: {
        const c10::Half* p = t.data_ptr<c10::Half>() + offset;
        for (int64_t i = 0; i < n; ++i)
            out[i] = float(p[i]);
        return;
    }
    }
}

/// Per-thread buffers, grown on first use and reused by every later step.
struct Scratch {
    std::vector<float> x, xb, q, k, v, att, out, gate, up, norm, rope;
    /// LoRA inputs scaling * A x: per pass of a layer (3 at most) and row.
    std::array<std::vector<float>, 3 * kFastDecodeRows> lora;
};
thread_local Scratch scratch;

float* fit(std::vector<float>& v, int64_t n)
{
    if (int64_t(v.size()) < n)
        v.resize(size_t(n));
    return v.data();
}

/// Output rows of one matrix for the step's rows, with each row's LoRA up-projection.
struct Pass {
    WeightMatrix w;
    float* y = nullptr;
    int64_t ldy = 0;
    bool accumulate = false;
    std::array<const float*, kFastDecodeRows> loraIn{}; ///< scaling * A x per row (or null)
    std::array<WeightMatrix, kFastDecodeRows> loraUp{}; ///< B per row
};

const LoraWeights* loraOf(const ForwardPlan& plan, const ProjectionImpl& projection,
                          int64_t row, int64_t layer, int64_t kind)
{
    if (plan.attached)
        return projection.lora.get();
    const LoadedAdapter* adapter = plan.rowAdapters[size_t(row)];
    return adapter ? adapter->byIndex[size_t(layer * kProjectionsPerLayer + kind)] : nullptr;
}

// The pass of `projection` over input rows x (n, ldx); slot picks its LoRA buffers.
Pass passOf(kernels::Isa isa, const ForwardPlan& plan, ProjectionImpl& projection, int64_t layer,
            int64_t kind, int slot, const float* x, int64_t n, int64_t ldx, float* y,
            int64_t ldy, bool accumulate)
{
    Pass pass;
    pass.w = matrixOf(projection.weight);
    pass.y = y;
    pass.ldy = ldy;
    pass.accumulate = accumulate;
    for (int64_t r = 0; r < n; ++r) {
        const LoraWeights* lora = loraOf(plan, projection, r, layer, kind);
        if (!lora)
            continue;
        const WeightMatrix a = matrixOf(lora->a);
        float* t = fit(scratch.lora[size_t(slot * kFastDecodeRows + r)], a.rows);
        kernels::gemvRows(isa, a, 0, a.rows, x + r * ldx, 1, ldx, t, 0, false);
        for (int64_t i = 0; i < a.rows; ++i)
            t[i] = float(double(t[i]) * lora->scaling);
        pass.loraIn[size_t(r)] = t;
        pass.loraUp[size_t(r)] = matrixOf(lora->b);
    }
    return pass;
}

// Every pass's output rows, split over the threads as one range: one wake-up per group.
void runPasses(kernels::Isa isa, Pass* passes, int count, const float* x, int64_t n,
               int64_t ldx)
{
    int64_t total = 0;
    for (int p = 0; p < count; ++p)
        total += passes[p].w.rows;
    at::parallel_for(0, total, 64, [&](int64_t begin, int64_t end) {
        int64_t offset = 0;
        for (int p = 0; p < count; ++p) {
            const Pass& pass = passes[p];
            const int64_t lo = std::max(begin, offset) - offset;
            const int64_t hi = std::min(end, offset + pass.w.rows) - offset;
            offset += pass.w.rows;
            if (lo >= hi)
                continue;
            kernels::gemvRows(isa, pass.w, lo, hi, x, n, ldx, pass.y, pass.ldy, pass.accumulate);
            for (int64_t r = 0; r < n; ++r) {
                if (pass.loraIn[size_t(r)])
                    kernels::gemvRows(isa, pass.loraUp[size_t(r)], lo, hi, pass.loraIn[size_t(r)],
                                      1, 0, pass.y + r * pass.ldy, 0, true);
            }
        }
    });
}

// out (n, H) = weight * x * rsqrt(mean(x^2) + eps), as RmsNormImpl computes it.
void rmsNorm(const RmsNormImpl& norm, const float* x, int64_t n, int64_t H, float* out)
{
    const float* w = nullptr;
    if (norm.weight.scalar_type() == torch::kFloat32) {
        w = norm.weight.data_ptr<float>();
    } else {
        w = fit(scratch.norm, H);
        readFloats(norm.weight, 0, H, scratch.norm.data());
    }
    for (int64_t r = 0; r < n; ++r) {
        const float* xr = x + r * H;
        double sum = 0;
        for (int64_t i = 0; i < H; ++i)
            sum += double(xr[i]) * double(xr[i]);
        const float scale = float(1.0 / std::sqrt(sum / double(H) + norm.eps));
        for (int64_t i = 0; i < H; ++i)
            out[r * H + i] = w[i] * (xr[i] * scale);
    }
}

// Hugging Face's RoPE on one head: x * cos + [-x2, x1] * sin.
void rope(float* x, const float* cos, const float* sin, int64_t hd)
{
    const int64_t half = hd / 2;
    for (int64_t i = 0; i < half; ++i) {
        const float a = x[i];
        const float b = x[i + half];
        x[i] = a * cos[i] - b * sin[i];
        x[i + half] = b * cos[i + half] + a * sin[i + half];
    }
}

} // namespace

bool fastDecodeApplies(const LlamaImpl& model, const ForwardPlan& plan)
{
    if (!model.fastDecode || model.is_training() || at::GradMode::is_enabled())
        return false;
    if (plan.T != 1 || plan.B > kFastDecodeRows || !plan.cache)
        return false;
    if (!decodable(model.embedTokens) || !decodable(model.ropeCos))
        return false;
    for (const torch::Tensor& keys : plan.cache->keys) {
        if (!keys.is_contiguous() || keys.scalar_type() != torch::kFloat32 || !keys.device().is_cpu())
            return false;
    }
    for (const torch::Tensor& values : plan.cache->values) {
        if (!values.is_contiguous() || values.scalar_type() != torch::kFloat32)
            return false;
    }
    auto loraOk = [](const LoraWeights* lora) {
        return !lora || (decodable(lora->a) && decodable(lora->b));
    };
    for (const auto& layer : model.layers) {
        const AttentionImpl& a = *layer->attention;
        const MlpImpl& m = *layer->mlp;
        for (const ProjectionImpl* p : {a.qProj.get(), a.kProj.get(), a.vProj.get(), a.oProj.get(),
                                        m.gateProj.get(), m.upProj.get(), m.downProj.get()}) {
            if (!decodable(p->weight) || (plan.attached && !loraOk(p->lora.get())))
                return false;
        }
    }
    if (!plan.attached) {
        for (const LoadedAdapter* adapter : plan.rowAdapters) {
            if (!adapter)
                continue;
            for (const LoraWeights* lora : adapter->byIndex) {
                if (!loraOk(lora))
                    return false;
            }
        }
    }
    for (const auto& layer : model.layers) {
        if (!decodable(layer->inputNorm->weight) || !decodable(layer->postAttentionNorm->weight))
            return false;
    }
    return decodable(model.norm->weight);
}

torch::Tensor decodeHidden(LlamaImpl& model, const torch::Tensor& tokens, const ForwardPlan& plan)
{
    const LlamaConfig& c = model.config;
    const kernels::Isa isa = model.kernelIsa;
    const int64_t n = plan.B;
    const int64_t H = c.hiddenSize;
    const int64_t I = c.intermediateSize;
    const int64_t hd = c.headDim();
    const int64_t nh = c.numHeads;
    const int64_t nkv = c.numKvHeads;
    const int64_t rep = nh / nkv;
    const int64_t qDim = nh * hd;
    const int64_t kvDim = nkv * hd;
    const int64_t capacity = plan.cache->keys.at(0).size(2);
    const float scale = float(1.0 / std::sqrt(double(hd)));

    float* x = fit(scratch.x, n * H);   // (n, H) residual stream
    float* xb = fit(scratch.xb, n * std::max(H, qDim));
    float* q = fit(scratch.q, n * qDim);
    float* k = fit(scratch.k, n * kvDim);
    float* v = fit(scratch.v, n * kvDim);
    float* out = fit(scratch.out, n * qDim);
    float* gate = fit(scratch.gate, n * I);
    float* up = fit(scratch.up, n * I);
    float* att = fit(scratch.att, n * nh * plan.span);
    float* ropeRows = fit(scratch.rope, n * 2 * hd); // per row: cos, sin

    const torch::Tensor ids = tokens.to(torch::kLong).contiguous();
    const int64_t* id = ids.data_ptr<int64_t>();
    for (int64_t r = 0; r < n; ++r) {
        if (id[r] < 0 || id[r] >= c.vocabSize)
            throw Error("token " + std::to_string(id[r]) + " is outside the vocabulary");
        readFloats(model.embedTokens, id[r] * H, H, x + r * H);
        const int64_t pos = plan.startOf(r);
        readFloats(model.ropeCos, pos * hd, hd, ropeRows + r * 2 * hd);
        readFloats(model.ropeSin, pos * hd, hd, ropeRows + r * 2 * hd + hd);
    }

    for (int64_t l = 0; l < c.numLayers; ++l) {
        DecoderLayerImpl& layer = *model.layers[size_t(l)];
        AttentionImpl& attention = *layer.attention;
        MlpImpl& mlp = *layer.mlp;

        rmsNorm(*layer.inputNorm, x, n, H, xb);
        Pass qkv[3] = {
            passOf(isa, plan, *attention.qProj, l, kQ, 0, xb, n, H, q, qDim, false),
            passOf(isa, plan, *attention.kProj, l, kK, 1, xb, n, H, k, kvDim, false),
            passOf(isa, plan, *attention.vProj, l, kV, 2, xb, n, H, v, kvDim, false),
        };
        runPasses(isa, qkv, 3, xb, n, H);

        float* keys = plan.cache->keys[size_t(l)].data_ptr<float>();     // (slots, nkv, cap, hd)
        float* values = plan.cache->values[size_t(l)].data_ptr<float>(); // (slots, nkv, cap, hd)
        for (int64_t r = 0; r < n; ++r) {
            const float* cos = ropeRows + r * 2 * hd;
            const float* sin = cos + hd;
            for (int64_t h = 0; h < nh; ++h)
                rope(q + r * qDim + h * hd, cos, sin, hd);
            const int64_t slot = plan.slotOf(r);
            const int64_t pos = plan.startOf(r);
            for (int64_t g = 0; g < nkv; ++g) {
                float* kr = k + r * kvDim + g * hd;
                rope(kr, cos, sin, hd);
                const int64_t at = ((slot * nkv + g) * capacity + pos) * hd;
                std::copy(kr, kr + hd, keys + at);
                std::copy(v + r * kvDim + g * hd, v + r * kvDim + (g + 1) * hd, values + at);
            }
        }

        // Row r's query head h against its slot's keys 0..pos of kv head h / rep.
        at::parallel_for(0, n * nh, 1, [&](int64_t begin, int64_t end) {
            for (int64_t task = begin; task < end; ++task) {
                const int64_t r = task / nh;
                const int64_t h = task % nh;
                const int64_t g = h / rep;
                const int64_t length = plan.startOf(r) + 1;
                const int64_t base = (plan.slotOf(r) * nkv + g) * capacity * hd;
                float* scores = att + task * plan.span;
                const WeightMatrix keyRows{keys + base, WeightType::Float32, length, hd, hd};
                kernels::gemvRows(isa, keyRows, 0, length, q + r * qDim + h * hd, 1, hd, scores,
                                  0, false);
                float top = -std::numeric_limits<float>::infinity();
                for (int64_t t = 0; t < length; ++t) {
                    scores[t] *= scale;
                    top = std::max(top, scores[t]);
                }
                float sum = 0;
                for (int64_t t = 0; t < length; ++t) {
                    scores[t] = std::exp(scores[t] - top);
                    sum += scores[t];
                }
                float* o = out + r * qDim + h * hd;
                std::fill(o, o + hd, 0.0f);
                const float* vt = values + base;
                for (int64_t t = 0; t < length; ++t, vt += hd) {
                    const float p = scores[t] / sum;
                    for (int64_t d = 0; d < hd; ++d)
                        o[d] += p * vt[d];
                }
            }
        });

        Pass o = passOf(isa, plan, *attention.oProj, l, kO, 0, out, n, qDim, x, H, true);
        runPasses(isa, &o, 1, out, n, qDim);

        rmsNorm(*layer.postAttentionNorm, x, n, H, xb);
        Pass gateUp[2] = {
            passOf(isa, plan, *mlp.gateProj, l, kGate, 0, xb, n, H, gate, I, false),
            passOf(isa, plan, *mlp.upProj, l, kUp, 1, xb, n, H, up, I, false),
        };
        runPasses(isa, gateUp, 2, xb, n, H);
        for (int64_t i = 0; i < n * I; ++i)
            gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
        Pass down = passOf(isa, plan, *mlp.downProj, l, kDown, 0, gate, n, I, x, H, true);
        runPasses(isa, &down, 1, gate, n, I);
    }

    torch::Tensor hidden = torch::empty({n, 1, H}, torch::kFloat32);
    rmsNorm(*model.norm, x, n, H, hidden.data_ptr<float>());
    return hidden;
}

bool fastProjectApplies(const LlamaImpl& model, const torch::Tensor& hidden)
{
    if (!model.fastDecode || at::GradMode::is_enabled() || !hidden.device().is_cpu())
        return false;
    const torch::Tensor& w = model.lmHead ? model.lmHead->weight : model.embedTokens;
    return decodable(w) && hidden.dim() >= 1 && hidden.size(-1) == w.size(1)
           && hidden.numel() <= kFastDecodeRows * w.size(1);
}

torch::Tensor projectRows(LlamaImpl& model, const torch::Tensor& hidden)
{
    const torch::Tensor& w = model.lmHead ? model.lmHead->weight : model.embedTokens;
    const torch::Tensor h = hidden.to(torch::kFloat32).contiguous();
    const int64_t H = w.size(1);
    const int64_t n = h.numel() / H;
    std::vector<int64_t> shape(hidden.sizes().begin(), hidden.sizes().end());
    shape.back() = w.size(0);
    torch::Tensor logits = torch::empty(shape, torch::kFloat32);
    Pass pass;
    pass.w = matrixOf(w);
    pass.y = logits.data_ptr<float>();
    pass.ldy = w.size(0);
    runPasses(model.kernelIsa, &pass, 1, h.data_ptr<float>(), n, H);
    return logits;
}

} // namespace moin
