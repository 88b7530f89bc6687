// The decoder's matrix-vector kernels against LibTorch's float64 matmul: every weight type, every
// dispatch level this CPU runs (forced through the isa parameter), shapes that are not multiples
// of any vector width, several input rows, split output ranges and accumulation.
#include "kernels/gemv.h"

// LibTorch before any Qt header: Qt's `slots` macro would break it.
#include <torch/torch.h>

#include <QTest>

using namespace moin::kernels;

namespace {

std::vector<Isa> supportedLevels()
{
    std::vector<Isa> levels;
    for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
        if (isaSupported(isa))
            levels.push_back(isa);
    }
    return levels;
}

torch::ScalarType torchType(WeightType type)
{
    switch (type) {
    case WeightType::Float32: return torch::kFloat32;
    case WeightType::BFloat16: return torch::kBFloat16;
    case WeightType::Float16: return torch::kFloat16;
    }
    return torch::kFloat32;
}

const char* typeName(WeightType type)
{
    switch (type) {
    case WeightType::Float32: return "float32";
    case WeightType::BFloat16: return "bfloat16";
    case WeightType::Float16: return "float16";
    }
    return "?";
}

} // namespace

class TestKernels : public QObject {
    Q_OBJECT
private slots:
    void levelsAreOrdered();
    void gemvMatchesFloat64_data();
    void gemvMatchesFloat64();
    void conversionsAreExact();
};

void TestKernels::levelsAreOrdered()
{
    // The scalar level runs everywhere and the best level is one the CPU runs.
    QVERIFY(isaSupported(Isa::Scalar));
    QVERIFY(isaSupported(bestIsa()));
    if (isaSupported(Isa::Avx512))
        QVERIFY(isaSupported(Isa::Avx2));
    qInfo("dispatch levels on this CPU: %s (best %s)",
          [] {
              static std::string names;
              for (Isa isa : supportedLevels())
                  names += std::string(isaName(isa)) + " ";
              return names.c_str();
          }(),
          isaName(bestIsa()));
}

void TestKernels::gemvMatchesFloat64_data()
{
    QTest::addColumn<int>("isa");
    QTest::addColumn<int>("type");
    for (Isa isa : supportedLevels()) {
        for (WeightType type : {WeightType::Float32, WeightType::BFloat16, WeightType::Float16}) {
            QTest::addRow("%s/%s", isaName(isa), typeName(type)) << int(isa) << int(type);
        }
    }
}

void TestKernels::gemvMatchesFloat64()
{
    QFETCH(int, isa);
    QFETCH(int, type);
    const Isa level = Isa(isa);
    const WeightType weightType = WeightType(type);
    torch::manual_seed(11);
    // (out, in): below, between and above the 8- and 16-float vector widths and their unrolling.
    const std::vector<std::pair<int64_t, int64_t>> shapes = {
        {1, 1}, {3, 7}, {5, 9}, {17, 15}, {13, 31}, {7, 33}, {29, 47}, {19, 65}, {37, 100}, {11, 257}};
    for (const auto& [out, in] : shapes) {
        for (int64_t n : {1, 2, 3, 4, 5, 9}) {
            // A padded row stride: the kernels must follow w.stride, not assume cols.
            const torch::Tensor storage = torch::randn({out, in + 3}).to(torchType(weightType));
            const torch::Tensor w = storage.narrow(1, 0, in);
            const int64_t ldx = in + 2;
            const torch::Tensor x = torch::randn({n, ldx});
            const int64_t ldy = out + 1;
            const torch::Tensor start = torch::randn({n, ldy});
            // The reference sees the weights as stored (already rounded to their type).
            const torch::Tensor product = torch::matmul(x.narrow(1, 0, in).to(torch::kFloat64),
                                                        w.to(torch::kFloat64).t()); // (n, out)
            for (bool accumulate : {false, true}) {
                torch::Tensor y = start.clone();
                WeightMatrix m;
                m.data = storage.data_ptr();
                m.type = weightType;
                m.rows = out;
                m.cols = in;
                m.stride = in + 3;
                // Two ranges: the split must not change any row.
                const int64_t half = out / 2;
                gemvRows(level, m, 0, half, x.data_ptr<float>(), n, ldx, y.data_ptr<float>(),
                         ldy, accumulate);
                gemvRows(level, m, half, out, x.data_ptr<float>(), n, ldx, y.data_ptr<float>(),
                         ldy, accumulate);
                torch::Tensor expected = product;
                if (accumulate)
                    expected = expected + start.narrow(1, 0, out).to(torch::kFloat64);
                const torch::Tensor got = y.narrow(1, 0, out).to(torch::kFloat64);
                // float32 accumulation: the error grows like sqrt(in) eps times the terms' size.
                const double tolerance = 1e-5 * std::sqrt(double(in)) * 4;
                const double diff = (got - expected).abs().max().item<double>();
                QVERIFY2(diff < tolerance, qPrintable(QString("(%1, %2) n %3 acc %4: diff %5")
                                                          .arg(out)
                                                          .arg(in)
                                                          .arg(n)
                                                          .arg(accumulate)
                                                          .arg(diff)));
                // The padding column of y is never written.
                QCOMPARE(y.select(1, out).equal(start.select(1, out)), true);
            }
        }
    }
}

void TestKernels::conversionsAreExact()
{
    // Against LibTorch's own conversions on values across the ranges, subnormals included.
    const torch::Tensor values =
        torch::cat({torch::randn({1000}) * 100, torch::randn({100}) * 1e-6,
                    torch::tensor({0.0f, -0.0f, 1.0f, -2.5f, 65504.0f, 6.1e-5f, 5.96e-8f})});
    const torch::Tensor bf16 = values.to(torch::kBFloat16);
    const torch::Tensor f16 = values.to(torch::kFloat16);
    for (int64_t i = 0; i < values.numel(); ++i) {
        const float v = values[i].item<float>();
        const uint16_t bits = bf16.data_ptr<c10::BFloat16>()[i].x;
        QCOMPARE(toBFloat16(v), bits);
        const c10::Half h = f16.data_ptr<c10::Half>()[i];
        QCOMPARE(fromFloat16(h.x), float(h));
    }
}

QTEST_GUILESS_MAIN(TestKernels)
#include "tst_kernels.moc"
