// Workspace store: create, reopen, upgrade, refuse, share between processes.
#include "testsupport.h"

#include "moin/basemodel.h"
#include "moin/database.h"
#include "moin/error.h"
#include "moin/workspace.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <sys/wait.h>
#include <unistd.h>

using moin::Database;
using moin::Workspace;

namespace {

// Every file in `dir` with its content hash: "nothing changed on disk" means equal snapshots.
QMap<QString, QByteArray> snapshot(const QString& dir)
{
    QMap<QString, QByteArray> files;
    for (const QFileInfo& info : QDir(dir).entryInfoList(QDir::Files | QDir::Hidden)) {
        QFile file(info.absoluteFilePath());
        file.open(QIODevice::ReadOnly);
        files.insert(info.fileName(),
                     QCryptographicHash::hash(file.readAll(), QCryptographicHash::Sha256));
    }
    return files;
}

QString dbPath(const QString& dir) { return dir + "/" + Workspace::kDatabaseFileName; }

void fillActivity(const QString& dir, int rows)
{
    Workspace workspace = Workspace::open(dir.toStdString());
    moin::Transaction transaction(workspace.database());
    for (int i = 0; i < rows; ++i)
        workspace.logActivity("row " + std::to_string(i) + std::string(200, 'x'));
    transaction.commit();
}

} // namespace

class TestWorkspace : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void createAndReopen();
    void recordsBaseModel();
    void refusesBadBaseModel_data();
    void refusesBadBaseModel();
    void builtinBaseModelIsShipped();
    void createRefusesExistingWorkspace();
    void createRefusesFile();
    void openRefuses_data();
    void openRefuses();
    void upgradesOlderSchema();
    void failedUpgradeChangesNothing();
    void migrationGapIsRejected();
    void twoProcessesShareOneWorkspace();
    void transactionRefusesAnOpenRead();

private:
    QTemporaryDir m_bases;
    QString m_tinyBase;
};

void TestWorkspace::initTestCase()
{
    // The default base of these tests: a tiny model, so that no test depends on the size of
    // the shipped one (builtinBaseModelIsShipped checks that one).
    m_tinyBase = m_bases.filePath("tiny-base");
    testsupport::makeTinyBaseModel(m_tinyBase);
    qputenv("MOIN_BASE_MODEL", m_tinyBase.toUtf8());
}

void TestWorkspace::recordsBaseModel()
{
    QTemporaryDir tmp;
    moin::WorkspaceOptions options;
    options.baseModel = m_tinyBase.toStdString() + "/./";
    Workspace workspace = Workspace::create(tmp.filePath("ws").toStdString(), options);
    QCOMPARE(QString::fromStdString(workspace.baseModelDirectory()),
             QFileInfo(m_tinyBase).canonicalFilePath());
    QVERIFY(QFile::exists(QString::fromStdString(workspace.tokenizerPath())));
    // Without --base, the built-in base (here redirected by MOIN_BASE_MODEL) is recorded.
    Workspace byDefault = Workspace::create(tmp.filePath("ws2").toStdString());
    QCOMPARE(QString::fromStdString(byDefault.baseModelDirectory()),
             QFileInfo(m_tinyBase).canonicalFilePath());
}

void TestWorkspace::refusesBadBaseModel_data()
{
    QTest::addColumn<QString>("damage");
    QTest::addColumn<QString>("expected");
    QTest::newRow("missing folder") << "missing" << "does not exist";
    QTest::newRow("no config.json") << "noconfig" << "has no config.json";
    QTest::newRow("no tokenizer") << "notokenizer" << "has no tokenizer.model";
    QTest::newRow("truncated weights") << "truncated" << "model.safetensors";
}

void TestWorkspace::refusesBadBaseModel()
{
    QFETCH(QString, damage);
    QFETCH(QString, expected);
    QTemporaryDir tmp;
    const QString base = tmp.filePath("base");
    if (damage != "missing") {
        testsupport::makeTinyBaseModel(base);
        if (damage == "noconfig")
            QFile::remove(base + "/config.json");
        if (damage == "notokenizer")
            QFile::remove(base + "/tokenizer.model");
        if (damage == "truncated") {
            QFile weights(base + "/model.safetensors");
            QVERIFY(weights.resize(weights.size() - 100));
        }
    }
    moin::WorkspaceOptions options;
    options.baseModel = base.toStdString();
    const QString dir = tmp.filePath("ws");
    try {
        Workspace::create(dir.toStdString(), options);
        QFAIL("a bad base model must be refused");
    } catch (const moin::Error& e) {
        QVERIFY2(QString(e.what()).contains(expected), e.what());
    }
    QVERIFY2(!QDir(dir).exists(), "nothing may be created for a refused base");
}

void TestWorkspace::builtinBaseModelIsShipped()
{
    const QByteArray saved = qgetenv("MOIN_BASE_MODEL");
    qunsetenv("MOIN_BASE_MODEL");
    const std::string dir = moin::builtinBaseModelDirectory();
    qputenv("MOIN_BASE_MODEL", saved);
    const moin::BaseModelInfo info = moin::inspectBaseModel(dir);
    QVERIFY(info.config.vocabSize >= 1000);
    QVERIFY(QFile::exists(QString::fromStdString(info.tokenizerPath)));
}

void TestWorkspace::createAndReopen()
{
    QTemporaryDir tmp;
    const QString dir = tmp.path() + "/ws";
    {
        Workspace workspace = Workspace::create(dir.toStdString(), {"Demo"});
        QCOMPARE(workspace.name(), std::string("Demo"));
        QCOMPARE(workspace.schemaVersion(), Workspace::currentSchemaVersion());
        QCOMPARE(workspace.database().queryText("PRAGMA journal_mode").value(), std::string("wal"));
        QCOMPARE(workspace.database().queryInt64("PRAGMA foreign_keys").value(), 1);
        QCOMPARE(workspace.database().queryInt64("PRAGMA application_id").value(),
                 int64_t(Workspace::kApplicationId));
        QVERIFY(workspace.meta("created_at").value().size() >= 20);
        workspace.setMeta("base_model", "/models/tiny");
        const auto activity = workspace.activity();
        QCOMPARE(activity.size(), size_t(1));
        QCOMPARE(activity.front().message, std::string("created workspace 'Demo'"));
        QCOMPARE(activity.front().pid, int64_t(getpid()));
    }
    QVERIFY(QFile::exists(dbPath(dir)));
    QVERIFY(QDir(dir + "/adapters").exists());
    // No temporary file of the atomic create is left behind.
    QCOMPARE(QDir(dir).entryList({"*.creating-*"}, QDir::Files).size(), 0);

    Workspace reopened = Workspace::open(dir.toStdString());
    QCOMPARE(reopened.name(), std::string("Demo"));
    QCOMPARE(reopened.meta("base_model").value(), std::string("/models/tiny"));
    QCOMPARE(reopened.openedFromVersion(), Workspace::currentSchemaVersion());
    QVERIFY(!reopened.meta("no such key").has_value());
}

void TestWorkspace::createRefusesExistingWorkspace()
{
    QTemporaryDir tmp;
    Workspace::create(tmp.path().toStdString());
    const auto before = snapshot(tmp.path());
    try {
        Workspace::create(tmp.path().toStdString());
        QFAIL("creating over an existing workspace must fail");
    } catch (const moin::Error& e) {
        QVERIFY2(QString(e.what()).contains("already a MoIN Studio workspace"), e.what());
    }
    QCOMPARE(snapshot(tmp.path()), before);
}

void TestWorkspace::createRefusesFile()
{
    QTemporaryDir tmp;
    QFile file(tmp.path() + "/plain");
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write("x");
    file.close();
    QVERIFY_THROWS_EXCEPTION(moin::Error, Workspace::create(file.fileName().toStdString()));
}

void TestWorkspace::openRefuses_data()
{
    QTest::addColumn<QString>("damage");
    QTest::addColumn<QString>("expected");
    QTest::newRow("missing folder") << "missing" << "does not exist";
    QTest::newRow("folder without database") << "nodb" << "not a MoIN Studio workspace";
    QTest::newRow("empty database file") << "empty" << "is empty";
    QTest::newRow("random bytes") << "random" << "not an SQLite database";
    QTest::newRow("another program's SQLite file") << "foreign" << "not a MoIN Studio workspace";
    QTest::newRow("newer schema version") << "newer" << "newer MoIN Studio";
    QTest::newRow("never finished (version 0)") << "unfinished" << "never finished";
    QTest::newRow("corrupt page") << "corrupt" << "corrupt";
    QTest::newRow("truncated file") << "truncated" << "corrupt";
}

void TestWorkspace::openRefuses()
{
    QFETCH(QString, damage);
    QFETCH(QString, expected);
    QTemporaryDir tmp;
    const QString dir = tmp.path() + "/ws";
    const QString db = dbPath(dir);
    auto writeFile = [&](const QByteArray& bytes) {
        QFile file(db);
        QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
        file.write(bytes);
    };

    if (damage != "missing")
        QDir().mkpath(dir);
    if (damage == "empty") {
        writeFile({});
    } else if (damage == "random") {
        QByteArray bytes(8192, '\0');
        for (int i = 0; i < bytes.size(); ++i)
            bytes[i] = char((i * 7919) % 251);
        writeFile(bytes);
    } else if (damage == "foreign" || damage == "unfinished") {
        Database other = Database::open(db.toStdString(), Database::OpenMode::ReadWriteCreate);
        other.exec("CREATE TABLE notes (text TEXT)");
        if (damage == "unfinished")
            other.exec("PRAGMA application_id = " + std::to_string(Workspace::kApplicationId));
    } else if (damage == "newer") {
        Workspace::create(dir.toStdString());
        Database raw = Database::open(db.toStdString(), Database::OpenMode::ReadWrite);
        raw.exec("PRAGMA user_version = " + std::to_string(Workspace::currentSchemaVersion() + 1));
    } else if (damage == "corrupt" || damage == "truncated") {
        Workspace::create(dir.toStdString());
        fillActivity(dir, 3000);
        QFile file(db);
        QVERIFY(file.open(QIODevice::ReadWrite));
        const qint64 size = file.size();
        QVERIFY2(size > 64 * 4096, "the database should span many pages");
        if (damage == "corrupt") {
            // Overwrite two whole b-tree pages in the middle of the activity table.
            file.seek((size / 4096 / 2) * 4096);
            file.write(QByteArray(2 * 4096, char(0xA5)));
        } else {
            file.resize(size / 2);
        }
    }

    const auto before = snapshot(dir);
    try {
        Workspace::open(dir.toStdString());
        QFAIL("opening must fail");
    } catch (const moin::Error& e) {
        QVERIFY2(QString(e.what()).contains(expected), e.what());
    }
    QCOMPARE(snapshot(dir), before);
    if (damage == "missing")
        QVERIFY(!QDir(dir).exists());
}

void TestWorkspace::upgradesOlderSchema()
{
    QTemporaryDir tmp;
    const QString db = dbPath(tmp.path());
    {
        // A workspace as version 1 of the program wrote it.
        Database old = Database::open(db.toStdString(), Database::OpenMode::ReadWriteCreate);
        old.exec("PRAGMA application_id = " + std::to_string(Workspace::kApplicationId));
        const auto& steps = Workspace::schemaMigrations();
        Workspace::migrate(old, {steps.front()});
        old.exec("INSERT INTO meta (key, value) VALUES ('name', 'Old one')");
        old.exec("PRAGMA journal_mode = WAL");
        QCOMPARE(old.queryInt64("PRAGMA user_version").value(), 1);
    }
    Workspace workspace = Workspace::open(tmp.path().toStdString());
    QCOMPARE(workspace.openedFromVersion(), 1);
    QCOMPARE(workspace.schemaVersion(), Workspace::currentSchemaVersion());
    QCOMPARE(workspace.name(), std::string("Old one"));
    const auto activity = workspace.activity();
    QCOMPARE(activity.size(), size_t(1));
    QVERIFY(activity.front().message.find("upgraded schema from version 1 to "
                                          + std::to_string(Workspace::currentSchemaVersion()))
            == 0);
}

void TestWorkspace::failedUpgradeChangesNothing()
{
    QTemporaryDir tmp;
    Workspace workspace = Workspace::create(tmp.path().toStdString());
    Database& db = workspace.database();
    auto steps = Workspace::schemaMigrations();
    const int current = Workspace::currentSchemaVersion();
    steps.push_back({current + 1, "a step that half-applies and then fails", [](Database& d) {
                         d.exec("CREATE TABLE half_done (x INTEGER)");
                         d.exec("INSERT INTO no_such_table VALUES (1)");
                     }});
    try {
        Workspace::migrate(db, steps);
        QFAIL("the failing step must abort the upgrade");
    } catch (const moin::Error& e) {
        QVERIFY2(QString(e.what()).contains("nothing was changed"), e.what());
        QVERIFY2(QString(e.what()).contains("no_such_table"), e.what());
    }
    QCOMPARE(workspace.schemaVersion(), current);
    QVERIFY(!db.queryInt64("SELECT 1 FROM sqlite_master WHERE name = 'half_done'").has_value());
}

void TestWorkspace::migrationGapIsRejected()
{
    QTemporaryDir tmp;
    Workspace workspace = Workspace::create(tmp.path().toStdString());
    auto steps = Workspace::schemaMigrations();
    steps.push_back({Workspace::currentSchemaVersion() + 2, "gap", [](Database&) {}});
    QVERIFY_THROWS_EXCEPTION(moin::Error, Workspace::migrate(workspace.database(), steps));
    QCOMPARE(workspace.schemaVersion(), Workspace::currentSchemaVersion());
}

void TestWorkspace::twoProcessesShareOneWorkspace()
{
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString();
    Workspace::create(dir);
    constexpr int kRows = 300;
    Workspace parent = Workspace::open(dir);
    const pid_t child = fork();
    QVERIFY(child >= 0);
    if (child == 0) {
        // The child writes through its own connection while the parent writes through its own.
        int code = 0;
        try {
            Workspace mine = Workspace::open(dir);
            for (int i = 0; i < kRows; ++i)
                mine.logActivity("child " + std::to_string(i));
        } catch (...) {
            code = 1;
        }
        _exit(code);
    }
    for (int i = 0; i < kRows; ++i)
        parent.logActivity("parent " + std::to_string(i));
    int status = 0;
    QCOMPARE(waitpid(child, &status, 0), child);
    QVERIFY(WIFEXITED(status));
    QCOMPARE(WEXITSTATUS(status), 0);
    const auto all = parent.activity(10 * kRows);
    int fromChild = 0;
    int fromParent = 0;
    for (const auto& entry : all) {
        fromChild += entry.message.rfind("child ", 0) == 0 && entry.pid == child;
        fromParent += entry.message.rfind("parent ", 0) == 0 && entry.pid == getpid();
    }
    QCOMPARE(fromChild, kRows);
    QCOMPARE(fromParent, kRows);
}

// A statement left mid-read pins an old snapshot; once another connection writes, SQLite fails
// BEGIN IMMEDIATE at once ("database is locked", no busy wait). This killed the training
// coordinator when a pause arrived at the wrong moment. Transaction refuses it every time, not
// only when the race is lost, and works after the read is reset.
void TestWorkspace::transactionRefusesAnOpenRead()
{
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString();
    Workspace::create(dir);
    Workspace mine = Workspace::open(dir);
    Workspace other = Workspace::open(dir);
    const size_t logged = other.activity(100).size(); // creating the workspace logs too
    mine.logActivity("first");
    moin::Statement read = mine.database().prepare("SELECT message FROM activity");
    QVERIFY(read.step());
    other.logActivity("written by another connection in between");
    try {
        moin::Transaction transaction(mine.database());
        QFAIL("a transaction began while a statement of its connection still read");
    } catch (const moin::Error& e) {
        const QString message = QString::fromUtf8(e.what());
        QVERIFY2(message.contains("still reads") && message.contains("FROM activity"),
                 e.what());
    }
    read.reset();
    moin::Transaction transaction(mine.database());
    mine.logActivity("after the reset");
    transaction.commit();
    QCOMPARE(other.activity(100).size(), logged + 3);
}

QTEST_GUILESS_MAIN(TestWorkspace)
#include "tst_workspace.moc"
