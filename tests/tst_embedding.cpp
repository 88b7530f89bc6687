// Precision and the model embedder: --precision parsing and the hardware check (against
// /proc/cpuinfo), a bf16 mixed-precision training step (frozen weights bf16 once, LoRA masters,
// gradients and AdamW state fp32, loss fp32, and a loss and gradient that agree with fp32), and
// the batched model embedder against each chunk embedded alone (fp32: equal within rounding;
// bf16: cosine similarity >= 0.99 per chunk).
// LibTorch before Qt: Qt's `slots` macro breaks LibTorch's headers.
#include "llama.h"
#include "trainloop.h"

#include "moin/embedding.h"
#include "moin/error.h"
#include "moin/model.h"
#include "moin/precision.h"

#include <torch/torch.h>

#include "testsupport.h"

#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <cstdlib>

namespace {

// The CPU's bf16 units as the kernel lists them: an independent reading of what CPUID says.
bool cpuinfoHasFlag(const QByteArray& flag)
{
    QFile file("/proc/cpuinfo");
    if (!file.open(QIODevice::ReadOnly))
        return false;
    for (const QByteArray& line : file.readAll().split('\n')) {
        if (line.startsWith("flags"))
            return line.split(' ').contains(flag);
    }
    return false;
}

// The texts of the embedder tests: lengths from a few tokens to past the 64-token context.
std::vector<std::string> variedTexts()
{
    std::vector<std::string> texts;
    for (int i = 0; i < 23; ++i) {
        const int words = 1 + (i * 7) % 45;
        texts.push_back(testsupport::topicText(i % 3, i, words).toStdString());
    }
    return texts;
}

// A chunk embedded alone, written out here rather than through the embedder: BOS + tokens cut
// at the context, final hidden states, mean over positions, L2-normalised.
std::vector<float> embedAlone(const moin::LanguageModel& model, const std::string& text)
{
    torch::NoGradGuard noGrad;
    moin::LlamaImpl& llama = *model.impl().model;
    std::vector<int64_t> ids = {model.config().bosTokenId};
    for (int32_t token : model.tokenizer().encode(text))
        ids.push_back(token);
    ids.resize(std::min<size_t>(ids.size(), size_t(model.config().maxPositions)));
    const torch::Tensor tokens = torch::tensor(ids, torch::kLong).unsqueeze(0); // (1, T)
    const torch::Tensor mean = llama.hidden(tokens).to(torch::kFloat32)[0].mean(0); // (H)
    const torch::Tensor unit = (mean / mean.norm()).contiguous();
    return std::vector<float>(unit.data_ptr<float>(), unit.data_ptr<float>() + unit.numel());
}

double cosine(const float* a, const float* b, int64_t n)
{
    double dot = 0, na = 0, nb = 0;
    for (int64_t i = 0; i < n; ++i) {
        dot += double(a[i]) * b[i];
        na += double(a[i]) * a[i];
        nb += double(b[i]) * b[i];
    }
    return dot / std::sqrt(na * nb);
}

} // namespace

class TestEmbedding : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void precisionNamesAndHardwareCheck();
    void bf16StepKeepsMastersFp32AndTracksFp32();
    void batchedEmbedderEqualsOneChunkAtATime();
    void bf16EmbedderAgreesWithFp32();
    void embedderKeepsItsPrecision();

private:
    QTemporaryDir m_tmp;
    QString m_base;
};

void TestEmbedding::initTestCase()
{
    QVERIFY(m_tmp.isValid());
    // What auto picks must come from the hardware here, not from the caller's environment.
    ::unsetenv("MOIN_PRECISION");
    m_base = m_tmp.path() + "/base";
    testsupport::makeTinyBaseModel(m_base);
    torch::set_num_threads(1);
}

void TestEmbedding::precisionNamesAndHardwareCheck()
{
    using moin::Precision;
    QCOMPARE(moin::parsePrecision("auto"), Precision::Auto);
    QCOMPARE(moin::parsePrecision("fp32"), Precision::Fp32);
    QCOMPARE(moin::parsePrecision("bfloat16"), Precision::Bf16);
    for (Precision p : {Precision::Auto, Precision::Fp32, Precision::Bf16})
        QCOMPARE(moin::parsePrecision(moin::precisionName(p)), p);
    const QString error = testsupport::errorOf([] { moin::parsePrecision("fp16"); });
    QVERIFY2(error.contains("\"fp16\"") && error.contains("auto") && error.contains("bf16"),
             qPrintable(error));

    // CPUID against the kernel's reading of it.
    const moin::Bf16Support& cpu = moin::cpuBf16Support();
    QCOMPARE(cpu.avx512Bf16, cpuinfoHasFlag("avx512_bf16"));
    QCOMPARE(cpu.amxBf16, cpuinfoHasFlag("amx_bf16"));
    const Precision expected = cpu.cpuFast() ? Precision::Bf16 : Precision::Fp32;
    QCOMPARE(moin::resolvePrecision(Precision::Auto, "cpu"), expected);
    QVERIFY(QString::fromStdString(moin::describePrecision(Precision::Auto, "cpu"))
                .startsWith(QString::fromStdString(moin::precisionName(expected)) + " (auto: "));
    // Asked for explicitly, a precision is kept whatever the hardware.
    QCOMPARE(moin::resolvePrecision(Precision::Fp32, "cpu"), Precision::Fp32);
    QCOMPARE(moin::resolvePrecision(Precision::Bf16, "cpu"), Precision::Bf16);
    ::setenv("MOIN_PRECISION", "bf16", 1);
    QCOMPARE(moin::resolvePrecision(Precision::Auto, "cpu"), Precision::Bf16);
    QCOMPARE(moin::resolvePrecision(Precision::Fp32, "cpu"), Precision::Fp32);
    ::unsetenv("MOIN_PRECISION");
}

void TestEmbedding::bf16StepKeepsMastersFp32AndTracksFp32()
{
    moin::LoraConfig lora;
    lora.rank = 4;
    lora.dropout = 0;
    lora.targetModules = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                          "down_proj"};
    torch::manual_seed(3);
    const torch::Tensor batch = torch::randint(0, 300, {4, 33}, torch::kLong); // (B, T + 1)

    // One step of each precision from the same start; B is made non-zero so that every LoRA
    // matrix gets a gradient.
    struct Step {
        double loss = 0;
        std::vector<torch::Tensor> gradients;
    };
    // Checks inside the step throw, so that the lambda can return its result.
#define REQUIRE_DTYPE(tensor, type)                                                               \
    if ((tensor).scalar_type() != (type))                                                        \
        throw moin::Error(std::string(#tensor) + " is " + c10::toString((tensor).scalar_type()))
#define REQUIRE_EQUAL(a, b)                                                                           \
    if ((a) != (b))                                                                               \
        throw moin::Error(std::string(#a) + " != " + #b)
    auto runStep = [&](moin::Precision precision) {
        moin::LanguageModel model = moin::LanguageModel::load(m_base.toStdString(),
                                                              {"cpu", "float32", true});
        model.attachNewAdapter(lora, 11);
        moin::LlamaImpl& llama = *model.impl().model;
        std::vector<torch::Tensor> parameters;
        {
            torch::NoGradGuard noGrad;
            torch::manual_seed(5);
            for (auto& [name, projection] : llama.namedProjections()) {
                projection->lora->b.normal_(0, 0.02);
                parameters.push_back(projection->lora->a.set_requires_grad(true));
                parameters.push_back(projection->lora->b.set_requires_grad(true));
            }
        }
        moin::storeBaseWeightsFor(model, precision);
        torch::optim::AdamW optimizer(parameters, torch::optim::AdamWOptions(1e-3));
        llama.train();
        Step result;
        {
            const moin::PrecisionScope scope(precision, "cpu");
            const torch::Tensor loss = moin::languageModelLoss(llama, batch);
            // The loss (log-softmax over the vocabulary) is fp32 in both precisions.
            REQUIRE_DTYPE(loss, torch::kFloat32);
            loss.backward();
            result.loss = loss.item<double>();
        }
        optimizer.step();
        for (const torch::Tensor& p : parameters) {
            // Masters and their gradients stay fp32.
            REQUIRE_DTYPE(p, torch::kFloat32);
            REQUIRE_DTYPE(p.grad(), torch::kFloat32);
            result.gradients.push_back(p.grad().clone());
        }
        int64_t states = 0;
        for (const auto& [key, state] : optimizer.state()) {
            const auto& adam = static_cast<const torch::optim::AdamWParamState&>(*state);
            REQUIRE_DTYPE(adam.exp_avg(), torch::kFloat32);
            REQUIRE_DTYPE(adam.exp_avg_sq(), torch::kFloat32);
            ++states;
        }
        REQUIRE_EQUAL(states, int64_t(parameters.size()));
        // Frozen projections in bf16 (cast once) only in bf16; embeddings and norms stay fp32.
        const torch::ScalarType base =
            precision == moin::Precision::Bf16 ? torch::kBFloat16 : torch::kFloat32;
        for (auto& [name, projection] : llama.namedProjections())
            REQUIRE_DTYPE(projection->weight, base);
        REQUIRE_DTYPE(llama.embedTokens, torch::kFloat32);
        REQUIRE_DTYPE(llama.norm->weight, torch::kFloat32);
        return result;
    };
    Step fp32, bf16;
    QCOMPARE(testsupport::errorOf([&] { fp32 = runStep(moin::Precision::Fp32); }), QString());
    QCOMPARE(testsupport::errorOf([&] { bf16 = runStep(moin::Precision::Bf16); }), QString());
#undef REQUIRE_DTYPE
#undef REQUIRE_EQUAL

    // bf16 keeps 8 significant bits (relative rounding 2^-9 = 0.2%) in each matmul's inputs;
    // accumulation and the loss are fp32, so the loss moves by about that much, not more.
    QVERIFY2(std::abs(bf16.loss - fp32.loss) < 0.01 * fp32.loss,
             qPrintable(QString("loss fp32 %1, bf16 %2").arg(fp32.loss).arg(bf16.loss)));
    // Each LoRA matrix's gradient points the same way (rounding noise, not another direction).
    for (size_t i = 0; i < fp32.gradients.size(); ++i) {
        const torch::Tensor a = fp32.gradients[i].flatten();
        const torch::Tensor b = bf16.gradients[i].flatten();
        const double similarity =
            torch::dot(a, b).item<double>() / (a.norm().item<double>() * b.norm().item<double>());
        QVERIFY2(similarity > 0.98, qPrintable(QString("gradient %1: cosine %2")
                                                   .arg(i)
                                                   .arg(similarity)));
    }
}

void TestEmbedding::batchedEmbedderEqualsOneChunkAtATime()
{
    const moin::LanguageModel model = moin::LanguageModel::load(m_base.toStdString());
    const std::vector<std::string> texts = variedTexts();
    moin::EmbedderOptions options;
    options.kind = "model";
    options.precision = "fp32";
    options.batchSize = 5; // several passes, each padded to its longest chunk
    const auto embedder = moin::Embedder::fit(texts, options, &model);
    const int64_t H = embedder->dimensions();
    std::vector<float> batched(texts.size() * size_t(H));
    embedder->embed(texts, batched.data());
    for (size_t i = 0; i < texts.size(); ++i) {
        const std::vector<float> alone = embedAlone(model, texts[i]);
        float worst = 0;
        for (int64_t k = 0; k < H; ++k)
            worst = std::max(worst, std::abs(alone[size_t(k)] - batched[i * size_t(H) + size_t(k)]));
        // Unit vectors; only the matmuls' blocking differs from one pass shape to another.
        QVERIFY2(worst < 1e-5f, qPrintable(QString("chunk %1: max difference %2").arg(i).arg(worst)));
    }
}

void TestEmbedding::bf16EmbedderAgreesWithFp32()
{
    const moin::LanguageModel model = moin::LanguageModel::load(m_base.toStdString());
    const std::vector<std::string> texts = variedTexts();
    moin::EmbedderOptions options;
    options.kind = "model";
    const int64_t H = model.config().hiddenSize;
    std::vector<float> fp32(texts.size() * size_t(H)), bf16(texts.size() * size_t(H));
    options.precision = "fp32";
    moin::Embedder::fit(texts, options, &model)->embed(texts, fp32.data());
    options.precision = "bf16";
    moin::Embedder::fit(texts, options, &model)->embed(texts, bf16.data());
    double lowest = 1;
    bool identical = true;
    for (size_t i = 0; i < texts.size(); ++i) {
        lowest = std::min(lowest, cosine(&fp32[i * size_t(H)], &bf16[i * size_t(H)], H));
        identical = identical
                    && std::equal(&fp32[i * size_t(H)], &fp32[(i + 1) * size_t(H)],
                                  &bf16[i * size_t(H)]);
    }
    // The documented tolerance (embedding.h), and proof that bf16 really ran.
    QVERIFY2(lowest >= 0.99, qPrintable(QString("lowest cosine similarity %1").arg(lowest)));
    QVERIFY(!identical);
    // The model is unchanged by the bf16 run: fp32 again gives the same vectors.
    std::vector<float> again(fp32.size());
    options.precision = "fp32";
    moin::Embedder::fit(texts, options, &model)->embed(texts, again.data());
    QVERIFY(again == fp32);
}

void TestEmbedding::embedderKeepsItsPrecision()
{
    const moin::LanguageModel model = moin::LanguageModel::load(m_base.toStdString());
    const std::vector<std::string> texts = variedTexts();
    moin::EmbedderOptions options;
    options.kind = "model";
    options.precision = "bf16";
    const auto embedder = moin::Embedder::fit(texts, options, &model);
    const QString dir = m_tmp.path() + "/embedder";
    embedder->save(dir.toStdString());
    const auto loaded = moin::Embedder::load(dir.toStdString(), &model);
    const int64_t H = embedder->dimensions();
    std::vector<float> a(texts.size() * size_t(H)), b(a.size());
    embedder->embed(texts, a.data());
    loaded->embed(texts, b.data());
    QVERIFY(a == b);
    options.precision = "half";
    QVERIFY(testsupport::errorOf([&] { moin::Embedder::fit(texts, options, &model); })
                .contains("\"half\""));
}

QTEST_GUILESS_MAIN(TestEmbedding)
#include "tst_embedding.moc"
