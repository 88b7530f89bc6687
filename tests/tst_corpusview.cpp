// The Corpus view on the offscreen platform: empty state, import off the UI thread (totals,
// sources, report of problems, cancel, errors), lazily paged and searchable chunks, the options
// dialog, and the view inside the main window. Screenshots go to build/screenshots/corpus-*.png.
#include "testsupport.h"

#include "../ui/src/corpusview.h"
#include "../ui/src/importdialog.h"
#include "moin/corpus.h"
#include "moin/ui/mainwindow.h"
#include "moin/ui/workspacecontroller.h"
#include "moin/workspace.h"

#include <QApplication>
#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStackedWidget>
#include <QTabWidget>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <QTreeWidget>

#include <memory>
#include <optional>

using moin::ImportOptions;
using moin::ImportReport;
using moin::Workspace;
using moin::ui::ChunkTableModel;
using moin::ui::CorpusView;
using moin::ui::ImportDialog;

namespace {

QString writeFile(const QString& path, const QByteArray& content)
{
    QDir().mkpath(QFileInfo(path).path());
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        qFatal("cannot write %s", qPrintable(path));
    file.write(content);
    return path;
}

QByteArray jsonLine(const QString& text)
{
    return QJsonDocument(QJsonObject{{"text", text}}).toJson(QJsonDocument::Compact) + "\n";
}

const QString kCompilers =
    "A compiler translates source code into machine instructions. The parser reads tokens, the "
    "optimiser rewrites the program, and the code generator emits instructions for the machine. "
    "Every compiler pass keeps the meaning of the source code while it changes its form.";
const QString kLongbourn =
    "Elizabeth walked to Longbourn through the wet fields of Hertfordshire, and arrived with "
    "her stockings dirty and her face glowing with the warmth of exercise. Her sisters were "
    "astonished; her mother thought it very foolish to walk three miles in such weather.";
const QString kBeginning =
    "In the beginning was the word, and the word was with the experts. Each expert answers "
    "the queries routed to it, and the router sends every query to the nearest expert of all.";

void saveScreenshot(QWidget& widget, const QString& name)
{
    const QString dir = QStringLiteral(MOIN_BINARY_DIR) + "/screenshots";
    QDir().mkpath(dir);
    QVERIFY(widget.grab().save(dir + "/" + name + ".png"));
}

QString labelText(const QWidget& view, const char* name)
{
    auto* label = view.findChild<QLabel*>(name);
    return label ? label->text() : QStringLiteral("<no label %1>").arg(name);
}

} // namespace

class TestCorpusView : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void init();
    void cleanup();
    void emptyStateWithoutChunks();
    void importShowsTotalsSourcesAndChunks();
    void searchNarrowsRowsAfterDebounce();
    void chunksArePagedLazily();
    void progressAndCancelKeepNothingOfTheFile();
    void badInputIsListedInTheReport();
    void importErrorIsShownAndViewKeepsWorking();
    void optionsDialog();
    void mainWindowShowsCorpusOfOpenWorkspace();

private:
    /// Imports `paths` through the view and waits; returns the report (error in `error`).
    ImportReport importAndWait(CorpusView& view, const QStringList& paths,
                               QString* error = nullptr);
    QString corpusFolder() const { return m_dir->filePath("corpus"); }
    void writeSmallCorpus();

    QTemporaryDir m_tmp;
    QTemporaryDir m_settingsDir;
    QString m_base;
    std::unique_ptr<QTemporaryDir> m_dir;
    std::optional<Workspace> m_workspace;
    ImportOptions m_options;
};

void TestCorpusView::initTestCase()
{
    QApplication::setOrganizationName("MoIN-tests");
    QApplication::setApplicationName("tst_corpusview");
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, m_settingsDir.path());
    m_base = m_tmp.filePath("base");
    testsupport::makeTinyBaseModel(m_base);
    // Workspaces the main window creates use this base instead of the built-in one.
    qputenv("MOIN_BASE_MODEL", m_base.toLocal8Bit());
    m_options.chunkTokens = 32;
    m_options.minChunkTokens = 4;
}

void TestCorpusView::init()
{
    QSettings().clear();
    m_dir = std::make_unique<QTemporaryDir>();
    moin::WorkspaceOptions options;
    options.baseModel = m_base.toStdString();
    m_workspace = Workspace::create(m_dir->filePath("ws").toStdString(), options);
}

void TestCorpusView::cleanup()
{
    m_workspace.reset();
    m_dir.reset();
}

ImportReport TestCorpusView::importAndWait(CorpusView& view, const QStringList& paths,
                                           QString* error)
{
    QSignalSpy finished(&view, &CorpusView::importFinished);
    if (!view.startImport(paths, m_options)) {
        qWarning("startImport refused");
        return {};
    }
    if (!finished.wait(60000)) {
        qWarning("import did not finish");
        return {};
    }
    if (error)
        *error = finished.first().at(1).toString();
    return finished.first().at(0).value<ImportReport>();
}

void TestCorpusView::writeSmallCorpus()
{
    writeFile(corpusFolder() + "/books.jsonl",
              jsonLine(kCompilers) + jsonLine(kLongbourn) + jsonLine(kBeginning));
    writeFile(corpusFolder() + "/notes.txt", (kCompilers + "\n\n" + kBeginning).toUtf8());
}

void TestCorpusView::emptyStateWithoutChunks()
{
    CorpusView view;
    view.resize(1000, 700);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    // Without a workspace nothing can be imported.
    QVERIFY(!view.findChild<QPushButton*>("importFilesButton")->isEnabled());
    QVERIFY(!view.startImport({corpusFolder()}, m_options));

    view.showWorkspace(*m_workspace);
    QVERIFY(view.findChild<QPushButton*>("importFilesButton")->isEnabled());
    QVERIFY(view.findChild<QWidget*>("corpusEmptyState")->isVisible());
    QVERIFY(labelText(view, "corpusEmptyTitle").contains("No corpus yet"));
    QVERIFY(!view.findChild<QTableView*>("chunkTable")->isVisible());
    QCOMPARE(labelText(view, "chunksTotal"), QString("0"));
    QCOMPARE(view.chunkModel()->rowCount(), 0);
    saveScreenshot(view, "corpus-empty");
}

void TestCorpusView::importShowsTotalsSourcesAndChunks()
{
    writeSmallCorpus();
    CorpusView view;
    view.resize(1000, 700);
    view.show();
    view.showWorkspace(*m_workspace);
    QSignalSpy changed(&view, &CorpusView::corpusChanged);
    QString error;
    const ImportReport report = importAndWait(view, {corpusFolder()}, &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(report.filesImported, int64_t(2));
    QCOMPARE(report.documentsAdded, int64_t(4));
    QVERIFY(report.chunksAdded >= 4);
    QVERIFY(report.chunksDuplicate >= 1); // notes.txt repeats the compiler paragraph
    QCOMPARE(changed.size(), 1);
    QVERIFY(!view.isImporting());
    QVERIFY(!view.findChild<QWidget*>("importPanel")->isVisible());

    const moin::CorpusStats stats = moin::corpusStats(*m_workspace);
    QCOMPARE(stats.chunks, report.chunksAdded);
    const QLocale locale;
    QCOMPARE(labelText(view, "chunksTotal"), locale.toString(qint64(stats.chunks)));
    QCOMPARE(labelText(view, "tokensTotal"), locale.toString(qint64(stats.tokens)));
    QCOMPARE(labelText(view, "documentsTotal"), QString("4"));
    QCOMPARE(labelText(view, "sourcesTotal"), QString("2"));
    QCOMPARE(view.sourceModel()->rowCount(), 2);
    QCOMPARE(view.chunkModel()->rowCount(), int(stats.chunks));
    QCOMPARE(view.chunkModel()->matchCount(), qint64(stats.chunks));
    QVERIFY(view.findChild<QTableView*>("chunkTable")->isVisible());
    QVERIFY(!view.findChild<QWidget*>("corpusEmptyState")->isVisible());

    // The report says what happened, in words.
    QVERIFY(view.findChild<QWidget*>("importReport")->isVisible());
    const QString summary = labelText(view, "importSummary");
    QVERIFY2(summary.contains("Imported 2 files"), qPrintable(summary));
    QVERIFY2(summary.contains("duplicate chunk"), qPrintable(summary));

    // Selecting a chunk shows all of its text.
    auto* table = view.findChild<QTableView*>("chunkTable");
    table->selectRow(1);
    const QString full =
        view.chunkModel()->index(1, 0).data(ChunkTableModel::FullTextRole).toString();
    QVERIFY(!full.isEmpty());
    QCOMPARE(view.findChild<QPlainTextEdit*>("chunkText")->toPlainText(), full);
    QVERIFY(labelText(view, "chunkHeader").contains(
        view.chunkModel()->index(1, ChunkTableModel::IdColumn).data().toString()));
    saveScreenshot(view, "corpus-imported");

    // Importing the same files again adds nothing and says so.
    const ImportReport again = importAndWait(view, {corpusFolder()});
    QCOMPARE(again.filesAlreadyImported, int64_t(2));
    QCOMPARE(again.chunksAdded, int64_t(0));
    QVERIFY(labelText(view, "importSummary").contains("2 files were already imported"));
    QCOMPARE(changed.size(), 1);
}

void TestCorpusView::searchNarrowsRowsAfterDebounce()
{
    writeSmallCorpus();
    CorpusView view;
    view.resize(1000, 700);
    view.show();
    view.showWorkspace(*m_workspace);
    importAndWait(view, {corpusFolder()});
    ChunkTableModel* model = view.chunkModel();
    const int all = model->rowCount();
    QVERIFY(all >= 4);

    const int64_t expected = moin::countChunks(*m_workspace, "Longbourn");
    QVERIFY(expected >= 1 && expected < all);
    auto* search = view.findChild<QLineEdit*>("chunkSearch");
    search->setText("longbourn");
    QCOMPARE(model->rowCount(), all); // debounced: nothing yet
    QTRY_COMPARE_WITH_TIMEOUT(model->rowCount(), int(expected), 5000);
    QCOMPARE(model->matchCount(), qint64(expected));
    for (int row = 0; row < model->rowCount(); ++row) {
        QVERIFY(model->index(row, 0).data(ChunkTableModel::FullTextRole).toString().contains(
            "Longbourn"));
    }
    QCOMPARE(labelText(view, "matchCount"),
             expected == 1 ? QString("1 chunk matches")
                           : QString("%1 chunks match").arg(expected));
    view.findChild<QTableView*>("chunkTable")->selectRow(0);
    saveScreenshot(view, "corpus-search");

    // Every word must appear; a word nowhere gives no rows; clearing lists everything again.
    search->setText("Longbourn compiler");
    QTRY_COMPARE_WITH_TIMEOUT(model->rowCount(), 0, 5000);
    QCOMPARE(labelText(view, "matchCount"), QString("0 chunks match"));
    search->setText("C++ \"quoted\" it's"); // FTS5 syntax characters are taken literally
    QTRY_COMPARE_WITH_TIMEOUT(model->query(), QString("C++ \"quoted\" it's"), 5000);
    QVERIFY(model->errorString().isEmpty());
    search->clear();
    QTRY_COMPARE_WITH_TIMEOUT(model->rowCount(), all, 5000);
}

void TestCorpusView::chunksArePagedLazily()
{
    QByteArray lines;
    for (int i = 0; i < 30; ++i)
        lines += jsonLine(QString("Document %1. ").arg(i) + kCompilers);
    writeFile(corpusFolder() + "/many.jsonl", lines);
    moin::importCorpus(*m_workspace, {corpusFolder().toStdString()}, m_options);
    const int64_t total = moin::countChunks(*m_workspace, "");
    QVERIFY(total > 12);

    ChunkTableModel model;
    model.setPageSize(5);
    model.setWorkspace(&*m_workspace);
    QCOMPARE(model.rowCount(), 5);
    QCOMPARE(model.matchCount(), qint64(total));
    QVERIFY(model.canFetchMore({}));
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    model.fetchMore({});
    QCOMPARE(model.rowCount(), 10);
    QCOMPARE(inserted.size(), 1);
    while (model.canFetchMore({}))
        model.fetchMore({});
    QCOMPARE(model.rowCount(), int(total));
    // Rows come by id, without gaps or repeats between pages.
    for (int row = 1; row < model.rowCount(); ++row) {
        QVERIFY(model.index(row, 0).data(ChunkTableModel::ChunkIdRole).toLongLong()
                > model.index(row - 1, 0).data(ChunkTableModel::ChunkIdRole).toLongLong());
    }
    // The text cell is one line; the tooltip and FullTextRole hold the whole text.
    const QModelIndex text = model.index(0, ChunkTableModel::TextColumn);
    QVERIFY(!text.data().toString().contains('\n'));
    QVERIFY(text.data(Qt::ToolTipRole).toString().contains("Document 0."));
    QCOMPARE(model.index(0, ChunkTableModel::SourceColumn).data().toString(),
             QString("many.jsonl"));
    QCOMPARE(model.index(0, ChunkTableModel::LineColumn).data().toString(), QString("1"));
}

void TestCorpusView::progressAndCancelKeepNothingOfTheFile()
{
    writeSmallCorpus();
    // About 4 MB: long enough to be cancelled midway on any machine.
    QByteArray big;
    for (int i = 0; big.size() < 4'000'000; ++i)
        big += jsonLine(QString("Zyzzyva record %1. ").arg(i) + kLongbourn + " " + kCompilers);
    writeFile(m_dir->filePath("big/big.jsonl"), big);

    CorpusView view;
    view.resize(1000, 700);
    view.show();
    view.showWorkspace(*m_workspace);
    importAndWait(view, {corpusFolder()});
    const moin::CorpusStats before = moin::corpusStats(*m_workspace);

    // Progress reaches the UI while the worker runs; the UI thread keeps serving events.
    QSignalSpy finished(&view, &CorpusView::importFinished);
    QVERIFY(view.startImport({m_dir->filePath("big/big.jsonl")}, m_options));
    QVERIFY(view.isImporting());
    QVERIFY(!view.findChild<QPushButton*>("importFilesButton")->isEnabled());
    auto* panel = view.findChild<QWidget*>("importPanel");
    QVERIFY(panel->isVisible());
    QTRY_VERIFY_WITH_TIMEOUT(labelText(view, "importLabel").contains("big.jsonl"), 20000);
    QTRY_VERIFY_WITH_TIMEOUT(view.findChild<QProgressBar*>("importProgress")->value() > 0
                                 || !finished.isEmpty(),
                             20000);
    QVERIFY2(finished.isEmpty(), "the import finished before it could be cancelled");
    saveScreenshot(view, "corpus-importing");
    view.findChild<QPushButton*>("importCancelButton")->click();
    QVERIFY(finished.wait(20000));
    const ImportReport report = finished.first().at(0).value<ImportReport>();
    QVERIFY(finished.first().at(1).toString().isEmpty());
    QVERIFY(report.cancelled);
    QCOMPARE(report.filesImported, int64_t(0));
    QVERIFY(!panel->isVisible());
    QVERIFY(labelText(view, "importSummary").contains("cancelled"));
    QCOMPARE(moin::countChunks(*m_workspace, "Zyzzyva"), int64_t(0));
    QCOMPARE(moin::corpusStats(*m_workspace).chunks, before.chunks);
    QCOMPARE(view.sourceModel()->rowCount(), int(before.sources));

    // Cancelled right after the start: the file is not even begun.
    QSignalSpy second(&view, &CorpusView::importFinished);
    QVERIFY(view.startImport({m_dir->filePath("big/big.jsonl")}, m_options));
    view.cancelImport();
    QVERIFY(second.wait(20000));
    QVERIFY(second.first().at(0).value<ImportReport>().cancelled);
    QCOMPARE(moin::countChunks(*m_workspace, "Zyzzyva"), int64_t(0));
    QVERIFY(view.findChild<QPushButton*>("importFilesButton")->isEnabled());

    // An import running when the view goes away is cancelled and waited for.
    auto doomed = std::make_unique<CorpusView>();
    doomed->showWorkspace(*m_workspace);
    QVERIFY(doomed->startImport({m_dir->filePath("big/big.jsonl")}, m_options));
    // Running, not just asked for: the worker has reported progress into the file.
    QTRY_VERIFY_WITH_TIMEOUT(doomed->findChild<QProgressBar*>("importProgress")->value() > 0,
                             20000);
    QVERIFY(doomed->isImporting());
    doomed.reset();
    QCOMPARE(moin::countChunks(*m_workspace, "Zyzzyva"), int64_t(0));
}

void TestCorpusView::badInputIsListedInTheReport()
{
    writeFile(corpusFolder() + "/bad.jsonl",
              jsonLine(kLongbourn) + "{not json\n" + "{\"body\": \"no text field\"}\n"
                  + jsonLine(kBeginning));
    writeFile(corpusFolder() + "/empty.txt", "");
    writeFile(m_dir->filePath("table.csv"), "a,b\n1,2\n");

    CorpusView view;
    view.resize(1000, 700);
    view.show();
    view.showWorkspace(*m_workspace);
    const ImportReport report =
        importAndWait(view, {corpusFolder(), m_dir->filePath("table.csv")});
    QCOMPARE(report.filesImported, int64_t(1));
    QCOMPARE(report.linesSkipped, int64_t(2));
    QCOMPARE(report.filesRefused, int64_t(2));

    auto* problems = view.findChild<QTreeWidget*>("importProblems");
    QVERIFY(problems->isVisible());
    QCOMPARE(problems->topLevelItemCount(), 4);
    QStringList lines;
    for (int row = 0; row < problems->topLevelItemCount(); ++row)
        lines << problems->topLevelItem(row)->text(0);
    const QString all = lines.join('\n');
    QVERIFY2(all.contains("bad.jsonl:2: "), qPrintable(all));
    QVERIFY2(all.contains("bad.jsonl:3: "), qPrintable(all));
    QVERIFY2(all.contains("empty.txt: ") && all.contains("empty"), qPrintable(all));
    QVERIFY2(all.contains("table.csv: ") && all.contains(".csv"), qPrintable(all));
    const QString summary = labelText(view, "importSummary");
    QVERIFY2(summary.contains("2 lines were skipped"), qPrintable(summary));
    QVERIFY2(summary.contains("2 files were refused"), qPrintable(summary));
    QVERIFY(view.findChild<QWidget*>("problemsToggle")->isVisible());

    // The source table counts the skipped lines of its file.
    QCOMPARE(view.sourceModel()->rowCount(), 1);
    QCOMPARE(view.sourceModel()
                 ->index(0, moin::ui::SourceTableModel::SkippedColumn)
                 .data()
                 .toString(),
             QString("2"));
    saveScreenshot(view, "corpus-problems");
    auto* tabs = view.findChild<QTabWidget*>("corpusTabs");
    QCOMPARE(tabs->tabText(1), QString("Sources (1)"));
    tabs->setCurrentIndex(1);
    QVERIFY(view.findChild<QTableView*>("sourceTable")->isVisible());
    saveScreenshot(view, "corpus-sources");
}

void TestCorpusView::importErrorIsShownAndViewKeepsWorking()
{
    // A workspace whose base model lost its tokenizer: the worker's import throws.
    const QString base = m_dir->filePath("movedbase");
    QDir().mkpath(base);
    for (const QString& name : QDir(m_base).entryList(QDir::Files))
        QVERIFY(QFile::copy(m_base + "/" + name, base + "/" + name));
    moin::WorkspaceOptions options;
    options.baseModel = base.toStdString();
    Workspace workspace = Workspace::create(m_dir->filePath("ws2").toStdString(), options);
    QVERIFY(QFile::rename(base + "/tokenizer.model", base + "/tokenizer.model.moved"));
    writeSmallCorpus();

    CorpusView view;
    view.resize(1000, 700);
    view.show();
    view.showWorkspace(workspace);
    QString error;
    const ImportReport report = importAndWait(view, {corpusFolder()}, &error);
    QVERIFY(!error.isEmpty());
    QCOMPARE(report.filesImported, int64_t(0));
    const QString summary = labelText(view, "importSummary");
    QVERIFY2(summary.startsWith("The import stopped: ") && summary.contains(error),
             qPrintable(summary));
    QVERIFY(view.findChild<QPushButton*>("importFilesButton")->isEnabled());
    saveScreenshot(view, "corpus-error");

    // Put right, the same view imports.
    QVERIFY(QFile::rename(base + "/tokenizer.model.moved", base + "/tokenizer.model"));
    const ImportReport fixed = importAndWait(view, {corpusFolder()}, &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(fixed.filesImported, int64_t(2));

    // Bad options are refused before anything starts, with the reason.
    ImportOptions bad = m_options;
    bad.overlapTokens = bad.chunkTokens;
    QVERIFY(!view.startImport({corpusFolder()}, bad));
    QVERIFY(labelText(view, "importSummary").contains("overlap"));
}

void TestCorpusView::optionsDialog()
{
    writeSmallCorpus();
    ImportDialog dialog({corpusFolder()});
    const ImportOptions defaults = dialog.options();
    QCOMPARE(defaults.textField, std::string("text"));
    QCOMPARE(defaults.chunkTokens, 256);
    QCOMPARE(defaults.overlapTokens, 0);
    auto* chunk = dialog.findChild<QSpinBox*>("chunkTokens");
    auto* overlap = dialog.findChild<QSpinBox*>("overlapTokens");
    QCOMPARE(chunk->minimum(), 8);
    QCOMPARE(chunk->maximum(), 65536);
    for (const char* name : {"textField", "chunkTokens", "overlapTokens", "minChunkTokens"})
        QVERIFY2(!dialog.findChild<QWidget*>(name)->toolTip().isEmpty(), name);

    // The overlap stays below the chunk size.
    overlap->setValue(100);
    chunk->setValue(64);
    QCOMPARE(overlap->maximum(), 63);
    QCOMPARE(overlap->value(), 63);
    overlap->setValue(8);
    dialog.show();
    QVERIFY(QTest::qWaitForWindowExposed(&dialog));
    saveScreenshot(dialog, "corpus-import-dialog");

    // An empty field name is refused in the dialog, which stays open.
    dialog.findChild<QLineEdit*>("textField")->setText("  ");
    dialog.accept();
    QVERIFY(dialog.isVisible());
    QVERIFY(dialog.findChild<QLabel*>("importDialogError")->isVisible());
    dialog.findChild<QLineEdit*>("textField")->setText("body");
    dialog.accept();
    QCOMPARE(dialog.result(), int(QDialog::Accepted));

    // Accepted options are offered next time.
    ImportDialog next({corpusFolder()});
    QCOMPARE(next.options().textField, std::string("body"));
    QCOMPARE(next.options().chunkTokens, 64);
    QCOMPARE(next.options().overlapTokens, 8);
}

void TestCorpusView::mainWindowShowsCorpusOfOpenWorkspace()
{
    writeSmallCorpus();
    const QString dir = m_dir->filePath("window");
    moin::ui::MainWindow window;
    window.resize(1180, 760);
    window.show();
    QSignalSpy opened(window.controller(), &moin::ui::WorkspaceController::opened);
    QSignalSpy failed(window.controller(), &moin::ui::WorkspaceController::failed);
    window.openWorkspace(dir, /*createIfMissing=*/true);
    QTRY_VERIFY_WITH_TIMEOUT(!opened.isEmpty() || !failed.isEmpty(), 20000);
    QVERIFY2(failed.isEmpty(), qPrintable(failed.value(0).value(0).toString()));
    window.showView(moin::ui::MainWindow::View::Corpus);
    auto* view = window.findChild<CorpusView*>("corpusView");
    QVERIFY(view && view->isVisible());
    QVERIFY(view->findChild<QWidget*>("corpusEmptyState")->isVisible());

    QSignalSpy finished(view, &CorpusView::importFinished);
    QVERIFY(view->startImport({corpusFolder()}, ImportOptions{}));
    QVERIFY(finished.wait(60000));
    QVERIFY(finished.first().at(1).toString().isEmpty());
    QCOMPARE(labelText(*view, "sourcesTotal"), QString("2"));
    QVERIFY(view->chunkModel()->rowCount() > 0);
    saveScreenshot(window, "corpus-window");

    // Closing the workspace empties the view.
    window.closeWorkspace();
    QCOMPARE(view->chunkModel()->rowCount(), 0);
    QCOMPARE(labelText(*view, "sourcesTotal"), QString("0"));
}

QTEST_MAIN(TestCorpusView)
#include "tst_corpusview.moc"
