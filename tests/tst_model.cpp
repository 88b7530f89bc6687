// Model engine: logits against an independent Python reference, KV cache, safetensors and PEFT
// round trips, LoRA merge, generation, perplexity, and every malformed-file error.
#include "kernels/decoder.h"
#include "llama.h"

#include "moin/error.h"
#include "moin/model.h"
#include "moin/safetensors.h"

// LibTorch before any Qt header: Qt's `slots` macro would break it.
#include <torch/torch.h>

#include "testsupport.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

using moin::LanguageModel;

using testsupport::errorOf;

namespace {

const char* const kTinyConfig =
    R"({"vocab_size": 97, "hidden_size": 64, "intermediate_size": 160, "num_hidden_layers": 2,)"
    R"( "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-5,)"
    R"( "rope_theta": 10000.0, "max_position_embeddings": 128, "tie_word_embeddings": false})";

const std::vector<int32_t> kTokens = {1, 17, 42, 5, 96, 33, 8, 8, 61, 2, 70, 13};

std::string str(const QString& s) { return s.toStdString(); }

struct PythonRun {
    int exitCode = -1;
    QByteArray out;
    QString err;
};

// Runs tests/reference/llama_reference.py with Debian's interpreter (which has python3-torch).
PythonRun reference(const QStringList& arguments)
{
    QProcess process;
    process.start("/usr/bin/python3",
                  QStringList{QStringLiteral(MOIN_SOURCE_DIR) + "/tests/reference/llama_reference.py"}
                      + arguments);
    if (!process.waitForFinished(180000))
        return {-1, {}, "did not finish: " + process.errorString()};
    return {process.exitCode(), process.readAllStandardOutput(),
            QString::fromUtf8(process.readAllStandardError())};
}

// python3-torch is a declared dependency (packaging/install-deps.sh): a reference that cannot
// run is a failure saying what to install, never a skip that CTest would count as a pass.
#define REFERENCE_OR_FAIL(run)                                                                     \
    do {                                                                                           \
        if ((run).exitCode == 77 || !QFile::exists("/usr/bin/python3"))                           \
            QFAIL("the Python reference cannot run: /usr/bin/python3 with torch and numpy is "    \
                  "needed (python3-torch, python3-numpy; run packaging/install-deps.sh)");        \
        QVERIFY2((run).exitCode == 0,                                                              \
                 qPrintable(QString("the Python reference exited with %1: %2")                    \
                                .arg((run).exitCode)                                               \
                                .arg((run).err)));                                                 \
    } while (0)

QString tokenList(const std::vector<int32_t>& tokens)
{
    QStringList parts;
    for (int32_t t : tokens)
        parts << QString::number(t);
    return parts.join(',');
}

std::vector<double> parseLogits(const QByteArray& json, int64_t* rows, int64_t* cols)
{
    const QJsonObject object = QJsonDocument::fromJson(json).object();
    *rows = object["shape"].toArray()[0].toInt();
    *cols = object["shape"].toArray()[1].toInt();
    std::vector<double> values;
    for (const QJsonValue& row : object["logits"].toArray()) {
        for (const QJsonValue& v : row.toArray())
            values.push_back(v.toDouble());
    }
    return values;
}

double maxAbsDiff(const std::vector<float>& ours, const std::vector<double>& theirs)
{
    if (ours.size() != theirs.size())
        return std::numeric_limits<double>::infinity();
    double worst = 0;
    for (size_t i = 0; i < ours.size(); ++i)
        worst = std::max(worst, std::abs(double(ours[i]) - theirs[i]));
    return worst;
}

moin::LlamaConfig tinyConfig()
{
    return moin::LlamaConfig::fromJson(kTinyConfig, "test");
}

} // namespace

class TestModel : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void configParsing();
    void configRefusals_data();
    void configRefusals();
    void logitsMatchReference_data();
    void logitsMatchReference();
    void savedModelMatchesReference();
    void adapterMatchesReference();
    void kvCacheEqualsFullRecompute();
    void forwardBatchRowsMatchAlone_data();
    void forwardBatchRowsMatchAlone();
    void halfPrecisionDecodeReadsStoredWeights();
    void saveLoadRoundTrip();
    void peftKeysAndShapes();
    void mergeEqualsUnmerged();
    void malformedModels_data();
    void malformedModels();
    void malformedAdapters_data();
    void malformedAdapters();
    void greedyGenerationMatchesArgmax();
    void samplingIsSeeded();
    void generationStops();
    void perplexityMatchesLogits();

private:
    QTemporaryDir m_tmp;
    QString m_model; // a reference-made random model folder
    QString m_modelError; // why m_model could not be made
};

void TestModel::initTestCase()
{
    torch::set_num_threads(2);
    m_model = m_tmp.filePath("ref-f32");
    const PythonRun run = reference({"make-random", m_model, "--config", kTinyConfig, "--seed", "7"});
    if (run.exitCode != 0) {
        // Only the reference-dependent tests fail (with this reason); the others use random
        // models.
        m_modelError =
            QString("the Python reference could not make the random model (exit %1): %2")
                .arg(run.exitCode)
                .arg(run.exitCode == 77
                         ? QString("torch or numpy is missing; run packaging/install-deps.sh")
                         : run.err);
        m_model.clear();
    }
}

void TestModel::configParsing()
{
    const moin::LlamaConfig c = tinyConfig();
    QCOMPARE(c.numKvHeads, int64_t(2));
    QCOMPARE(c.headDim(), int64_t(16));
    const moin::LlamaConfig again = moin::LlamaConfig::fromJson(c.toJson(), "round trip");
    QCOMPARE(again.toJson(), c.toJson());
    // TinyLlama-1.1B: 1,100,048,384 weights.
    QCOMPARE(moin::LlamaConfig::tinyLlama().parameterCount(), int64_t(1100048384));
    // Llama 3 lists several end tokens.
    const auto llama3 = moin::LlamaConfig::fromJson(
        R"({"vocab_size": 10, "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1,
            "num_attention_heads": 2, "eos_token_id": [7, 9]})", "llama3");
    QCOMPARE(llama3.eosTokenId, 7);
}

void TestModel::configRefusals_data()
{
    QTest::addColumn<QString>("json");
    QTest::addColumn<QString>("expected");
    QTest::newRow("not json") << "{oops" << "not valid JSON";
    QTest::newRow("missing key") << R"({"vocab_size": 10})" << "has no \"hidden_size\"";
    QTest::newRow("other architecture")
        << R"({"model_type": "gpt2", "vocab_size": 10})" << "Llama-family";
    QTest::newRow("rope scaling")
        << R"({"vocab_size": 10, "hidden_size": 8, "intermediate_size": 8,
              "num_hidden_layers": 1, "num_attention_heads": 2,
              "rope_scaling": {"type": "linear", "factor": 2}})" << "rope_scaling";
    QTest::newRow("heads do not divide")
        << R"({"vocab_size": 10, "hidden_size": 10, "intermediate_size": 8,
              "num_hidden_layers": 1, "num_attention_heads": 3})" << "not a multiple";
    QTest::newRow("kv heads do not divide")
        << R"({"vocab_size": 10, "hidden_size": 12, "intermediate_size": 8,
              "num_hidden_layers": 1, "num_attention_heads": 3, "num_key_value_heads": 2})"
        << "num_key_value_heads";
    QTest::newRow("wrong type")
        << R"({"vocab_size": "many", "hidden_size": 8})" << "wrong type";
}

void TestModel::configRefusals()
{
    QFETCH(QString, json);
    QFETCH(QString, expected);
    const QString message = errorOf([&] { moin::LlamaConfig::fromJson(str(json), "config.json"); });
    QVERIFY2(message.contains(expected), qPrintable(message));
}

void TestModel::logitsMatchReference_data()
{
    QTest::addColumn<QString>("dtype");
    QTest::addColumn<int>("shards");
    QTest::addColumn<bool>("tied");
    QTest::newRow("f32") << "F32" << 1 << false;
    QTest::newRow("f32, tied embeddings") << "F32" << 1 << true;
    QTest::newRow("f16") << "F16" << 1 << false;
    QTest::newRow("bf16") << "BF16" << 1 << false;
    QTest::newRow("f32, 3 shards") << "F32" << 3 << false;
}

void TestModel::logitsMatchReference()
{
    QFETCH(QString, dtype);
    QFETCH(int, shards);
    QFETCH(bool, tied);
    const QString dir = m_tmp.filePath(QString("ref-%1-%2-%3").arg(dtype).arg(shards).arg(tied));
    QString config = kTinyConfig;
    if (tied)
        config.replace("\"tie_word_embeddings\": false", "\"tie_word_embeddings\": true");
    PythonRun run = reference({"make-random", dir, "--config", config, "--seed", "11", "--dtype",
                               dtype, "--shards", QString::number(shards)});
    REFERENCE_OR_FAIL(run);
    run = reference({"logits", dir, "--tokens", tokenList(kTokens)});
    REFERENCE_OR_FAIL(run);
    int64_t rows = 0, cols = 0;
    const std::vector<double> expected = parseLogits(run.out, &rows, &cols);
    QCOMPARE(rows, int64_t(kTokens.size()));

    const LanguageModel model = LanguageModel::load(str(dir));
    QCOMPARE(model.config().tieWordEmbeddings, tied);
    const std::vector<float> logits = model.logits(kTokens);
    const double diff = maxAbsDiff(logits, expected);
    QVERIFY2(diff < 1e-4, qPrintable(QString("max |ours - reference| = %1").arg(diff)));
}

void TestModel::savedModelMatchesReference()
{
    // The other direction: our writer's files, read by the reference's own reader.
    const LanguageModel model = LanguageModel::random(tinyConfig(), 3);
    const QString dir = m_tmp.filePath("ours");
    model.save(str(dir));
    const PythonRun run = reference({"logits", dir, "--tokens", tokenList(kTokens)});
    REFERENCE_OR_FAIL(run);
    int64_t rows = 0, cols = 0;
    const double diff = maxAbsDiff(model.logits(kTokens), parseLogits(run.out, &rows, &cols));
    QVERIFY2(diff < 1e-4, qPrintable(QString("max diff %1").arg(diff)));
}

void TestModel::adapterMatchesReference()
{
    QVERIFY2(!m_model.isEmpty(), qPrintable(m_modelError));
    const QString adapter = m_tmp.filePath("ref-adapter");
    PythonRun run = reference({"make-adapter", adapter, "--model", m_model, "--r", "4", "--alpha",
                               "8", "--targets", "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj",
                               "--seed", "5"});
    REFERENCE_OR_FAIL(run);
    run = reference({"logits", m_model, "--tokens", tokenList(kTokens), "--adapter", adapter});
    REFERENCE_OR_FAIL(run);
    int64_t rows = 0, cols = 0;
    const std::vector<double> expected = parseLogits(run.out, &rows, &cols);

    LanguageModel model = LanguageModel::load(str(m_model));
    const std::vector<float> base = model.logits(kTokens);
    model.loadAdapter(str(adapter));
    QVERIFY(model.hasAdapter());
    QCOMPARE(model.adapterConfig()->rank, 4);
    const std::vector<float> adapted = model.logits(kTokens);
    QVERIFY2(maxAbsDiff(adapted, expected) < 1e-4,
             qPrintable(QString("max diff %1").arg(maxAbsDiff(adapted, expected))));
    // The adapter matters, and detaching it restores the base exactly (weights untouched).
    QVERIFY(maxAbsDiff(base, std::vector<double>(adapted.begin(), adapted.end())) > 1e-3);
    model.detachAdapter();
    QVERIFY(model.logits(kTokens) == base);
}

void TestModel::kvCacheEqualsFullRecompute()
{
    const LanguageModel model = LanguageModel::random(tinyConfig(), 9);
    moin::LlamaImpl& llama = *model.impl().model;
    torch::InferenceMode guard;
    // Two sequences at once: prefill 5 tokens, then decode the rest one at a time.
    const torch::Tensor tokens = torch::randint(0, 97, {2, 12}, torch::kLong);
    const torch::Tensor full = llama.forward(tokens);
    moin::KvCache cache = llama.makeCache(2, 12);
    std::vector<torch::Tensor> steps = {llama.forward(tokens.narrow(1, 0, 5), &cache)};
    for (int64_t t = 5; t < 12; ++t)
        steps.push_back(llama.forward(tokens.narrow(1, t, 1), &cache));
    const torch::Tensor incremental = torch::cat(steps, 1);
    QCOMPARE(cache.length, int64_t(12));
    const double diff = (incremental - full).abs().max().item<double>();
    QVERIFY2(diff < 1e-5, qPrintable(QString("max diff %1").arg(diff)));
    // A full cache refuses more tokens instead of writing out of bounds.
    QVERIFY_THROWS_EXCEPTION(moin::Error, llama.forward(tokens.narrow(1, 0, 1), &cache));
}

namespace {

// Each request alone: its tokens from position 0 through the LibTorch path without a cache,
// its adapter attached to the model. Returns the logits at every position (T, vocab).
torch::Tensor aloneLogits(LanguageModel& model, const std::vector<int64_t>& tokens,
                          const QString& adapter)
{
    moin::LlamaImpl& llama = *model.impl().model;
    if (!adapter.isEmpty())
        model.loadAdapter(str(adapter));
    llama.fastDecode = false;
    const torch::Tensor logits =
        llama.forward(torch::tensor(tokens, torch::kLong).view({1, -1})).squeeze(0);
    llama.fastDecode = true;
    model.detachAdapter();
    return logits.to(torch::kFloat32);
}

// A rank-4 adapter on every projection with random (non-zero) B, saved as a PEFT folder.
QString randomAdapter(LanguageModel& model, const QString& dir, uint64_t seed)
{
    moin::LoraConfig config;
    config.rank = 4;
    config.alpha = 8;
    config.dropout = 0;
    config.targetModules = {"q_proj", "k_proj",  "v_proj",   "o_proj",
                            "gate_proj", "up_proj", "down_proj"};
    model.attachNewAdapter(config, seed);
    {
        torch::NoGradGuard noGrad;
        torch::manual_seed(int64_t(seed));
        for (auto& [name, projection] : model.impl().model->namedProjections())
            projection->lora->b.normal_(0.0, 0.05);
    }
    model.saveAdapter(str(dir));
    model.detachAdapter();
    return dir;
}

} // namespace

void TestModel::forwardBatchRowsMatchAlone_data()
{
    QTest::addColumn<bool>("fast");
    QTest::addColumn<int>("isa");
    QTest::addRow("libtorch") << false << int(moin::kernels::Isa::Scalar);
    for (auto isa : {moin::kernels::Isa::Scalar, moin::kernels::Isa::Avx2,
                     moin::kernels::Isa::Avx512}) {
        if (moin::kernels::isaSupported(isa))
            QTest::addRow("decoder-%s", moin::kernels::isaName(isa)) << true << int(isa);
    }
}

void TestModel::forwardBatchRowsMatchAlone()
{
    // Three requests in one forward call each: ragged prompts (right padding), their own cache
    // slots, positions and adapters (two experts and the base), then decode steps with every
    // row at its own position. Each must equal the request run alone from position 0.
    QFETCH(bool, fast);
    QFETCH(int, isa);
    LanguageModel model = LanguageModel::random(tinyConfig(), 21);
    moin::LlamaImpl& llama = *model.impl().model;
    const QString adapterA = randomAdapter(model, m_tmp.filePath("batch-a"), 1);
    const QString adapterB = randomAdapter(model, m_tmp.filePath("batch-b"), 2);
    const moin::LoadedAdapter loadedA = moin::readAdapter(llama, str(adapterA), "");
    const moin::LoadedAdapter loadedB = moin::readAdapter(llama, str(adapterB), "");
    llama.kernelIsa = moin::kernels::Isa(isa);

    std::vector<std::vector<int64_t>> rows = {{1, 5, 9, 33, 2}, {1, 70, 4}, {1, 8, 8, 61, 2, 13, 40}};
    const std::vector<QString> adapters = {adapterA, QString(), adapterB};
    const std::vector<const moin::LoadedAdapter*> loaded = {&loadedA, nullptr, &loadedB};
    const std::vector<int64_t> slotOfRow = {2, 0, 1};
    torch::InferenceMode guard;
    moin::KvCache cache = llama.makeCache(3, 32);

    moin::ForwardBatch batch;
    batch.cache = &cache;
    batch.cacheSlots = slotOfRow;
    batch.adapters = loaded;
    int64_t width = 0;
    for (const auto& row : rows)
        width = std::max(width, int64_t(row.size()));
    torch::Tensor prompt = torch::zeros({3, width}, torch::kLong);
    for (size_t r = 0; r < rows.size(); ++r) {
        batch.starts.push_back(0);
        batch.lengths.push_back(int64_t(rows[r].size()));
        prompt[int64_t(r)].narrow(0, 0, int64_t(rows[r].size()))
            .copy_(torch::tensor(rows[r], torch::kLong));
    }
    llama.fastDecode = fast;
    const torch::Tensor prefill = llama.forward(prompt, batch).to(torch::kFloat32); // (3, W, V)
    std::vector<torch::Tensor> last(3);
    for (size_t r = 0; r < rows.size(); ++r) {
        const int64_t n = int64_t(rows[r].size());
        const torch::Tensor alone = aloneLogits(model, rows[r], adapters[r]);
        const double diff = (prefill[int64_t(r)].narrow(0, 0, n) - alone).abs().max().item<double>();
        QVERIFY2(diff < 1e-4, qPrintable(QString("prefill row %1: max diff %2").arg(r).arg(diff)));
        last[r] = prefill[int64_t(r)][n - 1];
    }

    // Greedy steps: every row at its own position; the rows change order on the way (row 1
    // first in step 2) to show that a row's slot, not its place in the batch, holds its past.
    for (int step = 0; step < 4; ++step) {
        std::vector<size_t> order = {0, 1, 2};
        if (step % 2 == 1)
            order = {1, 2, 0};
        moin::ForwardBatch decode;
        decode.cache = &cache;
        std::vector<int64_t> next;
        for (size_t r : order) {
            rows[r].push_back(last[r].argmax().item<int64_t>());
            next.push_back(rows[r].back());
            decode.cacheSlots.push_back(slotOfRow[r]);
            decode.starts.push_back(int64_t(rows[r].size()) - 1);
            decode.adapters.push_back(loaded[r]);
        }
        llama.fastDecode = fast;
        if (fast) {
            // The decoder takes this call (it is what the row is testing).
            const torch::Tensor probe = torch::tensor(next, torch::kLong).view({3, 1});
            QVERIFY(moin::fastDecodeApplies(llama, moin::planFor(llama, probe, decode)));
        }
        const torch::Tensor logits =
            llama.forward(torch::tensor(next, torch::kLong).view({3, 1}), decode)
                .to(torch::kFloat32); // (3, 1, V)
        for (size_t i = 0; i < order.size(); ++i) {
            const size_t r = order[i];
            const torch::Tensor alone = aloneLogits(model, rows[r], adapters[r]);
            const double diff =
                (logits[int64_t(i)][0] - alone[int64_t(rows[r].size()) - 1]).abs().max()
                    .item<double>();
            QVERIFY2(diff < 1e-4, qPrintable(QString("step %1 row %2: max diff %3")
                                                 .arg(step).arg(r).arg(diff)));
            last[r] = logits[int64_t(i)][0];
        }
    }
    // A row past the cache's capacity is refused, not written out of bounds.
    moin::ForwardBatch full;
    full.cache = &cache;
    full.cacheSlots = {0};
    full.starts = {32};
    QVERIFY_THROWS_EXCEPTION(moin::Error,
                             llama.forward(torch::tensor({int64_t(3)}).view({1, 1}), full));
}

void TestModel::halfPrecisionDecodeReadsStoredWeights()
{
    // A bfloat16 or float16 checkpoint decodes from its 2-byte weights with float32 arithmetic:
    // it must match float32 arithmetic on the same (widened) weights, at every dispatch level.
    const LanguageModel source = LanguageModel::random(tinyConfig(), 5);
    const std::vector<int64_t> tokens = {1, 17, 42, 5, 96, 33, 8};
    for (const char* dtype : {"bfloat16", "float16"}) {
        const QString dir = m_tmp.filePath(QString("half-") + dtype);
        source.save(str(dir), dtype);
        LanguageModel widened = LanguageModel::load(str(dir), {"cpu", "float32", false});
        LanguageModel half = LanguageModel::load(str(dir), {"cpu", dtype, false});
        moin::LlamaImpl& h = *half.impl().model;
        QCOMPARE(h.dtypeOf(), moin::parseTorchDtype(dtype));
        const torch::Tensor expected = aloneLogits(widened, tokens, QString());
        for (auto isa : {moin::kernels::Isa::Scalar, moin::kernels::Isa::Avx2,
                         moin::kernels::Isa::Avx512}) {
            if (!moin::kernels::isaSupported(isa))
                continue;
            h.kernelIsa = isa;
            torch::InferenceMode guard;
            moin::KvCache cache = h.makeCache(1, 16);
            // One token at a time: every step through the decoder, float32 arithmetic only.
            torch::Tensor logits;
            for (int64_t t = 0; t < int64_t(tokens.size()); ++t)
                logits = h.forward(torch::tensor({tokens[size_t(t)]}).view({1, 1}), &cache);
            const double diff =
                (logits.view({-1}) - expected[int64_t(tokens.size()) - 1]).abs().max()
                    .item<double>();
            QVERIFY2(diff < 1e-4, qPrintable(QString("%1 %2: max diff %3")
                                                 .arg(dtype)
                                                 .arg(moin::kernels::isaName(isa))
                                                 .arg(diff)));
        }
    }
}

void TestModel::saveLoadRoundTrip()
{
    const LanguageModel model = LanguageModel::random(tinyConfig(), 4);
    const std::vector<float> logits = model.logits(kTokens);
    for (const char* dtype : {"float32", "float16", "bfloat16"}) {
        const QString dir = m_tmp.filePath(QString("roundtrip-") + dtype);
        model.save(str(dir), dtype);
        const LanguageModel loaded = LanguageModel::load(str(dir));
        QCOMPARE(loaded.config().torchDtype, std::string(dtype));
        const std::vector<float> again = loaded.logits(kTokens);
        const double diff = maxAbsDiff(again, std::vector<double>(logits.begin(), logits.end()));
        const double tolerance = std::string(dtype) == "float32" ? 0.0 : 0.05;
        QVERIFY2(diff <= tolerance, qPrintable(QString("%1: max diff %2").arg(dtype).arg(diff)));
        QVERIFY(QFile::exists(dir + "/generation_config.json"));
        QCOMPARE(QDir(dir).entryList({"*.tmp-*"}, QDir::Files).size(), 0);
    }
}

void TestModel::peftKeysAndShapes()
{
    LanguageModel model = LanguageModel::random(tinyConfig(), 1);
    const std::vector<float> base = model.logits(kTokens);
    moin::LoraConfig lora;
    lora.rank = 4;
    lora.alpha = 8;
    lora.targetModules = {"q_proj", "v_proj", "down_proj"};
    model.attachNewAdapter(lora, 1);
    // B starts at zero: a fresh adapter leaves the output exactly as it was.
    QVERIFY(model.logits(kTokens) == base);
    const QString dir = m_tmp.filePath("fresh-adapter");
    model.saveAdapter(str(dir));

    const auto file = moin::SafetensorsFile::open(str(dir + "/adapter_model.safetensors"));
    QCOMPARE(file.tensors().size(), size_t(2 * 3 * 2)); // A and B, 3 modules, 2 layers
    const moin::TensorInfo* a =
        file.find("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight");
    const moin::TensorInfo* b =
        file.find("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight");
    QVERIFY(a && b);
    QCOMPARE(a->shape, (std::vector<int64_t>{4, 64}));  // (r, in)
    QCOMPARE(b->shape, (std::vector<int64_t>{64, 4}));  // (out, r)
    const moin::TensorInfo* v =
        file.find("base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight");
    QCOMPARE(v->shape, (std::vector<int64_t>{32, 4})); // kv heads 2 x head dim 16
    // A is Kaiming-uniform: within +-1/sqrt(in) and not all zero.
    const std::vector<float> values = file.readAsFloat32(*a);
    const float bound = 1.0f / std::sqrt(64.0f);
    QVERIFY(std::all_of(values.begin(), values.end(), [&](float x) { return std::abs(x) <= bound; }));
    QVERIFY(std::any_of(values.begin(), values.end(), [](float x) { return x != 0; }));

    QFile config(dir + "/adapter_config.json");
    QVERIFY(config.open(QIODevice::ReadOnly));
    const QJsonObject json = QJsonDocument::fromJson(config.readAll()).object();
    QCOMPARE(json["peft_type"].toString(), QString("LORA"));
    QCOMPARE(json["r"].toInt(), 4);
    QCOMPARE(json["lora_alpha"].toDouble(), 8.0);
    QCOMPARE(json["target_modules"].toArray().size(), 3);
    QVERIFY(json.contains("lora_dropout") && json.contains("base_model_name_or_path"));

    // Our adapter loads back, and the reference reads it too.
    LanguageModel other = LanguageModel::random(tinyConfig(), 1);
    other.loadAdapter(str(dir));
    QVERIFY(other.logits(kTokens) == base);
}

void TestModel::mergeEqualsUnmerged()
{
    LanguageModel model = LanguageModel::random(tinyConfig(), 2);
    moin::LoraConfig lora;
    lora.rank = 3;
    lora.alpha = 6;
    lora.targetModules = {"q_proj", "k_proj", "o_proj", "up_proj", "gate_proj"};
    model.attachNewAdapter(lora, 3);
    {
        // Give B non-zero values so the adapter changes the output.
        torch::NoGradGuard noGrad;
        for (auto& [name, projection] : model.impl().model->namedProjections()) {
            if (projection->lora)
                projection->lora->b.normal_(0, 0.1);
        }
    }
    const std::vector<float> unmerged = model.logits(kTokens);
    model.mergeAdapter();
    QVERIFY(!model.hasAdapter());
    const std::vector<float> merged = model.logits(kTokens);
    const double diff = maxAbsDiff(merged, std::vector<double>(unmerged.begin(), unmerged.end()));
    QVERIFY2(diff < 1e-4, qPrintable(QString("max diff %1").arg(diff)));
}

void TestModel::malformedModels_data()
{
    QTest::addColumn<QString>("damage");
    QTest::addColumn<QString>("expected");
    QTest::newRow("no folder") << "nofolder" << "does not exist";
    QTest::newRow("no config.json") << "noconfig" << "has no config.json";
    QTest::newRow("no weights") << "noweights" << "safetensors";
    QTest::newRow("missing weight") << "missing" << "'model.norm.weight' is missing";
    QTest::newRow("wrong shape") << "shape" << "has shape [97, 32]";
    QTest::newRow("integer weights") << "dtype" << "must be F32, F16 or BF16";
    QTest::newRow("truncated weights") << "truncated" << "model.safetensors";
}

void TestModel::malformedModels()
{
    QFETCH(QString, damage);
    QFETCH(QString, expected);
    const QString dir = m_tmp.filePath("bad-model-" + damage);
    if (damage != "nofolder") {
        QDir().mkpath(dir);
        if (damage != "noconfig") {
            QFile config(dir + "/config.json");
            QVERIFY(config.open(QIODevice::WriteOnly));
            config.write(kTinyConfig);
        }
    }
    if (damage == "missing" || damage == "shape" || damage == "dtype" || damage == "truncated") {
        // A correct model, then one tensor removed, reshaped or retyped.
        LanguageModel::random(tinyConfig(), 1).save(str(dir + "/good"));
        const auto good = moin::SafetensorsFile::open(str(dir + "/good/model.safetensors"));
        moin::SafetensorsWriter writer;
        for (const moin::TensorInfo& info : good.tensors()) {
            if (damage == "missing" && info.name == "model.norm.weight")
                continue;
            if (damage == "shape" && info.name == "model.embed_tokens.weight") {
                std::vector<float> half(97 * 32, 0.5f);
                writer.add(info.name, moin::DType::F32, {97, 32}, half.data(), half.size() * 4);
                continue;
            }
            if (damage == "dtype" && info.name == "model.embed_tokens.weight") {
                std::vector<int32_t> ints(97 * 64, 1);
                writer.add(info.name, moin::DType::I32, {97, 64}, ints.data(), ints.size() * 4);
                continue;
            }
            writer.add(info.name, info.dtype, info.shape, good.data(info), info.bytes());
        }
        writer.write(str(dir + "/model.safetensors"));
        if (damage == "truncated") {
            QFile file(dir + "/model.safetensors");
            QVERIFY(file.resize(file.size() / 2));
        }
    }
    const QString message = errorOf([&] { LanguageModel::load(str(dir)); });
    QVERIFY2(message.contains(expected), qPrintable(message));
}

void TestModel::malformedAdapters_data()
{
    QTest::addColumn<QString>("damage");
    QTest::addColumn<QString>("expected");
    QTest::newRow("no folder") << "nofolder" << "does not exist";
    QTest::newRow("not LoRA") << "peft" << "peft_type";
    QTest::newRow("missing B") << "missingB" << "lora_B.weight' is missing";
    QTest::newRow("another base (shape)") << "otherbase" << "has shape";
    QTest::newRow("wrong rank in config") << "rank" << "has shape [4, 64]; expected [8, 64]";
    QTest::newRow("layer the base lacks") << "layer" << "does not exist in base model";
    QTest::newRow("not a LoRA tensor") << "bias" << "not a lora_A/lora_B weight";
}

void TestModel::malformedAdapters()
{
    QFETCH(QString, damage);
    QFETCH(QString, expected);
    LanguageModel model = LanguageModel::random(tinyConfig(), 1);
    const std::vector<float> before = model.logits(kTokens);
    const QString dir = m_tmp.filePath("bad-adapter-" + damage);

    moin::LoraConfig lora;
    lora.rank = 4;
    lora.targetModules = {"q_proj", "v_proj"};
    const int64_t in = damage == "otherbase" ? 32 : 64;
    const std::string prefix = "base_model.model.model.layers.";
    if (damage != "nofolder") {
        QDir().mkpath(dir);
        moin::SafetensorsWriter writer;
        std::vector<float> a(4 * in, 0.1f), bq(64 * 4, 0.1f), bv(32 * 4, 0.1f);
        writer.add(prefix + "0.self_attn.q_proj.lora_A.weight", moin::DType::F32, {4, in},
                   a.data(), a.size() * 4);
        if (damage != "missingB")
            writer.add(prefix + "0.self_attn.q_proj.lora_B.weight", moin::DType::F32, {64, 4},
                       bq.data(), bq.size() * 4);
        const std::string layer = damage == "layer" ? "5" : "1";
        writer.add(prefix + layer + ".self_attn.v_proj.lora_A.weight", moin::DType::F32,
                   {4, in}, a.data(), a.size() * 4);
        writer.add(prefix + layer + ".self_attn.v_proj.lora_B.weight", moin::DType::F32,
                   {32, 4}, bv.data(), bv.size() * 4);
        if (damage == "bias")
            writer.add(prefix + "0.self_attn.q_proj.bias", moin::DType::F32, {64}, bq.data(),
                       64 * 4);
        writer.write(str(dir + "/adapter_model.safetensors"));
        if (damage == "rank")
            lora.rank = 8;
        std::string config = lora.toJson();
        if (damage == "peft")
            config.replace(config.find("\"LORA\""), 6, "\"IA3\"");
        QFile file(dir + "/adapter_config.json");
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(config.c_str());
    }
    const QString message = errorOf([&] { model.loadAdapter(str(dir)); });
    QVERIFY2(message.contains(expected), qPrintable(message));
    // A refused adapter leaves the model as it was.
    QVERIFY(!model.hasAdapter());
    QVERIFY(model.logits(kTokens) == before);
}

void TestModel::greedyGenerationMatchesArgmax()
{
    const LanguageModel model = LanguageModel::random(tinyConfig(), 21);
    moin::GenerationOptions options;
    options.temperature = 0;
    options.repetitionPenalty = 1.0;
    options.stopAtEos = false;
    options.maxNewTokens = 10;
    const std::vector<int32_t> prompt = {1, 17, 42};
    const moin::GenerationResult result = model.generateTokens(prompt, options);
    QCOMPARE(result.tokens.size(), size_t(10));
    QCOMPARE(result.stopReason, std::string("length"));
    // Reference: recompute the whole sequence without a cache and take the argmax each time.
    std::vector<int32_t> sequence = prompt;
    for (int i = 0; i < 10; ++i) {
        const std::vector<float> logits = model.logits(sequence);
        const float* last = logits.data() + (sequence.size() - 1) * 97;
        sequence.push_back(int32_t(std::max_element(last, last + 97) - last));
    }
    QCOMPARE(result.tokens, std::vector<int32_t>(sequence.begin() + 3, sequence.end()));
}

void TestModel::samplingIsSeeded()
{
    const LanguageModel model = LanguageModel::random(tinyConfig(), 21);
    moin::GenerationOptions options;
    options.temperature = 1.5;
    options.topK = 50;
    options.topP = 0.9;
    options.stopAtEos = false;
    options.maxNewTokens = 24;
    options.seed = 123;
    const auto first = model.generateTokens({1, 5}, options).tokens;
    QCOMPARE(model.generateTokens({1, 5}, options).tokens, first);
    options.seed = 124;
    QVERIFY(model.generateTokens({1, 5}, options).tokens != first);
    // top-k 1 is greedy whatever the temperature.
    options.topK = 1;
    moin::GenerationOptions greedy = options;
    greedy.temperature = 0;
    QCOMPARE(model.generateTokens({1, 5}, options).tokens,
             model.generateTokens({1, 5}, greedy).tokens);
}

void TestModel::generationStops()
{
    const LanguageModel model = LanguageModel::random(tinyConfig(), 21);
    moin::GenerationOptions options;
    options.stopAtEos = false;
    options.maxNewTokens = 50;
    moin::CancelToken cancel;
    int calls = 0;
    auto result = model.generateTokens(
        {1, 2, 3}, options,
        [&](const std::string&, int32_t) {
            if (++calls == 3)
                cancel.cancel(); // as another thread would
            return true;
        },
        &cancel);
    QCOMPARE(result.stopReason, std::string("cancelled"));
    QCOMPARE(result.tokens.size(), size_t(3));

    result = model.generateTokens({1, 2, 3}, options,
                                  [](const std::string&, int32_t) { return false; });
    QCOMPARE(result.stopReason, std::string("callback"));
    QCOMPARE(result.tokens.size(), size_t(1));

    options.maxNewTokens = 500; // more than the context (128) holds
    result = model.generateTokens({1, 2, 3}, options);
    QCOMPARE(result.stopReason, std::string("length"));
    QCOMPARE(result.tokens.size(), size_t(128 - 3 + 1));

    options.temperature = -1;
    QVERIFY(errorOf([&] { model.generateTokens({1}, options); }).contains("temperature"));
    options.temperature = 1;
    options.topP = 0;
    QVERIFY(errorOf([&] { model.generateTokens({1}, options); }).contains("top-p"));
    options.topP = 1;
    QVERIFY(errorOf([&] { model.generateTokens({}, options); }).contains("empty"));
    QVERIFY(errorOf([&] { model.generateTokens({1, 500}, options); }).contains("vocabulary"));
}

void TestModel::perplexityMatchesLogits()
{
    const LanguageModel model = LanguageModel::random(tinyConfig(), 5);
    // Reference: mean of -log softmax(logits[t])[token t+1], from the logits in plain C++.
    const std::vector<float> logits = model.logits(kTokens);
    double nll = 0;
    for (size_t t = 0; t + 1 < kTokens.size(); ++t) {
        const float* row = logits.data() + t * 97;
        double maxLogit = *std::max_element(row, row + 97);
        double sum = 0;
        for (int v = 0; v < 97; ++v)
            sum += std::exp(double(row[v]) - maxLogit);
        nll -= double(row[kTokens[t + 1]]) - maxLogit - std::log(sum);
    }
    nll /= double(kTokens.size() - 1);
    const moin::PerplexityResult result = model.perplexityOfTokens(kTokens);
    QCOMPARE(result.tokens, int64_t(kTokens.size() - 1));
    QVERIFY(std::abs(result.meanNll - nll) < 1e-5);
    QVERIFY(std::abs(result.perplexity - std::exp(nll)) < 1e-3);

    // Longer than the context: windows overlap by one token, every token scored exactly once.
    std::vector<int32_t> longText(300);
    for (size_t i = 0; i < longText.size(); ++i)
        longText[i] = int32_t((i * 37 + 11) % 97);
    QCOMPARE(model.perplexityOfTokens(longText).tokens, int64_t(299));
    QVERIFY(errorOf([&] { model.perplexityOfTokens({1}); }).contains("at least two tokens"));
}

QTEST_GUILESS_MAIN(TestModel)
#include "tst_model.moc"
