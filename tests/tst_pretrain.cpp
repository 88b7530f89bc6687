// Pretraining: a tiny model on a tiny corpus trains, saves a loadable Hugging Face folder,
// resumes from a checkpoint to exactly where an uninterrupted run gets, and refuses bad input.
#include "testsupport.h"

#include "moin/error.h"
#include "moin/model.h"
#include "moin/pretrain.h"

#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

using testsupport::errorOf;

namespace {

moin::PretrainOptions tinyOptions(const QString& corpus, const QString& output)
{
    moin::PretrainOptions o;
    o.corpusFiles = {corpus.toStdString()};
    o.outputDir = output.toStdString();
    o.vocabSize = 300;
    o.model.hiddenSize = 32;
    o.model.intermediateSize = 64;
    o.model.numLayers = 2;
    o.model.numHeads = 4;
    o.model.numKvHeads = 2;
    o.model.maxPositions = 64;
    o.model.tieWordEmbeddings = true;
    o.sequenceLength = 32;
    o.batchSize = 4;
    o.steps = 8;
    o.warmupSteps = 2;
    o.learningRate = 1e-2;
    o.minLearningRate = 1e-3;
    o.evalEvery = 4;
    o.checkpointEvery = 2;
    o.heldOutFraction = 0.1;
    o.saveDtype = "float32";
    o.device = "cpu";
    return o;
}

} // namespace

class TestPretrain : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void trainsAndSaves();
    void resumeContinuesTheSameRun();
    void badInput_data();
    void badInput();

private:
    QTemporaryDir m_tmp;
    QString m_corpus;
};

void TestPretrain::initTestCase()
{
    m_corpus = m_tmp.filePath("corpus.jsonl");
    QFile file(m_corpus);
    QVERIFY(file.open(QIODevice::WriteOnly));
    const char* const topics[] = {
        "the compiler parses the source and emits machine code for the target",
        "and the lord spake unto moses saying speak unto the children of israel",
        "elizabeth walked through the fields to netherfield to see her sister jane",
    };
    for (int i = 0; i < 60; ++i) {
        const QString text = QString("%1, part %2. %1.").arg(topics[i % 3]).arg(i);
        file.write(QJsonDocument(QJsonObject{{"text", text}}).toJson(QJsonDocument::Compact)
                   + "\n");
    }
}

void TestPretrain::trainsAndSaves()
{
    const QString out = m_tmp.filePath("straight");
    std::vector<double> losses;
    std::vector<std::string> phases;
    const moin::PretrainResult result = moin::pretrain(
        tinyOptions(m_corpus, out), [&](const moin::PretrainProgress& p) {
            if (p.phase == "training")
                losses.push_back(p.loss);
            if (phases.empty() || phases.back() != p.phase)
                phases.push_back(p.phase);
        });
    QVERIFY(!result.cancelled);
    QCOMPARE(result.steps, int64_t(8));
    QCOMPARE(losses.size(), size_t(8));
    QCOMPARE(phases, (std::vector<std::string>{"tokenizer", "tokenizing", "training", "saving"}));
    // Memorising three sentences: the loss falls well below its starting value (ln 300 = 5.7).
    QVERIFY2(losses.back() < losses.front() - 1.0,
             qPrintable(QString("first %1, last %2").arg(losses.front()).arg(losses.back())));
    QVERIFY(std::isfinite(result.heldOutLoss));
    QVERIFY(!QDir(out + "/checkpoint").exists());

    const moin::LanguageModel model = moin::LanguageModel::load(out.toStdString());
    QVERIFY(model.hasTokenizer());
    QCOMPARE(model.config().vocabSize, int64_t(model.tokenizer().vocabSize()));
    const double perplexity = model.perplexity("the compiler parses the source").perplexity;
    QVERIFY2(perplexity < 300, qPrintable(QString::number(perplexity)));
    QFile log(out + "/training_log.json");
    QVERIFY(log.open(QIODevice::ReadOnly));
    QCOMPARE(QJsonDocument::fromJson(log.readAll()).object()["steps"].toInt(), 8);
}

void TestPretrain::resumeContinuesTheSameRun()
{
    const QString straight = m_tmp.filePath("resume-straight");
    const moin::PretrainResult reference = moin::pretrain(tinyOptions(m_corpus, straight));

    // The same run, interrupted after step 5 (a checkpoint exists at step 4), then resumed.
    const QString interrupted = m_tmp.filePath("resume-interrupted");
    moin::CancelToken cancel;
    const moin::PretrainResult first = moin::pretrain(
        tinyOptions(m_corpus, interrupted),
        [&](const moin::PretrainProgress& p) {
            if (p.step == 5)
                cancel.cancel();
        },
        &cancel);
    QVERIFY(first.cancelled);
    QCOMPARE(first.steps, int64_t(5));
    QVERIFY(QFile::exists(interrupted + "/checkpoint/state.json"));
    int64_t resumedAt = -1;
    const moin::PretrainResult second =
        moin::pretrain(tinyOptions(m_corpus, interrupted), [&](const moin::PretrainProgress& p) {
            if (p.phase == "training" && resumedAt < 0)
                resumedAt = p.step;
        });
    QCOMPARE(resumedAt, int64_t(6)); // continued after the step-5 checkpoint
    QCOMPARE(second.steps, int64_t(8));
    QCOMPARE(second.finalLoss, reference.finalLoss);

    const auto a = moin::LanguageModel::load(straight.toStdString());
    const auto b = moin::LanguageModel::load(interrupted.toStdString());
    QVERIFY(a.logits({1, 5, 9, 12}) == b.logits({1, 5, 9, 12}));
}

void TestPretrain::badInput_data()
{
    QTest::addColumn<QString>("content");
    QTest::addColumn<QString>("expected");
    QTest::newRow("malformed line") << "{\"text\": \"fine\"}\n{oops\n" << "corpus.jsonl:2";
    QTest::newRow("no text field") << "{\"body\": \"x\"}\n" << "no string field \"text\"";
    QTest::newRow("too little text") << "{\"text\": \"a few words only\"}\n" << "training tokens";
}

void TestPretrain::badInput()
{
    QFETCH(QString, content);
    QFETCH(QString, expected);
    QTemporaryDir tmp;
    QFile corpus(tmp.filePath("corpus.jsonl"));
    QVERIFY(corpus.open(QIODevice::WriteOnly));
    corpus.write(content.toUtf8());
    corpus.close();
    auto options = tinyOptions(corpus.fileName(), tmp.filePath("out"));
    if (expected == "training tokens") {
        // Reuse a trained tokenizer: the tiny text could not train one of 300 pieces.
        QDir().mkpath(tmp.filePath("out"));
        QVERIFY(QFile::copy(m_tmp.filePath("straight/tokenizer.model"),
                            tmp.filePath("out/tokenizer.model")));
    }
    const QString message = errorOf([&] { moin::pretrain(options); });
    QVERIFY2(message.contains(expected), qPrintable(message));

    options.steps = 0;
    QVERIFY(errorOf([&] { moin::pretrain(options); }).contains("steps must be positive"));
}

QTEST_GUILESS_MAIN(TestPretrain)
#include "tst_pretrain.moc"
