// Tokenizer: sentencepiece training, encode/decode round trips (non-ASCII included), errors, and
// LibTorch working in the same process before and after sentencepiece is loaded.
#include "moin/error.h"
#include "moin/tokenizer.h"

#include <torch/torch.h>

#include <QFile>
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

namespace {

// Fixed data, so the reference (a plain loop) and LibTorch see the same numbers.
torch::Tensor referenceMatmulCheck()
{
    torch::manual_seed(7);
    const torch::Tensor a = torch::randn({48, 32});
    const torch::Tensor b = torch::randn({32, 24});
    const torch::Tensor product = torch::matmul(a, b);
    auto pa = a.accessor<float, 2>();
    auto pb = b.accessor<float, 2>();
    auto pp = product.accessor<float, 2>();
    double worst = 0;
    for (int i = 0; i < 48; ++i) {
        for (int j = 0; j < 24; ++j) {
            double sum = 0;
            for (int k = 0; k < 32; ++k)
                sum += double(pa[i][k]) * pb[k][j];
            worst = std::max(worst, std::abs(sum - pp[i][j]));
        }
    }
    if (worst > 1e-4)
        throw std::runtime_error("LibTorch matmul disagrees with the loop: " + std::to_string(worst));
    return product;
}

const char* const kCorpus[] = {
    "The quick brown fox jumps over the lazy dog while the experts route each query.",
    "A mixture of introvert experts trains one adapter per semantic group of the corpus.",
    "Über die Brücke gehen Fußgänger; schöne Grüße aus Köln und Düsseldorf.",
    "Les élèves étudient la théorie des ensembles à l'université de Paris.",
    "東京は日本の首都です。機械学習のモデルを訓練します。",
    "Москва — столица России. Модель обучается на корпусе текстов.",
    "In the beginning God created the heaven and the earth, 1611 edition, verse 1:1.",
    "Numbers like 3.14159, 2718 and 1,000,000 are split into single digits.",
};

} // namespace

class TestTokenizer : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void specialIds();
    void roundTrip_data();
    void roundTrip();
    void digitsAreSplit();
    void unknownCharactersFallBackToBytes();
    void matchesPythonReference();
    void errors();
    void trainingRefusesBadInput();
    void torchStillWorksAfterTokenizer();

private:
    QTemporaryDir m_tmp;
    std::optional<moin::Tokenizer> m_tokenizer;
    torch::Tensor m_productBefore;
};

void TestTokenizer::initTestCase()
{
    // LibTorch first, before sentencepiece is anywhere in the process.
    m_productBefore = referenceMatmulCheck();

    QFile corpus(m_tmp.filePath("corpus.txt"));
    QVERIFY(corpus.open(QIODevice::WriteOnly));
    for (int repeat = 0; repeat < 40; ++repeat) {
        for (const char* line : kCorpus)
            corpus.write(QByteArray(line) + "\n");
    }
    corpus.close();

    moin::TokenizerTrainOptions options;
    options.inputFiles = {corpus.fileName().toStdString()};
    options.modelPrefix = m_tmp.filePath("tok").toStdString();
    options.vocabSize = 400;
    const std::string model = moin::Tokenizer::train(options);
    QVERIFY(QFile::exists(QString::fromStdString(model)));
    m_tokenizer = moin::Tokenizer::load(model);
    QVERIFY(!moin::Tokenizer::backendPath().empty());
}

void TestTokenizer::specialIds()
{
    // Llama's layout: <unk>=0, <s>=1, </s>=2, no padding piece.
    QCOMPARE(m_tokenizer->unkId(), 0);
    QCOMPARE(m_tokenizer->bosId(), 1);
    QCOMPARE(m_tokenizer->eosId(), 2);
    QCOMPARE(m_tokenizer->padId(), -1);
    QCOMPARE(m_tokenizer->idToPiece(1), std::string("<s>"));
    QCOMPARE(m_tokenizer->pieceToId("</s>"), 2);
    QCOMPARE(m_tokenizer->vocabSize(), 400);
}

void TestTokenizer::roundTrip_data()
{
    QTest::addColumn<QString>("text");
    QTest::newRow("ascii") << "The quick brown fox jumps over the lazy dog.";
    QTest::newRow("german") << "Schöne Grüße: Fußgänger über die Brücke.";
    QTest::newRow("japanese") << "東京は日本の首都です。";
    QTest::newRow("cyrillic") << "Москва — столица России.";
    QTest::newRow("emoji (not in the training text)") << "experts 🤖🧠 route ✓";
    QTest::newRow("double spaces and tabs") << "two  spaces\tand a tab";
    QTest::newRow("newlines") << "line one\nline two";
    QTest::newRow("digits") << "In 1611, verse 3:16 cost 2,000 shillings.";
    QTest::newRow("empty") << "";
}

void TestTokenizer::roundTrip()
{
    QFETCH(QString, text);
    const std::string utf8 = text.toStdString();
    const std::vector<int32_t> ids = m_tokenizer->encode(utf8);
    QCOMPARE(ids.empty(), utf8.empty());
    for (int32_t id : ids)
        QVERIFY(id >= 0 && id < m_tokenizer->vocabSize());
    QCOMPARE(QString::fromStdString(m_tokenizer->decode(ids)), text);
}

void TestTokenizer::digitsAreSplit()
{
    const auto ids = m_tokenizer->encode("2718");
    std::string pieces;
    for (int32_t id : ids)
        pieces += m_tokenizer->idToPiece(id) + "|";
    // Each digit is its own piece (the dummy prefix "▁" may stand alone or not).
    QVERIFY2(QString::fromStdString(pieces).endsWith("2|7|1|8|"), pieces.c_str());
}

void TestTokenizer::unknownCharactersFallBackToBytes()
{
    const auto ids = m_tokenizer->encode("🦀");
    QCOMPARE(ids.size() >= 4, true); // four UTF-8 bytes, each a <0xNN> piece
    QVERIFY(std::find(ids.begin(), ids.end(), m_tokenizer->unkId()) == ids.end());
    QCOMPARE(m_tokenizer->idToPiece(ids.back()), std::string("<0x80>"));
}

void TestTokenizer::matchesPythonReference()
{
    // python3-sentencepiece is an independent binding of the reference implementation.
    // Debian's interpreter, where python3-sentencepiece installs (not a pyenv one on PATH).
    const QString python = QStandardPaths::findExecutable("python3", {"/usr/bin"});
    // A declared dependency (packaging/install-deps.sh): missing, the test fails, not skips.
    QVERIFY2(!python.isEmpty(), "python3 is not installed: run packaging/install-deps.sh");
    QProcess probe;
    probe.start(python, {"-c", "import sentencepiece"});
    probe.waitForFinished();
    QVERIFY2(probe.exitCode() == 0,
             "python3-sentencepiece is not installed: run packaging/install-deps.sh");
    const QString text = QStringLiteral("Über 東京 and the lazy fox, 1611 — 🦀");
    QProcess process;
    process.start(python,
                  {"-c",
                   "import sys, sentencepiece as s\n"
                   "p = s.SentencePieceProcessor(model_file=sys.argv[1])\n"
                   "print(' '.join(map(str, p.encode(sys.argv[2]))))",
                   QString::fromStdString(m_tokenizer->modelPath()), text});
    QVERIFY(process.waitForFinished(60000));
    QCOMPARE(process.exitCode(), 0);
    QStringList expected = QString::fromUtf8(process.readAllStandardOutput()).trimmed().split(' ');
    QStringList actual;
    for (int32_t id : m_tokenizer->encode(text.toStdString()))
        actual << QString::number(id);
    QCOMPARE(actual, expected);
}

void TestTokenizer::errors()
{
    QVERIFY_THROWS_EXCEPTION(moin::Error, moin::Tokenizer::load(m_tmp.filePath("none.model")
                                                                     .toStdString()));
    QFile garbage(m_tmp.filePath("garbage.model"));
    QVERIFY(garbage.open(QIODevice::WriteOnly));
    garbage.write("this is not a sentencepiece model");
    garbage.close();
    try {
        moin::Tokenizer::load(garbage.fileName().toStdString());
        QFAIL("loading garbage must fail");
    } catch (const moin::Error& e) {
        QVERIFY2(QString(e.what()).contains("cannot read tokenizer model"), e.what());
    }
    try {
        m_tokenizer->decode({5, 100000});
        QFAIL("decoding an id outside the vocabulary must fail");
    } catch (const moin::Error& e) {
        QVERIFY2(QString(e.what()).contains("100000"), e.what());
    }
    QVERIFY_THROWS_EXCEPTION(moin::Error, m_tokenizer->idToPiece(-1));
}

void TestTokenizer::trainingRefusesBadInput()
{
    moin::TokenizerTrainOptions options;
    options.modelPrefix = m_tmp.filePath("bad").toStdString();
    QVERIFY_THROWS_EXCEPTION(moin::Error, moin::Tokenizer::train(options)); // no input
    options.inputFiles = {m_tmp.filePath("missing.txt").toStdString()};
    QVERIFY_THROWS_EXCEPTION(moin::Error, moin::Tokenizer::train(options));
    QFile empty(m_tmp.filePath("empty.txt"));
    QVERIFY(empty.open(QIODevice::WriteOnly));
    empty.close();
    options.inputFiles = {empty.fileName().toStdString()};
    QVERIFY_THROWS_EXCEPTION(moin::Error, moin::Tokenizer::train(options));
    options.inputFiles = {m_tmp.filePath("corpus.txt").toStdString()};
    options.vocabSize = 2;
    QVERIFY_THROWS_EXCEPTION(moin::Error, moin::Tokenizer::train(options));
}

void TestTokenizer::torchStillWorksAfterTokenizer()
{
    // Same seed, same inputs: LibTorch gives the same product after sentencepiece was loaded,
    // trained and used, and token ids flow into tensors.
    const torch::Tensor after = referenceMatmulCheck();
    QVERIFY(torch::equal(after, m_productBefore));
    const auto ids = m_tokenizer->encode("the lazy dog");
    const torch::Tensor tokens = torch::tensor(std::vector<int64_t>(ids.begin(), ids.end()));
    torch::manual_seed(1);
    torch::nn::Embedding embedding(m_tokenizer->vocabSize(), 8);
    const torch::Tensor vectors = embedding(tokens);
    QCOMPARE(vectors.size(0), int64_t(ids.size()));
    QVERIFY(torch::allclose(vectors[0], embedding->weight[ids[0]]));
}

QTEST_GUILESS_MAIN(TestTokenizer)
#include "tst_tokenizer.moc"
