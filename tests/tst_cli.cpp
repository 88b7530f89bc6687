// The `moin` command line: help on every command, exit codes, and messages for user mistakes.
#include "testsupport.h"

#include "moin/model.h"

#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMap>
#include <QProcess>
#include <QProcessEnvironment>
#include <QTemporaryDir>
#include <QTest>

namespace {

struct Run {
    int exitCode = -1;
    QString out;
    QString err;
};

Run runMoin(const QStringList& arguments,
            const QProcessEnvironment& environment = QProcessEnvironment::systemEnvironment())
{
    QProcess process;
    process.setProcessEnvironment(environment);
    process.start(MOIN_CLI_PATH, arguments);
    if (!process.waitForFinished(120000))
        return {};
    return {process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -2,
            QString::fromUtf8(process.readAllStandardOutput()),
            QString::fromUtf8(process.readAllStandardError())};
}

// A user mistake: one "moin: error:" line of explanation, exit code 1, no crash output.
void verifyUserError(const Run& run, const QString& expected)
{
    QCOMPARE(run.exitCode, 1);
    QVERIFY2(run.err.startsWith("moin: error: "), qPrintable(run.err));
    QVERIFY2(run.err.contains(expected), qPrintable(run.err));
    QVERIFY2(!run.err.contains("terminate called"), qPrintable(run.err));
    QVERIFY(run.out.isEmpty());
}

// The environment of a child `moin` without OPENBLAS_CORETYPE and the re-exec marker, plus
// `extra`; this process's own environment is left alone.
QProcessEnvironment blasEnvironment(const QMap<QString, QString>& extra = {})
{
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.remove("OPENBLAS_CORETYPE");
    environment.remove("MOIN_OPENBLAS_CORETYPE_CHOSEN");
    environment.remove("MOIN_TEST_OPENBLAS_CORE");
    for (auto it = extra.begin(); it != extra.end(); ++it)
        environment.insert(it.key(), it.value());
    return environment;
}

QJsonObject openblasOf(const Run& run)
{
    return QJsonDocument::fromJson(run.out.toUtf8()).object()["openblas"].toObject();
}

bool cpuHasAvx2Fma()
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

// OpenBLAS's kernels without AVX: what it falls back to on CPUs it does not know.
bool isPreAvxCore(const QString& core)
{
    static const QStringList slow = {"unknown", "generic", "katmai",  "coppermine", "northwood",
                                     "prescott", "banias", "atom",    "core2",      "penryn",
                                     "dunnington", "nehalem", "athlon", "opteron",
                                     "opteron_sse3", "barcelona", "nano", "bobcat"};
    return slow.contains(core.toLower());
}

} // namespace

class TestCli : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void helpListsCommands();
    void everyCommandHasHelp_data();
    void everyCommandHasHelp();
    void usageErrors_data();
    void usageErrors();
    void initInfoAndRefusals();
    void tokenizerCommands();
    void version();
    void blasKernelsChosenForTheCpu();
    void blasKernelsOfTheUserKept();
    void initWithBase();
    void generateAndPerplexity();

private:
    QTemporaryDir m_tmp;
    QString m_base;
};

void TestCli::initTestCase()
{
    m_base = m_tmp.filePath("tiny-base");
    testsupport::makeTinyBaseModel(m_base);
}

void TestCli::initWithBase()
{
    const QString dir = m_tmp.filePath("with-base");
    Run run = runMoin({"init", dir, "--base", m_base});
    QCOMPARE(run.exitCode, 0);
    run = runMoin({"info", dir, "--json"});
    const QJsonObject info = QJsonDocument::fromJson(run.out.toUtf8()).object();
    QCOMPARE(info["base_model"].toString(), QFileInfo(m_base).canonicalFilePath());
    verifyUserError(runMoin({"init", m_tmp.filePath("bad"), "--base", m_tmp.filePath("nowhere")}),
                    "does not exist");
    QVERIFY(!QDir(m_tmp.filePath("bad")).exists());
}

void TestCli::generateAndPerplexity()
{
    Run run = runMoin({"generate", "--model", m_base, "--max-tokens", "6", "--temperature", "0",
                    "--threads", "1", "In the beginning"});
    QCOMPARE(run.exitCode, 0);
    QVERIFY2(run.out.startsWith("In the beginning"), qPrintable(run.out));
    QVERIFY2(run.err.contains("tokens/s"), qPrintable(run.err));

    QFile text(m_tmp.filePath("text.txt"));
    QVERIFY(text.open(QIODevice::WriteOnly));
    text.write("A compiler translates source code into machine instructions.");
    text.close();
    run = runMoin({"perplexity", "--model", m_base, text.fileName(), "--json"});
    QCOMPARE(run.exitCode, 0);
    const QJsonObject result = QJsonDocument::fromJson(run.out.toUtf8()).object();
    // The same figure as the library computes in this process.
    const auto model = moin::LanguageModel::load(m_base.toStdString());
    const auto expected =
        model.perplexity("A compiler translates source code into machine instructions.");
    QCOMPARE(result["tokens"].toInt(), int(expected.tokens));
    QVERIFY(std::abs(result["perplexity"].toDouble() - expected.perplexity)
            < 1e-6 * expected.perplexity);

    verifyUserError(runMoin({"generate", "--model", m_base, "--adapter", m_tmp.filePath("none"), "x"}),
                    "adapter folder");
    verifyUserError(runMoin({"generate", "--model", m_tmp.path(), "x"}), "has no config.json");
    verifyUserError(runMoin({"generate", "--model", m_base, "--temperature", "-2", "x"}),
                    "temperature");
}

void TestCli::helpListsCommands()
{
    const Run run = runMoin({"--help"});
    QCOMPARE(run.exitCode, 0);
    for (const char* command : {"init", "info", "tokenizer", "generate", "perplexity", "pretrain",
                                "version"})
        QVERIFY2(run.out.contains(command), qPrintable(run.out));
}

void TestCli::everyCommandHasHelp_data()
{
    QTest::addColumn<QStringList>("command");
    QTest::newRow("init") << QStringList{"init"};
    QTest::newRow("info") << QStringList{"info"};
    QTest::newRow("tokenizer") << QStringList{"tokenizer"};
    QTest::newRow("tokenizer train") << QStringList{"tokenizer", "train"};
    QTest::newRow("tokenizer encode") << QStringList{"tokenizer", "encode"};
    QTest::newRow("tokenizer decode") << QStringList{"tokenizer", "decode"};
    QTest::newRow("version") << QStringList{"version"};
    QTest::newRow("generate") << QStringList{"generate"};
    QTest::newRow("perplexity") << QStringList{"perplexity"};
    QTest::newRow("pretrain") << QStringList{"pretrain"};
}

void TestCli::everyCommandHasHelp()
{
    QFETCH(QStringList, command);
    const Run run = runMoin(command + QStringList{"--help"});
    QCOMPARE(run.exitCode, 0);
    QVERIFY2(run.out.contains("Usage"), qPrintable(run.out));
    QVERIFY2(run.out.contains(command.last()), qPrintable(run.out));
}

void TestCli::usageErrors_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::newRow("no command") << QStringList{};
    QTest::newRow("unknown command") << QStringList{"frobnicate"};
    QTest::newRow("missing argument") << QStringList{"init"};
    QTest::newRow("unknown option") << QStringList{"info", "/tmp", "--no-such-option"};
    QTest::newRow("bad choice") << QStringList{"tokenizer", "train", "--input", MOIN_CLI_PATH,
                                               "--output", "/tmp/x", "--type", "word"};
}

void TestCli::usageErrors()
{
    QFETCH(QStringList, arguments);
    const Run run = runMoin(arguments);
    QCOMPARE(run.exitCode, 2);
    QVERIFY(!run.err.isEmpty());
    QVERIFY2(!run.err.contains("terminate called"), qPrintable(run.err));
}

void TestCli::initInfoAndRefusals()
{
    QTemporaryDir tmp;
    const QString dir = tmp.filePath("ws");
    Run run = runMoin({"init", dir, "--name", "Demo set"});
    QCOMPARE(run.exitCode, 0);
    QVERIFY2(run.out.contains("Created workspace 'Demo set'"), qPrintable(run.out));

    verifyUserError(runMoin({"init", dir}), "already a MoIN Studio workspace");
    verifyUserError(runMoin({"info", tmp.filePath("nowhere")}), "does not exist");
    verifyUserError(runMoin({"info", tmp.path()}), "not a MoIN Studio workspace");

    run = runMoin({"info", dir, "--json"});
    QCOMPARE(run.exitCode, 0);
    QJsonParseError error;
    const QJsonObject info = QJsonDocument::fromJson(run.out.toUtf8(), &error).object();
    QCOMPARE(error.error, QJsonParseError::NoError);
    QCOMPARE(info["name"].toString(), QString("Demo set"));
    QCOMPARE(QDir(info["directory"].toString()), QDir(dir));
    QVERIFY(info["schema_version"].toInt() >= 1);
    QVERIFY(info["activity"].toArray().first().toObject()["message"].toString().contains("created"));

    run = runMoin({"info", dir});
    QCOMPARE(run.exitCode, 0);
    QVERIFY(run.out.contains("Schema version:"));
}

void TestCli::tokenizerCommands()
{
    QTemporaryDir tmp;
    QFile text(tmp.filePath("text.txt"));
    QVERIFY(text.open(QIODevice::WriteOnly));
    for (int i = 0; i < 50; ++i)
        text.write("experts route every query to the nearest group of the corpus\n"
                   "größere Modelle lernen schneller, sagt man\n");
    text.close();
    const QString prefix = tmp.filePath("tok");
    Run run = runMoin({"tokenizer", "train", "--input", text.fileName(), "--output", prefix,
                    "--vocab-size", "400"});
    QCOMPARE(run.exitCode, 0);
    QVERIFY2(run.out.contains("400 pieces"), qPrintable(run.out + run.err));

    run = runMoin({"tokenizer", "encode", "--model", prefix + ".model", "größere experts"});
    QCOMPARE(run.exitCode, 0);
    const QStringList ids = run.out.trimmed().split(' ');
    QVERIFY(ids.size() >= 2);
    run = runMoin(QStringList{"tokenizer", "decode", "--model", prefix + ".model"} + ids);
    QCOMPARE(run.exitCode, 0);
    QCOMPARE(run.out, QString("größere experts\n"));

    verifyUserError(runMoin({"tokenizer", "decode", "--model", prefix + ".model", "99999"}),
                    "outside the vocabulary");
    verifyUserError(runMoin({"tokenizer", "encode", "--model", tmp.filePath("none.model"), "x"}),
                    "does not exist");
}

void TestCli::version()
{
    const Run run = runMoin({"version", "--json"});
    QCOMPARE(run.exitCode, 0);
    const QJsonObject info = QJsonDocument::fromJson(run.out.toUtf8()).object();
    QVERIFY(info["libtorch"].toString().startsWith("1.") || info["libtorch"].toString().startsWith("2."));
    QVERIFY(info["devices"].toArray().contains(QJsonValue("cpu")));
}

void TestCli::blasKernelsChosenForTheCpu()
{
    const Run run = runMoin({"version", "--json"}, blasEnvironment());
    QCOMPARE(run.exitCode, 0);
    const QJsonObject blas = openblasOf(run);
    const QString core = blas["core"].toString();
    QVERIFY2(!core.isEmpty(), qPrintable(run.out)); // Debian's OpenBLAS is the BLAS here
    QVERIFY(blas["config"].toString().contains("OpenBLAS"));
    QCOMPARE(blas["cpu_avx2_fma"].toBool(), cpuHasAvx2Fma());
    if (cpuHasAvx2Fma()) {
        // Either OpenBLAS knew the CPU, or moin started again with Haswell's kernels.
        QVERIFY2(!isPreAvxCore(core), qPrintable(core));
        if (!blas["openblas_coretype"].isNull()) {
            QCOMPARE(blas["openblas_coretype"].toString(), QString("Haswell"));
            QCOMPARE(blas["coretype_chosen_by"].toString(), QString("moin"));
            QCOMPARE(core, QString("Haswell"));
        }
    } else {
        QVERIFY(blas["openblas_coretype"].isNull()); // nothing to gain: the variable stays unset
    }
    // Where OpenBLAS knows the CPU, the re-exec is run by taking its report to be Prescott's:
    // `moin` starts again (same arguments) with Haswell's kernels, once.
    const Run assumed = runMoin({"version", "--json"},
                                blasEnvironment({{"MOIN_TEST_OPENBLAS_CORE", "Prescott"}}));
    QCOMPARE(assumed.exitCode, 0);
    const QJsonObject reexecuted = openblasOf(assumed);
    if (cpuHasAvx2Fma()) {
        QCOMPARE(reexecuted["openblas_coretype"].toString(), QString("Haswell"));
        QCOMPARE(reexecuted["coretype_chosen_by"].toString(), QString("moin"));
        QCOMPARE(reexecuted["core"].toString(), QString("Haswell"));
        const Run text = runMoin({"version"},
                                 blasEnvironment({{"MOIN_TEST_OPENBLAS_CORE", "Prescott"}}));
        QVERIFY2(text.out.contains("BLAS        Haswell (OPENBLAS_CORETYPE=Haswell, chosen by "
                                   "moin for this CPU)"),
                 qPrintable(text.out));
    } else {
        QVERIFY(reexecuted["openblas_coretype"].isNull());
    }
    // The marker of a re-exec stops a second one, whatever the core.
    const Run marked = runMoin({"version", "--json"},
                               blasEnvironment({{"MOIN_OPENBLAS_CORETYPE_CHOSEN", "Haswell"},
                                                {"MOIN_TEST_OPENBLAS_CORE", "Prescott"}}));
    QCOMPARE(marked.exitCode, 0);
    QVERIFY(openblasOf(marked)["openblas_coretype"].isNull());
    QVERIFY(openblasOf(marked)["coretype_chosen_by"].isNull());
}

void TestCli::blasKernelsOfTheUserKept()
{
    // Prescott is exactly what moin would replace if it ignored the user's choice; every x86-64
    // CPU runs it.
    const Run run = runMoin({"version", "--json"},
                            blasEnvironment({{"OPENBLAS_CORETYPE", "Prescott"}}));
    QCOMPARE(run.exitCode, 0);
    const QJsonObject blas = openblasOf(run);
    QCOMPARE(blas["openblas_coretype"].toString(), QString("Prescott"));
    QCOMPARE(blas["coretype_chosen_by"].toString(), QString("user"));
    QCOMPARE(blas["core"].toString(), QString("Prescott"));
    const Run text = runMoin({"version"}, blasEnvironment({{"OPENBLAS_CORETYPE", "Prescott"}}));
    QVERIFY2(text.out.contains("BLAS        Prescott (OPENBLAS_CORETYPE=Prescott, set by you)"),
             qPrintable(text.out));
}

QTEST_GUILESS_MAIN(TestCli)
#include "tst_cli.moc"
