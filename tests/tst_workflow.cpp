// The whole path through the real widgets of the main window, as a person takes it: a new
// workspace from the welcome page, a corpus imported through the Corpus view's folder dialog and
// import dialog, a clustering run through the Cluster map's run dialog, one tiny expert per
// cluster trained through the Experts & training form (real `moin train-worker` processes), and
// a question in the Chat view answered, streamed, by the expert it was routed to. After each
// stage the window is saved to build/screenshots/workflow-<n>-<view>.png.
#include "testsupport.h"

#include "../ui/src/chatengine.h"
#include "../ui/src/chatview.h"
#include "../ui/src/clustermapview.h"
#include "../ui/src/clusterrundialog.h"
#include "../ui/src/corpusview.h"
#include "../ui/src/importdialog.h"
#include "../ui/src/jobtablemodel.h"
#include "../ui/src/losscurvepanel.h"
#include "../ui/src/messagewidget.h"
#include "../ui/src/trainingform.h"
#include "../ui/src/trainingview.h"
#include "moin/clustering.h"
#include "moin/conversations.h"
#include "moin/corpus.h"
#include "moin/training.h"
#include "moin/ui/mainwindow.h"
#include "moin/ui/workspacecontroller.h"
#include "moin/workspace.h"

#include <qcustomplot.h>

#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileDialog>
#include <QInputDialog>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPointer>
#include <QPushButton>
#include <QRadioButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <vector>

using moin::ui::MainWindow;

namespace {

constexpr int kDocumentsPerTopic = 12;

template <typename T>
T* child(const QObject& parent, const char* name)
{
    T* found = parent.findChild<T*>(name);
    if (!found)
        qWarning("no child %s", name);
    return found;
}

void writeFile(const QString& path, const QByteArray& content)
{
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        qFatal("cannot write %s", qPrintable(path));
    file.write(content);
}

QByteArray jsonLines(int topic, int first, int count)
{
    QByteArray lines;
    for (int i = first; i < first + count; ++i)
        lines += QJsonDocument(QJsonObject{{"text", testsupport::topicText(topic, i)}})
                     .toJson(QJsonDocument::Compact)
                 + "\n";
    return lines;
}

/// Answers the next modal dialog of type `Dialog` once it shows. Static dialogs
/// (QFileDialog::getExistingDirectory, QInputDialog::getText) run an event loop of their own, so
/// the answer comes from a timer; a dialog of another type, or none within 20 s, is closed so
/// that the test fails instead of hanging.
template <typename Dialog>
void answerModal(std::function<void(Dialog*)> answer)
{
    auto* timer = new QTimer(qApp);
    auto* waited = new QElapsedTimer;
    waited->start();
    QObject::connect(timer, &QTimer::timeout, timer, [timer, waited, answer] {
        QWidget* modal = QApplication::activeModalWidget();
        auto* dialog = qobject_cast<Dialog*>(modal);
        const bool expired = waited->elapsed() > 20000;
        if (!dialog && !expired)
            return;
        timer->stop();
        timer->deleteLater();
        delete waited;
        if (dialog) {
            answer(dialog);
        } else {
            qWarning("no %s came up", Dialog::staticMetaObject.className());
            if (modal)
                modal->close();
        }
    });
    timer->start(20);
}

/// Picks `directory` (which exists) in a folder dialog.
void chooseDirectory(QFileDialog* dialog, const QString& directory)
{
    QVERIFY(dialog->fileMode() == QFileDialog::Directory);
    // In a folder dialog, the folder shown is the one chosen when no name is typed.
    dialog->setDirectory(directory);
    if (auto* name = dialog->findChild<QLineEdit*>("fileNameEdit"))
        name->clear();
    static_cast<QDialog*>(dialog)->accept(); // QFileDialog's own accept(), which is protected
}

/// Clicks the navigation entry of `view`, as a person switches views.
void navigateTo(MainWindow& window, MainWindow::View view)
{
    auto* navigation = child<QListWidget>(window, "navigation");
    QListWidgetItem* item = navigation->item(static_cast<int>(view));
    QTest::mouseClick(navigation->viewport(), Qt::LeftButton, {},
                      navigation->visualItemRect(item).center());
    QCOMPARE(window.currentView(), view);
}

int g_screenshot = 0;

void saveScreenshot(MainWindow& window, const QString& view)
{
    QApplication::processEvents(); // pending layouts first; plots paint their last buffer
    for (QCustomPlot* plot : window.findChildren<QCustomPlot*>()) {
        if (plot->isVisible())
            plot->replot();
    }
    const QString dir = QStringLiteral(MOIN_BINARY_DIR) + "/screenshots";
    QDir().mkpath(dir);
    const QString file = QStringLiteral("%1/workflow-%2-%3.png").arg(dir).arg(++g_screenshot).arg(view);
    QVERIFY(window.grab().save(file));
}

} // namespace

class TestWorkflow : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void importClusterTrainAndChat();

private:
    QTemporaryDir m_tmp;
    QTemporaryDir m_settingsDir;
};

void TestWorkflow::initTestCase()
{
    QApplication::setOrganizationName("MoIN-tests");
    QApplication::setApplicationName("tst_workflow");
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, m_settingsDir.path());
    QSettings().clear();
    // The Experts & training view starts the `moin` next to the application's executable.
    QVERIFY2(QFileInfo(QCoreApplication::applicationDirPath() + "/moin").isExecutable(),
             qPrintable(QCoreApplication::applicationDirPath()));
    const QString base = m_tmp.filePath("base");
    testsupport::makeTinyBaseModel(base);
    // The chat's system prompt and a question take more than the tiny base's 64 positions. Its
    // Llama uses RoPE (no position weights), so the same weights serve a longer context.
    {
        QFile file(base + "/config.json");
        QVERIFY(file.open(QIODevice::ReadOnly));
        QJsonObject config = QJsonDocument::fromJson(file.readAll()).object();
        file.close();
        QVERIFY(config.contains("max_position_embeddings"));
        config["max_position_embeddings"] = 256;
        QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
        file.write(QJsonDocument(config).toJson());
    }
    // New workspaces use this base instead of the built-in one.
    qputenv("MOIN_BASE_MODEL", base.toLocal8Bit());

    // A small corpus of two topics far apart, in three files of two formats.
    const QString corpus = m_tmp.filePath("corpus");
    QDir().mkpath(corpus);
    // As many chunks of each topic: tf-idf drops words found in more than half of the chunks,
    // which would be the words of a topic that has more than half of them.
    writeFile(corpus + "/compilers.jsonl", jsonLines(0, 0, kDocumentsPerTopic - 1));
    writeFile(corpus + "/austen.jsonl", jsonLines(2, 0, kDocumentsPerTopic));
    writeFile(corpus + "/notes.md", (testsupport::topicText(0, 100) + "\n").toUtf8());
}

void TestWorkflow::importClusterTrainAndChat()
{
    QElapsedTimer stage;
    stage.start();
    const auto logStage = [&stage](const char* name) {
        qInfo("%s: %.1f s", name, stage.restart() / 1000.0);
    };

    MainWindow window;
    window.resize(1280, 800);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));

    // 1. A new workspace from the welcome page: a folder dialog, then its name.
    const QString directory = m_tmp.filePath("workflow");
    QVERIFY(QDir().mkpath(directory));
    QSignalSpy opened(window.controller(), &moin::ui::WorkspaceController::opened);
    QSignalSpy failed(window.controller(), &moin::ui::WorkspaceController::failed);
    answerModal<QFileDialog>([directory](QFileDialog* dialog) {
        chooseDirectory(dialog, directory);
        answerModal<QInputDialog>([](QInputDialog* name) {
            name->setTextValue("Workflow");
            name->accept();
        });
    });
    QTest::mouseClick(child<QPushButton>(window, "newWorkspaceButton"), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(!opened.isEmpty() || !failed.isEmpty(), 30000);
    QVERIFY2(failed.isEmpty(), qPrintable(failed.value(0).value(0).toString()));
    QVERIFY(moin::Workspace::exists(directory.toStdString()));
    QCOMPARE(window.windowTitle(), QString("Workflow — MoIN Studio"));
    saveScreenshot(window, "overview");
    logStage("workspace");

    // 2. Import the corpus folder through the Corpus view's folder dialog and import dialog.
    navigateTo(window, MainWindow::View::Corpus);
    auto* corpus = child<moin::ui::CorpusView>(window, "corpusView");
    QVERIFY(corpus && corpus->isVisible());
    QVERIFY(child<QWidget>(*corpus, "corpusEmptyState")->isVisible());
    QSignalSpy imported(corpus, &moin::ui::CorpusView::importFinished);
    const QString corpusFolder = m_tmp.filePath("corpus");
    answerModal<QFileDialog>(
        [corpusFolder](QFileDialog* dialog) { chooseDirectory(dialog, corpusFolder); });
    QTest::mouseClick(child<QPushButton>(*corpus, "importFolderButton"), Qt::LeftButton);
    moin::ui::ImportDialog* importDialog = nullptr;
    QTRY_VERIFY_WITH_TIMEOUT((importDialog = corpus->findChild<moin::ui::ImportDialog*>())
                                 && importDialog->isVisible(),
                             10000);
    QCOMPARE(importDialog->paths(), QStringList{corpusFolder});
    // One chunk per document: each is shorter than this.
    child<QSpinBox>(*importDialog, "chunkTokens")->setValue(512);
    child<QSpinBox>(*importDialog, "minChunkTokens")->setValue(4);
    QTest::mouseClick(importDialog->findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Ok),
                      Qt::LeftButton);
    QVERIFY(imported.wait(60000));
    QVERIFY2(imported.first().at(1).toString().isEmpty(),
             qPrintable(imported.first().at(1).toString()));
    const moin::ImportReport report = imported.first().at(0).value<moin::ImportReport>();
    QCOMPARE(report.filesImported, int64_t(3));
    QCOMPARE(report.documentsAdded, int64_t(2 * kDocumentsPerTopic));
    const int chunks = int(report.chunksAdded);
    QCOMPARE(chunks, 2 * kDocumentsPerTopic); // one chunk per document
    QCOMPARE(child<QLabel>(*corpus, "sourcesTotal")->text(), QString("3"));
    QCOMPARE(corpus->chunkModel()->rowCount(), chunks);
    QVERIFY(child<QWidget>(*corpus, "chunkTable")->isVisible());
    saveScreenshot(window, "corpus");
    logStage("import");

    // 3. A clustering run through the Cluster map's run dialog: k = 2, tf-idf.
    navigateTo(window, MainWindow::View::ClusterMap);
    auto* map = child<moin::ui::ClusterMapView>(window, "clusterMapView");
    QVERIFY(map);
    QTRY_VERIFY_WITH_TIMEOUT(child<QPushButton>(*map, "firstRunButton")->isVisible(), 20000);
    QSignalSpy runCreated(map, &moin::ui::ClusterMapView::runCreated);
    QTest::mouseClick(child<QPushButton>(*map, "firstRunButton"), Qt::LeftButton);
    moin::ui::ClusterRunDialog* runDialog = nullptr;
    QTRY_VERIFY_WITH_TIMEOUT((runDialog = map->findChild<moin::ui::ClusterRunDialog*>())
                                 && runDialog->isVisible(),
                             10000);
    auto* embedder = child<QComboBox>(*runDialog, "embedder");
    embedder->setCurrentIndex(embedder->findData("tfidf"));
    child<QSpinBox>(*runDialog, "clusters")->setValue(2);
    auto* layout = child<QComboBox>(*runDialog, "layout");
    layout->setCurrentIndex(layout->findData("pca"));
    QSignalSpy runFinished(runDialog, &moin::ui::ClusterRunDialog::runFinished);
    QSignalSpy runStopped(runDialog, &moin::ui::ClusterRunDialog::runStopped);
    QTest::mouseClick(child<QPushButton>(*runDialog, "runButton"), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(!runFinished.isEmpty() || !runStopped.isEmpty(), 120000);
    QVERIFY2(runStopped.isEmpty(), qPrintable(runStopped.value(0).value(0).toString()));
    QCOMPARE(runCreated.size(), 1);
    const qint64 run = runCreated.first().at(0).toLongLong();
    QTRY_COMPARE_WITH_TIMEOUT(map->shownRun(), run, 20000);
    QCOMPARE(map->clusterCount(), 2);
    QCOMPARE(map->plottedPointCount(), qint64(chunks));
    int compilersCluster = -1; // where the compiler topic went; its questions go to its expert
    {
        // The two topics are the two clusters: every chunk of a file is in the same one.
        moin::Workspace workspace = moin::Workspace::open(directory.toStdString());
        QCOMPARE(moin::activeClusterRun(workspace), run);
        std::map<int64_t, std::string> sourceOf;
        for (const moin::ChunkRecord& chunk : moin::findChunks(workspace, "", chunks))
            sourceOf[chunk.id] = QFileInfo(QString::fromStdString(chunk.source)).fileName().toStdString();
        std::map<std::string, std::set<int>> clustersOf;
        for (const moin::ChunkPlacement& placement : moin::listPlacements(workspace, run))
            clustersOf[sourceOf.at(placement.chunkId)].insert(placement.cluster);
        QString listed;
        for (const auto& [source, clusters] : clustersOf) {
            listed += QString::fromStdString(source) + ':';
            for (int cluster : clusters)
                listed += ' ' + QString::number(cluster);
            listed += "; ";
        }
        QVERIFY2(clustersOf.size() == 3 && clustersOf["compilers.jsonl"].size() == 1
                     && clustersOf["austen.jsonl"].size() == 1
                     && clustersOf["compilers.jsonl"] != clustersOf["austen.jsonl"]
                     && clustersOf["notes.md"] == clustersOf["compilers.jsonl"],
                 qPrintable(listed));
        compilersCluster = *clustersOf["compilers.jsonl"].begin();
    }
    saveScreenshot(window, "cluster-map");
    logStage("clustering");

    // 4. One tiny expert per cluster through the training form, started at once.
    navigateTo(window, MainWindow::View::Experts);
    auto* training = child<moin::ui::TrainingView>(window, "trainingView");
    QVERIFY(training);
    QTRY_VERIFY_WITH_TIMEOUT(child<QWidget>(*training, "noJobsState")->isVisible(), 20000);
    QSignalSpy trainingChanged(training, &moin::ui::TrainingView::trainingChanged);
    QTest::mouseClick(child<QPushButton>(*training, "emptyTrainButton"), Qt::LeftButton);
    QPointer<moin::ui::TrainingForm> form = training->findChild<moin::ui::TrainingForm*>();
    QVERIFY(form);
    QTRY_VERIFY(form->isVisible());
    auto* preset = child<QComboBox>(*form, "preset");
    preset->setCurrentIndex(preset->findData("quick"));
    emit preset->activated(preset->currentIndex());
    child<QRadioButton>(*form, "scopeAll")->setChecked(true);
    child<QRadioButton>(*form, "lengthBySteps")->setChecked(true);
    child<QSpinBox>(*form, "steps")->setValue(6);
    child<QSpinBox>(*form, "batchSize")->setValue(2);
    child<QSpinBox>(*form, "sequenceLength")->setValue(32);
    child<QSpinBox>(*form, "warmupSteps")->setValue(2);
    child<QSpinBox>(*form, "evalEvery")->setValue(3);
    child<QSpinBox>(*form, "checkpointEvery")->setValue(3);
    auto* device = child<QComboBox>(*form, "device");
    device->setCurrentIndex(device->findData("cpu"));
    child<QSpinBox>(*form, "workers")->setValue(2);
    child<QCheckBox>(*form, "startNow")->setChecked(true);
    QVERIFY2(form->validationError().isEmpty(), qPrintable(form->validationError()));
    QCOMPARE(form->specs().size(), size_t(2));
    QTest::mouseClick(child<QPushButton>(*form, "trainingFormOk"), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(!form, 20000);
    QVERIFY(trainingChanged.wait(20000)); // started
    QCOMPARE(trainingChanged.first().at(0).toBool(), true);
    const moin::ui::JobTableModel* jobs = training->jobModel();
    const auto allDone = [jobs] {
        if (jobs->rowCount() != 2)
            return false;
        for (int row = 0; row < jobs->rowCount(); ++row) {
            if (jobs->index(row, 0).data(moin::ui::JobTableModel::StateRole).toInt()
                != int(moin::JobState::Done))
                return false;
        }
        return true;
    };
    QTRY_VERIFY_WITH_TIMEOUT(allDone(), 180000);
    QTRY_VERIFY_WITH_TIMEOUT(!training->isTraining(), 60000);
    QCOMPARE(trainingChanged.last().at(0).toBool(), false);
    const QString status = child<QLabel>(*training, "trainingStatus")->text();
    QVERIFY2(!status.contains("error", Qt::CaseInsensitive), qPrintable(status));
    for (int row = 0; row < 2; ++row) {
        QCOMPARE(jobs->index(row, moin::ui::JobTableModel::ProgressColumn).data().toString(),
                 QString("6 / 6"));
        QVERIFY(!jobs->index(row, moin::ui::JobTableModel::ExpertPplColumn)
                     .data()
                     .toString()
                     .isEmpty());
    }
    training->jobTable()->selectAll(); // both loss curves
    QTRY_VERIFY_WITH_TIMEOUT(training->curves()->jobIds().size() == 2, 10000);
    saveScreenshot(window, "training");
    logStage("training");

    // 5. A question in the Chat view: streamed, answered by the expert it was routed to.
    navigateTo(window, MainWindow::View::Chat);
    auto* chat = child<moin::ui::ChatView>(window, "chatView");
    QVERIFY(chat && chat->isVisible());
    QTRY_VERIFY_WITH_TIMEOUT(chat->engine()->isOpen(), 60000);
    QTRY_COMPARE_WITH_TIMEOUT(chat->engine()->engine()->experts().size(), size_t(2), 60000);
    // Every cluster has its expert: no notice about missing runs or experts.
    QVERIFY2(chat->noticeText().isEmpty(), qPrintable(chat->noticeText()));
    const QString question = testsupport::topicText(0, 7).section(' ', 0, 10);
    const moin::RouteDecision route = chat->engine()->engine()->route(question.toStdString());
    // A compiler question goes to the compiler cluster's expert.
    QCOMPARE(route.expert, compilersCluster);
    QSignalSpy streamed(chat->engine(), &moin::ui::ChatEngine::textArrived);
    QSignalSpy answered(chat->engine(), &moin::ui::ChatEngine::finished);
    QSignalSpy answerFailed(chat->engine(), &moin::ui::ChatEngine::failed);
    chat->input()->setFocus();
    QTest::keyClicks(chat->input(), question);
    QTRY_VERIFY(chat->sendButton()->isEnabled());
    QTest::mouseClick(chat->sendButton(), Qt::LeftButton);
    QVERIFY2(chat->questions().size() == 1,
             qPrintable(child<QLabel>(*chat, "chatStatus")->text()));
    QTRY_VERIFY_WITH_TIMEOUT(!answered.isEmpty() || !answerFailed.isEmpty(), 120000);
    QVERIFY2(answerFailed.isEmpty(), qPrintable(answerFailed.value(0).value(1).toString()));
    QVERIFY(!streamed.isEmpty());
    QTRY_VERIFY_WITH_TIMEOUT(!chat->isBusy(), 20000);
    QCOMPARE(chat->answers().size(), 1);
    moin::ui::AssistantMessage* answer = chat->answers().first();
    QVERIFY(!answer->isStreaming());
    QVERIFY(!answer->text().isEmpty());
    QVERIFY(answer->badge()->isVisible());
    QCOMPARE(answer->badge()->expertText().section(" · ", 0, 0),
             QString("Expert %1").arg(route.expert));
    {
        moin::Workspace workspace = moin::Workspace::open(directory.toStdString());
        const std::vector<moin::ChatMessage> messages =
            moin::ConversationStore(workspace).messages(chat->currentConversation());
        QCOMPARE(messages.size(), size_t(2));
        QCOMPARE(messages[1].answeredBy, std::to_string(route.expert));
        QCOMPARE(answer->text(), QString::fromStdString(messages[1].content));
    }
    saveScreenshot(window, "chat");
    logStage("chat");
}

QTEST_MAIN(TestWorkflow)
#include "tst_workflow.moc"
