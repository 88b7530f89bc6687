// Corpus import: formats, chunking, de-duplication, bad input (skipped or refused, with file and
// line), cancellation and a full database, all without losing what was imported before.
#include "testsupport.h"

#include "moin/corpus.h"
#include "moin/error.h"
#include "moin/tokenizer.h"
#include "moin/workspace.h"

#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

using moin::ImportOptions;
using moin::ImportReport;
using moin::Workspace;

namespace {

QString writeFile(const QString& path, const QByteArray& content)
{
    QDir().mkpath(QFileInfo(path).path());
    QFile file(path);
    file.open(QIODevice::WriteOnly);
    file.write(content);
    return path;
}

QByteArray jsonLine(const QString& text)
{
    return QJsonDocument(QJsonObject{{"text", text}}).toJson(QJsonDocument::Compact) + "\n";
}

QString words(int count, const QString& stem)
{
    QStringList out;
    for (int i = 0; i < count; ++i)
        out << QString("%1%2").arg(stem).arg(i);
    return out.join(' ');
}

bool hasProblem(const ImportReport& report, const QString& path, int64_t line,
                const QString& fragment)
{
    for (const auto& problem : report.problems) {
        if (QString::fromStdString(problem.path).endsWith(path) && problem.line == line
            && QString::fromStdString(problem.message).contains(fragment))
            return true;
    }
    return false;
}

} // namespace

class TestCorpus : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void init();
    void importsFormatsAndFolders();
    void chunksAreTokenWindows();
    void sameFileTwiceAddsNothing();
    void duplicateChunksAreDropped();
    void badInput_data();
    void badInput();
    void cancelKeepsFinishedFiles();
    void fullDatabaseLosesNothing();
    void searchFindsChunks();
    void badOptions();

private:
    QTemporaryDir m_tmp;
    QString m_base;
    std::unique_ptr<QTemporaryDir> m_dir;
    std::optional<Workspace> m_workspace;
    ImportOptions m_options;
};

void TestCorpus::initTestCase()
{
    m_base = m_tmp.filePath("base");
    testsupport::makeTinyBaseModel(m_base);
    m_options.chunkTokens = 32;
    m_options.minChunkTokens = 4;
}

void TestCorpus::init()
{
    m_workspace.reset();
    m_dir = std::make_unique<QTemporaryDir>();
    moin::WorkspaceOptions options;
    options.baseModel = m_base.toStdString();
    m_workspace = Workspace::create(m_dir->filePath("ws").toStdString(), options);
}

void TestCorpus::importsFormatsAndFolders()
{
    const QString folder = m_dir->filePath("corpus");
    writeFile(folder + "/a.jsonl", jsonLine(words(50, "alpha")) + jsonLine(words(20, "beta")));
    writeFile(folder + "/sub/b.txt", (words(40, "gamma") + "\n\n" + words(40, "delta")).toUtf8());
    writeFile(folder + "/sub/c.md", ("# Title\n\n" + words(30, "epsilon")).toUtf8());
    writeFile(folder + "/ignored.csv", "x,y\n");
    int progressCalls = 0;
    const ImportReport report = moin::importCorpus(
        *m_workspace, {folder.toStdString()}, m_options,
        [&](const moin::ImportProgress& p) {
            ++progressCalls;
            QVERIFY(p.filesDone <= p.filesTotal);
        });
    QCOMPARE(report.filesImported, int64_t(3)); // the .csv is not looked at in a folder
    QCOMPARE(report.filesRefused, int64_t(0));
    QCOMPARE(report.documentsAdded, int64_t(4)); // two lines, and one per text file
    QVERIFY(report.chunksAdded >= 6);
    QVERIFY(progressCalls >= 3);
    const moin::CorpusStats stats = moin::corpusStats(*m_workspace);
    QCOMPARE(stats.sources, int64_t(3));
    QCOMPARE(stats.chunks, report.chunksAdded);
    QCOMPARE(stats.tokens, report.tokensAdded);
    const auto sources = moin::listSources(*m_workspace);
    QCOMPARE(QString::fromStdString(sources[0].format), QString("jsonl"));
    QCOMPARE(QString::fromStdString(sources[2].format), QString("markdown"));
}

void TestCorpus::chunksAreTokenWindows()
{
    const QString text = words(200, "w");
    const QString file = writeFile(m_dir->filePath("long.jsonl"), jsonLine(text));
    ImportOptions options = m_options;
    options.overlapTokens = 8;
    moin::importCorpus(*m_workspace, {file.toStdString()}, options);
    const auto chunks = moin::findChunks(*m_workspace, "", 1000);
    QVERIFY(chunks.size() >= 3);
    const moin::Tokenizer tokenizer = moin::Tokenizer::load(m_workspace->tokenizerPath());
    for (size_t i = 0; i < chunks.size(); ++i) {
        QCOMPARE(chunks[i].position, int64_t(i));
        QVERIFY(chunks[i].tokens <= 32);
        if (i + 1 < chunks.size())
            QCOMPARE(chunks[i].tokens, int64_t(32));
        // Every chunk is a piece of the document's text.
        QVERIFY2(text.contains(QString::fromStdString(chunks[i].text)),
                 chunks[i].text.c_str());
    }
    // Consecutive chunks overlap: the next one starts with the previous one's last tokens.
    const QStringList first = QString::fromStdString(chunks[0].text).split(' ');
    const QString tail = first.mid(first.size() - 2).join(' ');
    QVERIFY2(QString::fromStdString(chunks[1].text).left(30).contains(tail),
             qPrintable(tail + " | " + QString::fromStdString(chunks[1].text)));
}

void TestCorpus::sameFileTwiceAddsNothing()
{
    const QString file = writeFile(m_dir->filePath("a.jsonl"), jsonLine(words(80, "alpha")));
    const ImportReport first = moin::importCorpus(*m_workspace, {file.toStdString()}, m_options);
    QVERIFY(first.chunksAdded > 0);
    const ImportReport again = moin::importCorpus(*m_workspace, {file.toStdString()}, m_options);
    QCOMPARE(again.filesAlreadyImported, int64_t(1));
    QCOMPARE(again.chunksAdded, int64_t(0));
    // The same content under another name is the same file.
    QFile::copy(file, m_dir->filePath("copy.jsonl"));
    const ImportReport copy = moin::importCorpus(
        *m_workspace, {m_dir->filePath("copy.jsonl").toStdString()}, m_options);
    QCOMPARE(copy.filesAlreadyImported, int64_t(1));
    QCOMPARE(moin::corpusStats(*m_workspace).chunks, first.chunksAdded);
}

void TestCorpus::duplicateChunksAreDropped()
{
    const QByteArray line = jsonLine(words(20, "same"));
    const QString file = writeFile(m_dir->filePath("dups.jsonl"), line + line + line);
    const ImportReport report = moin::importCorpus(*m_workspace, {file.toStdString()}, m_options);
    // Each line gives the same chunks: the second and third copies add none.
    QVERIFY(report.chunksAdded >= 1);
    QCOMPARE(report.chunksDuplicate, 2 * report.chunksAdded);
    QCOMPARE(moin::corpusStats(*m_workspace).chunks, report.chunksAdded);
}

void TestCorpus::badInput_data()
{
    QTest::addColumn<QString>("name");
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<int>("line");
    QTest::addColumn<QString>("message");
    QTest::addColumn<bool>("refused");
    const QByteArray good = jsonLine(words(30, "ok"));
    QTest::newRow("malformed JSON line") << "a.jsonl" << good + "{not json\n" + good << 2
                                         << "malformed JSON" << false;
    QTest::newRow("invalid UTF-8 in a line") << "a.jsonl" << good + "{\"text\": \"caf\xe9\"}\n"
                                             << 2 << "invalid UTF-8" << false;
    QTest::newRow("no text field") << "a.jsonl" << good + "{\"body\": \"x\"}\n" << 2
                                   << "no \"text\" field" << false;
    QTest::newRow("text not a string") << "a.jsonl" << good + "{\"text\": 42}\n" << 2
                                       << "not a string" << false;
    QTest::newRow("empty text") << "a.jsonl" << good + "{\"text\": \"  \"}\n" << 2
                                << "empty text" << false;
    QTest::newRow("binary file") << "b.txt" << QByteArray("PK\x03\x04\0\0\0binary", 14) << 0
                                 << "binary" << true;
    QTest::newRow("empty file") << "e.md" << QByteArray() << 0 << "is empty" << true;
    QTest::newRow("invalid UTF-8 text file") << "l.txt" << QByteArray("fine line\nbad \xff\xfe\n")
                                             << 2 << "invalid UTF-8" << true;
    QTest::newRow("unknown type") << "x.pdf" << QByteArray("%PDF-1.4") << 0
                                  << "unknown file type" << true;
    QTest::newRow("missing path") << "" << QByteArray() << 0 << "does not exist" << true;
}

void TestCorpus::badInput()
{
    QFETCH(QString, name);
    QFETCH(QByteArray, content);
    QFETCH(int, line);
    QFETCH(QString, message);
    QFETCH(bool, refused);
    // A good file first: whatever happens to the bad one, it stays imported.
    const QString good = writeFile(m_dir->filePath("good.jsonl"), jsonLine(words(60, "keep")));
    const QString bad = name.isEmpty() ? m_dir->filePath("missing.jsonl")
                                       : writeFile(m_dir->filePath(name), content);
    const ImportReport report = moin::importCorpus(
        *m_workspace, {good.toStdString(), bad.toStdString()}, m_options);
    QVERIFY2(hasProblem(report, QFileInfo(bad).fileName(), line, message),
             report.problems.empty() ? "no problem reported"
                                     : report.problems.front().message.c_str());
    QCOMPARE(report.filesRefused, int64_t(refused ? 1 : 0));
    QCOMPARE(report.linesSkipped, int64_t(refused ? 0 : 1));
    QCOMPARE(report.filesImported, int64_t(refused ? 1 : 2));
    const auto keep = moin::findChunks(*m_workspace, "keep0", 100);
    QVERIFY(!keep.empty());
    if (refused) // a refused file adds nothing at all
        QCOMPARE(moin::listSources(*m_workspace).size(), size_t(1));
}

void TestCorpus::cancelKeepsFinishedFiles()
{
    const QString first = writeFile(m_dir->filePath("1.jsonl"), jsonLine(words(60, "first")));
    QByteArray many;
    for (int i = 0; i < 600; ++i)
        many += jsonLine(words(40, QString("second%1x").arg(i)));
    const QString second = writeFile(m_dir->filePath("2.jsonl"), many);
    moin::CancelToken cancel;
    const ImportReport report = moin::importCorpus(
        *m_workspace, {first.toStdString(), second.toStdString()}, m_options,
        [&](const moin::ImportProgress& p) {
            if (p.filesDone == 1 && p.bytesDone > QFileInfo(first).size() + 1000)
                cancel.cancel(); // midway through the second file
        },
        &cancel);
    QVERIFY(report.cancelled);
    QCOMPARE(report.filesImported, int64_t(1));
    const auto sources = moin::listSources(*m_workspace);
    QCOMPARE(sources.size(), size_t(1));
    QVERIFY(QString::fromStdString(sources[0].path).endsWith("1.jsonl"));
    QCOMPARE(moin::countChunks(*m_workspace, "second0x0"), int64_t(0));
    QVERIFY(moin::countChunks(*m_workspace, "first0") > 0);
    // Importing again finishes the job.
    const ImportReport again = moin::importCorpus(
        *m_workspace, {first.toStdString(), second.toStdString()}, m_options);
    QCOMPARE(again.filesAlreadyImported, int64_t(1));
    QCOMPARE(again.filesImported, int64_t(1));
}

void TestCorpus::fullDatabaseLosesNothing()
{
    const QString first = writeFile(m_dir->filePath("1.jsonl"), jsonLine(words(60, "first")));
    moin::importCorpus(*m_workspace, {first.toStdString()}, m_options);
    const int64_t chunksBefore = moin::corpusStats(*m_workspace).chunks;
    // A disk that fills: SQLite may grow the file by only a few pages.
    moin::Database& db = m_workspace->database();
    const int64_t pages = db.queryInt64("PRAGMA page_count").value();
    db.exec("PRAGMA max_page_count = " + std::to_string(pages + 3));
    QByteArray many;
    for (int i = 0; i < 400; ++i)
        many += jsonLine(words(40, QString("big%1x").arg(i)));
    const QString second = writeFile(m_dir->filePath("2.jsonl"), many);
    try {
        moin::importCorpus(*m_workspace, {second.toStdString()}, m_options);
        QFAIL("the import must fail when the database is full");
    } catch (const moin::Error& e) {
        QVERIFY2(QString(e.what()).contains("full"), e.what());
    }
    db.exec("PRAGMA max_page_count = 1073741823");
    QCOMPARE(moin::corpusStats(*m_workspace).chunks, chunksBefore);
    QCOMPARE(moin::listSources(*m_workspace).size(), size_t(1));
    // With room again, the same import succeeds.
    QVERIFY(moin::importCorpus(*m_workspace, {second.toStdString()}, m_options).chunksAdded > 0);
}

void TestCorpus::searchFindsChunks()
{
    const QString file = writeFile(m_dir->filePath("s.jsonl"),
                                   jsonLine(words(30, "apple")) + jsonLine(words(30, "pear"))
                                       + jsonLine("C++ templates, it's \"quoted\" " + words(20, "x")));
    moin::importCorpus(*m_workspace, {file.toStdString()}, m_options);
    QCOMPARE(moin::countChunks(*m_workspace, "apple3"), int64_t(1));
    const auto found = moin::findChunks(*m_workspace, "pear1", 10);
    QCOMPARE(found.size(), size_t(1));
    QVERIFY(QString::fromStdString(found[0].text).contains("pear1"));
    // Punctuation and quotes in a search are taken literally, never an FTS syntax error.
    QCOMPARE(moin::countChunks(*m_workspace, "it's \"quoted\""), int64_t(1));
    QCOMPARE(moin::countChunks(*m_workspace, ""), moin::corpusStats(*m_workspace).chunks);
}

void TestCorpus::badOptions()
{
    ImportOptions options;
    options.chunkTokens = 64;
    options.overlapTokens = 64;
    QVERIFY_THROWS_EXCEPTION(moin::Error, moin::importCorpus(*m_workspace, {}, options));
    options.overlapTokens = 0;
    options.chunkTokens = 2;
    QVERIFY_THROWS_EXCEPTION(moin::Error, moin::importCorpus(*m_workspace, {}, options));
}

QTEST_GUILESS_MAIN(TestCorpus)
#include "tst_corpus.moc"
