// The Experts & training view on the offscreen platform: the job table updating rows in place
// at 5,000 rows, the empty states, the hyperparameter form (tooltips, presets, inline
// validation, which clusters it trains), and a real training run through the form, the queue
// actions and the coordinator with `moin train-worker` processes, down to the loss curves and
// the perplexity columns. Screenshot: build/screenshots/training.png.
#include "testsupport.h"

#include "../ui/src/jobtablemodel.h"
#include "../ui/src/clustermapview.h"
#include "../ui/src/losscurvepanel.h"
#include "../ui/src/specialisationpanel.h"
#include "../ui/src/trainingform.h"
#include "../ui/src/trainingview.h"
#include "moin/clustering.h"
#include "moin/corpus.h"
#include "moin/database.h"
#include "moin/specialisation.h"
#include "moin/training.h"
#include "moin/workspace.h"

#include <qcustomplot.h>

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFile>
#include <QHeaderView>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPointer>
#include <QPushButton>
#include <QRadioButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableView>
#include <QTableWidget>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <optional>
#include <random>

using moin::JobState;
using moin::ui::ClusterChoice;
using moin::ui::JobTableModel;
using moin::ui::TrainingForm;
using moin::ui::TrainingView;

namespace {

const char* const kTopics[2][8] = {
    {"compiler", "parser", "register", "assembly", "linker", "bytecode", "kernel", "pointer"},
    {"ballroom", "carriage", "bonnet", "marriage", "estate", "cousin", "parsonage", "suitor"},
};

QString topicText(int topic, int i)
{
    std::mt19937 rng(uint32_t(topic * 1000 + i));
    QStringList words;
    for (int w = 0; w < 60; ++w)
        words << kTopics[topic][rng() % 8];
    return words.join(' ') + QString(" number%1.").arg(i);
}

void saveScreenshot(QWidget& widget, const QString& name)
{
    const QString dir = QStringLiteral(MOIN_BINARY_DIR) + "/screenshots";
    QDir().mkpath(dir);
    QCoreApplication::processEvents(); // pending layouts and replots, as the event loop would
    QVERIFY(widget.grab().save(dir + "/" + name + ".png"));
}

template <typename T>
T* child(const QObject& parent, const char* name)
{
    T* found = parent.findChild<T*>(name);
    if (!found)
        qWarning("no child %s", name);
    return found;
}

/// The state of the job in a table row (-1: none; -2: no such row).
int stateOf(const TrainingView& view, int row)
{
    const QModelIndex index = view.jobModel()->index(row, 0);
    return index.isValid() ? index.data(JobTableModel::StateRole).toInt() : -2;
}

bool allDone(const TrainingView& view)
{
    const JobTableModel* model = view.jobModel();
    if (model->rowCount() == 0)
        return false;
    for (int row = 0; row < model->rowCount(); ++row) {
        if (stateOf(view, row) != int(JobState::Done))
            return false;
    }
    return true;
}

QString cell(const TrainingView& view, int row, int column)
{
    return view.jobModel()->index(row, column).data().toString();
}

} // namespace

class TestTrainingView : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void modelUpdatesRowsInPlace();
    void healthColumnsUpdateInPlace();
    void smoothingIsADebiasedMovingAverage();
    void emptyStates();
    void formExplainsAndChecksEveryField();
    void formChoosesClusters();
    void formRemembersWhereJobsRun();
    void trainThroughTheForm();
    void stopQueuesRunningJobsAgain();
    void specialisationTab();

private:
    QTemporaryDir m_tmp;
    QTemporaryDir m_settingsDir;
    QString m_base;
    std::optional<moin::Workspace> m_workspace;
    std::optional<moin::Workspace> m_emptyWorkspace; // no corpus, no clustering run
};

void TestTrainingView::initTestCase()
{
    QApplication::setOrganizationName("MoIN-tests");
    QApplication::setApplicationName("tst_trainingview");
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, m_settingsDir.path());
    QSettings().clear();
    QVERIFY2(QFileInfo(QStringLiteral(MOIN_CLI_PATH)).isExecutable(), MOIN_CLI_PATH);

    m_base = m_tmp.filePath("base");
    testsupport::makeTinyBaseModel(m_base);
    moin::WorkspaceOptions options;
    options.baseModel = m_base.toStdString();
    m_workspace = moin::Workspace::create(m_tmp.filePath("ws").toStdString(), options);
    m_emptyWorkspace = moin::Workspace::create(m_tmp.filePath("empty").toStdString(), options);

    QFile corpus(m_tmp.filePath("topics.jsonl"));
    QVERIFY(corpus.open(QIODevice::WriteOnly));
    for (int i = 0; i < 16; ++i) {
        for (int topic = 0; topic < 2; ++topic)
            corpus.write(QJsonDocument(QJsonObject{{"text", topicText(topic, i)}})
                             .toJson(QJsonDocument::Compact)
                         + "\n");
    }
    corpus.close();
    moin::ImportOptions import;
    import.chunkTokens = 512; // one chunk per document
    const auto report =
        moin::importCorpus(*m_workspace, {corpus.fileName().toStdString()}, import);
    QCOMPARE(report.chunksAdded, int64_t(32));

    moin::ClusterRunOptions cluster;
    cluster.kmeans.k = 2;
    cluster.embedder.dimensions = 8;
    cluster.layout.epochs = 30;
    QVERIFY(moin::runClustering(*m_workspace, cluster) > 0);
    for (const moin::ClusterInfo& info :
         moin::listClusters(*m_workspace, moin::activeClusterRun(*m_workspace)))
        QCOMPARE(info.size, int64_t(16)); // the two topics, one per cluster
}

void TestTrainingView::modelUpdatesRowsInPlace()
{
    constexpr int kRows = 5000;
    std::vector<moin::ClusterInfo> clusters(kRows);
    std::vector<moin::TrainingJob> jobs(kRows);
    for (int i = 0; i < kRows; ++i) {
        clusters[size_t(i)].cluster = kRows - 1 - i; // rows come in cluster order regardless
        clusters[size_t(i)].size = 10 + i;
        clusters[size_t(i)].keywords = {"alpha", "beta", "gamma", "delta", "epsilon"};
        moin::TrainingJob& job = jobs[size_t(i)];
        job.id = i + 1;
        job.cluster = i;
        job.totalSteps = 100;
        job.loss = job.heldOutLoss = job.tokensPerSecond = NAN;
        job.basePerplexity = job.expertPerplexity = NAN;
    }
    JobTableModel model;
    model.setClusters(7, clusters);
    QCOMPARE(model.rowCount(), kRows);
    QCOMPARE(model.index(3, JobTableModel::ExpertColumn).data(JobTableModel::ClusterRole), 3);
    QCOMPARE(model.index(3, JobTableModel::StateColumn).data().toString(),
             QString("Not trained"));
    QCOMPARE(model.updateJobs(jobs), kRows);
    QCOMPARE(model.jobCount(), kRows);

    QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    jobs[10].step = 5;
    jobs[11].step = 6;
    jobs[11].loss = 2.5;
    jobs[4000].state = JobState::Running;
    jobs[4000].tokensPerSecond = 1000;
    jobs[4000].spec.batchSize = 2;
    jobs[4000].spec.sequenceLength = 50;
    QCOMPARE(model.updateJobs(jobs), 3);
    QCOMPARE(reset.size(), 0);
    QCOMPARE(inserted.size(), 0);
    QCOMPARE(changed.size(), 2); // rows 10-11 in one range, row 4000 alone
    QCOMPARE(changed.at(0).at(0).toModelIndex().row(), 10);
    QCOMPARE(changed.at(0).at(1).toModelIndex().row(), 11);
    QCOMPARE(changed.at(1).at(0).toModelIndex().row(), 4000);
    QCOMPARE(changed.at(1).at(1).toModelIndex().row(), 4000);
    QCOMPARE(changed.at(1).at(1).toModelIndex().column(), JobTableModel::ColumnCount - 1);

    // Nothing new: nothing announced.
    changed.clear();
    QCOMPARE(model.updateJobs(jobs), 0);
    QCOMPARE(changed.size(), 0);

    // What the cells say.
    QCOMPARE(model.index(10, JobTableModel::ProgressColumn).data().toString(),
             QString("5 / 100"));
    // Three decimals, in the user's locale ("2.500", "2,500").
    QCOMPARE(model.index(11, JobTableModel::LossColumn).data().toString(),
             QLocale().toString(2.5, 'f', 3));
    QVERIFY(model.index(10, JobTableModel::LossColumn).data().toString().isEmpty()); // NaN
    QCOMPARE(model.index(4000, JobTableModel::StateColumn).data().toString(),
             QString("Running"));
    // 100 steps left of 100 tokens at 1,000 tokens/s.
    QCOMPARE(model.index(4000, JobTableModel::EtaColumn).data().toString(), QString("10 s"));
    QVERIFY(model.index(4000, JobTableModel::ExpertColumn).data().toString().startsWith(
        "#4000  alpha, beta"));

    // A job that disappears empties its row; a job of an unknown cluster gets a row.
    jobs.erase(jobs.begin() + 20);
    moin::TrainingJob stray = jobs[0];
    stray.id = 99999;
    stray.cluster = 123456;
    jobs.push_back(stray);
    changed.clear();
    QCOMPARE(model.updateJobs(jobs), 2);
    QCOMPARE(changed.size(), 1);
    QCOMPARE(inserted.size(), 1);
    QCOMPARE(model.rowCount(), kRows + 1);
    QCOMPARE(model.index(20, 0).data(JobTableModel::JobIdRole).toLongLong(), qint64(0));
    QCOMPARE(model.rowOfCluster(123456), kRows);
}

void TestTrainingView::healthColumnsUpdateInPlace()
{
    std::vector<moin::ClusterInfo> clusters(4);
    std::vector<moin::ExpertHealth> health(4);
    for (int i = 0; i < 4; ++i) {
        clusters[size_t(i)].cluster = i;
        health[size_t(i)].cluster = i;
        health[size_t(i)].gain = health[size_t(i)].meanDistance = NAN;
    }
    health[1].gain = 0.25;
    health[1].chatQuestions = 3;
    health[1].apiQuestions = 4;
    health[1].meanDistance = 0.5;
    health[2].gain = -0.125;
    JobTableModel model;
    model.setClusters(3, clusters);
    QVERIFY(model.index(1, JobTableModel::GainColumn).data().toString().isEmpty()); // not read
    QCOMPARE(model.updateHealth(health), 4);
    QCOMPARE(model.index(1, JobTableModel::GainColumn).data().toString(),
             QStringLiteral("+%1 %").arg(QLocale().toString(25.0, 'f', 1)));
    QCOMPARE(model.index(2, JobTableModel::GainColumn).data().toString(),
             QStringLiteral("−%1 %").arg(QLocale().toString(12.5, 'f', 1)));
    QCOMPARE(model.index(2, JobTableModel::GainColumn).data(Qt::ForegroundRole).value<QColor>(),
             QColor(0xcf, 0x22, 0x2e));
    QVERIFY(model.index(0, JobTableModel::GainColumn).data().toString().isEmpty()); // no expert
    QCOMPARE(model.index(1, JobTableModel::QuestionsColumn).data().toString(), QString("7"));
    QCOMPARE(model.index(0, JobTableModel::QuestionsColumn).data().toString(), QString("0"));
    QVERIFY(model.index(1, JobTableModel::QuestionsColumn)
                .data(Qt::ToolTipRole)
                .toString()
                .contains("3 from chat, 4 through the API"));
    QCOMPARE(model.index(1, JobTableModel::DistanceColumn).data().toString(),
             QLocale().toString(0.5, 'f', 3));
    QVERIFY(model.index(0, JobTableModel::DistanceColumn).data().toString().isEmpty());
    QCOMPARE(model.index(1, JobTableModel::GainColumn).data(JobTableModel::SortRole).toDouble(),
             0.25);
    QCOMPARE(model.index(1, JobTableModel::QuestionsColumn)
                 .data(JobTableModel::SortRole)
                 .toLongLong(),
             qint64(7));

    // One cluster gets a question: only its row's health columns are announced.
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    health[3].chatQuestions = 1;
    health[3].meanDistance = 0.75;
    QCOMPARE(model.updateHealth(health), 1);
    QCOMPARE(changed.size(), 1);
    QCOMPARE(changed.at(0).at(0).toModelIndex().row(), 3);
    QCOMPARE(changed.at(0).at(0).toModelIndex().column(), int(JobTableModel::GainColumn));
    QCOMPARE(changed.at(0).at(1).toModelIndex().column(), int(JobTableModel::DistanceColumn));
    QCOMPARE(model.updateHealth(health), 0);
    QCOMPARE(model.headerData(JobTableModel::GainColumn, Qt::Horizontal, Qt::DisplayRole)
                 .toString(),
             QString("Gain"));
}

void TestTrainingView::smoothingIsADebiasedMovingAverage()
{
    using moin::ui::LossCurvePanel;
    const std::vector<double> values = {4, 2, NAN, 3};
    // Reference: the weighted mean with weights w^(age), over the finite values so far.
    const std::vector<double> smoothed = LossCurvePanel::smooth(values, 0.5);
    QCOMPARE(smoothed.size(), size_t(4));
    QCOMPARE(smoothed[0], 4.0);
    QVERIFY(std::abs(smoothed[1] - (0.5 * 4 + 2) / 1.5) < 1e-12);
    QVERIFY(std::isnan(smoothed[2]));
    QVERIFY(std::abs(smoothed[3] - (0.25 * 4 + 0.5 * 2 + 3) / 1.75) < 1e-12);
    const std::vector<double> raw = LossCurvePanel::smooth(values, 0);
    QCOMPARE(raw[0], 4.0);
    QCOMPARE(raw[3], 3.0);
}

void TestTrainingView::emptyStates()
{
    TrainingView view;
    view.resize(1100, 700);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    QVERIFY(child<QWidget>(view, "noRunState")->isVisible()); // no workspace

    view.showWorkspace(*m_emptyWorkspace);
    QTRY_VERIFY_WITH_TIMEOUT(view.pollCount() > 0, 10000);
    QTRY_VERIFY(child<QWidget>(view, "noRunState")->isVisible());
    QVERIFY(!child<QPushButton>(view, "trainExpertsButton")->isEnabled());
    QSignalSpy mapRequested(&view, &TrainingView::clusterMapRequested);
    QTest::mouseClick(child<QPushButton>(view, "openClusterMapButton"), Qt::LeftButton);
    QCOMPARE(mapRequested.size(), 1);
    saveScreenshot(view, "training-no-run");

    view.showWorkspace(*m_workspace);
    QTRY_VERIFY_WITH_TIMEOUT(child<QWidget>(view, "noJobsState")->isVisible(), 10000);
    QCOMPARE(view.jobModel()->rowCount(), 2);
    QVERIFY(child<QPushButton>(view, "emptyTrainButton")->isVisible());
    QVERIFY(child<QPushButton>(view, "trainExpertsButton")->isEnabled());
    QVERIFY(child<QLabel>(view, "runLabel")->text().contains("2 clusters"));
    saveScreenshot(view, "training-no-jobs");

    view.clear();
    QVERIFY(child<QWidget>(view, "noRunState")->isVisible());
    QCOMPARE(view.jobModel()->rowCount(), 0);
}

void TestTrainingView::formExplainsAndChecksEveryField()
{
    TrainingForm form(1, {{0, 10, "a, b", false, false}, {1, 12, "c, d", false, false}}, {});
    // Every field says what it is for.
    int fields = 0;
    for (QWidget* widget : form.findChildren<QWidget*>()) {
        const bool input = qobject_cast<QAbstractSpinBox*>(widget)
                           || qobject_cast<QComboBox*>(widget)
                           || qobject_cast<QAbstractButton*>(widget);
        if (!input || qobject_cast<QPushButton*>(widget))
            continue;
        ++fields;
        QVERIFY2(!widget->toolTip().isEmpty(), qPrintable(widget->objectName()));
    }
    QVERIFY2(fields >= 30, qPrintable(QString::number(fields)));

    // A preset fills every field; a change makes the settings custom.
    auto* preset = child<QComboBox>(form, "preset");
    const int thorough = preset->findData("thorough");
    preset->setCurrentIndex(thorough);
    emit preset->activated(thorough);
    const moin::TrainingSpec expected = moin::TrainingSpec::preset("thorough");
    QCOMPARE(child<QSpinBox>(form, "rank")->value(), expected.lora.rank);
    QCOMPARE(child<QSpinBox>(form, "steps")->value(), int(expected.steps));
    QCOMPARE(child<QSpinBox>(form, "gradientAccumulation")->value(),
             expected.gradientAccumulation);
    QCOMPARE(form.spec().toJson(), [&] {
        moin::TrainingSpec s = expected;
        s.runId = 1;
        s.seed = form.spec().seed;
        s.device = form.spec().device;
        return s.toJson();
    }());
    QCOMPARE(preset->currentData().toString(), QString("thorough"));
    child<QSpinBox>(form, "rank")->setValue(12);
    QCOMPARE(preset->currentData().toString(), QString()); // Custom
    QVERIFY(form.validationError().isEmpty());

    // Errors of TrainingSpec::validate() are shown inline and keep OK disabled.
    auto* message = child<QLabel>(form, "trainingFormMessage");
    auto* ok = child<QPushButton>(form, "trainingFormOk");
    QVERIFY(ok->isEnabled());
    auto* lr = child<QDoubleSpinBox>(form, "learningRate");
    child<QDoubleSpinBox>(form, "minLearningRate")->setValue(lr->value() * 2);
    QVERIFY2(message->text().contains("minimum learning rate", Qt::CaseInsensitive),
             qPrintable(message->text()));
    QVERIFY(!ok->isEnabled());
    child<QDoubleSpinBox>(form, "minLearningRate")->setValue(lr->value() / 10);
    QVERIFY(message->text().isEmpty());
    QVERIFY(ok->isEnabled());
    for (QCheckBox* module : form.findChildren<QCheckBox*>()) {
        if (module->objectName().startsWith("module_"))
            module->setChecked(false);
    }
    QVERIFY2(message->text().contains("target module"), qPrintable(message->text()));
    QVERIFY(!ok->isEnabled());
    child<QCheckBox>(form, "module_q_proj")->setChecked(true);
    QVERIFY(ok->isEnabled());

    // The learning rate reads and steps like 3e-4: a short decimal in the user's locale.
    lr->setValue(3e-4);
    QCOMPARE(lr->text(), QLocale().toString(0.0003));
    lr->stepBy(1);
    QCOMPARE(lr->value(), 5e-4);
    lr->stepBy(-2);
    QCOMPARE(lr->value(), 1e-4);
    lr->setValue(3e-4);
    lr->stepBy(-1);
    QCOMPARE(lr->value(), 2e-4);

    // A token budget sets the steps.
    child<QRadioButton>(form, "lengthByTokens")->setChecked(true);
    child<QDoubleSpinBox>(form, "tokenBudget")->setValue(1'000'000);
    QCOMPARE(form.spec().tokenBudget, int64_t(1'000'000));
    QVERIFY(child<QLabel>(form, "totalSteps")->text().contains(
        QLocale().toString(qint64(form.spec().totalSteps()))));
    form.show();
    QVERIFY(QTest::qWaitForWindowExposed(&form));
    saveScreenshot(form, "training-form");
}

void TestTrainingView::formChoosesClusters()
{
    const std::vector<ClusterChoice> clusters = {
        {0, 10, "a", false, false}, // trainable
        {1, 10, "b", true, false},  // has a job in the queue
        {2, 1, "c", false, false},  // too small
        {3, 10, "d", false, true},  // trained already
        {4, 10, "e", false, false}, // trainable
    };
    TrainingForm form(5, clusters, {3, 4});
    QCOMPARE(form.scope(), TrainingForm::Scope::Selected); // the table's selection first
    QCOMPARE(form.chosenClusters(), (std::vector<int>{3, 4}));
    form.setScope(TrainingForm::Scope::Untrained);
    QCOMPARE(form.chosenClusters(), (std::vector<int>{0, 4}));
    form.setScope(TrainingForm::Scope::All);
    QCOMPARE(form.chosenClusters(), (std::vector<int>{0, 3, 4}));
    const std::vector<moin::TrainingSpec> specs = form.specs();
    QCOMPARE(specs.size(), size_t(3));
    QCOMPARE(specs[1].cluster, 3);
    QCOMPARE(specs[1].runId, int64_t(5));
    const QString summary = child<QLabel>(form, "scopeSummary")->text();
    QVERIFY2(summary.contains("3 jobs") && summary.contains("1 already has a job")
                 && summary.contains("fewer than 2 chunks"),
             qPrintable(summary));
    QCOMPARE(child<QPushButton>(form, "trainingFormOk")->text(), QString("Add 3 jobs"));
}

void TestTrainingView::formRemembersWhereJobsRun()
{
    {
        TrainingForm form(1, {{0, 10, "a, b", false, false}}, {});
        QVERIFY(form.backend() == moin::TrainingBackend::Local);
        // Slurm's settings show only when the jobs go to Slurm; the workers count only when not.
        QVERIFY(child<QWidget>(form, "workers")->isVisibleTo(&form));
        QVERIFY(!child<QWidget>(form, "slurmPartition")->isVisibleTo(&form));
        auto* backend = child<QComboBox>(form, "backend");
        backend->setCurrentIndex(backend->findData("slurm"));
        QVERIFY(form.backend() == moin::TrainingBackend::Slurm);
        QVERIFY(!child<QWidget>(form, "workers")->isVisibleTo(&form));
        for (const char* name : {"slurmPartition", "slurmAccount", "slurmTime", "slurmGres",
                                 "slurmCpus", "slurmMemory", "slurmMaxConcurrent"})
            QVERIFY2(child<QWidget>(form, name)->isVisibleTo(&form), name);
        child<QLineEdit>(form, "slurmPartition")->setText(" gpu ");
        child<QLineEdit>(form, "slurmAccount")->setText("lab");
        child<QLineEdit>(form, "slurmTime")->setText("2:00:00");
        child<QLineEdit>(form, "slurmGres")->setText("gpu:1");
        child<QSpinBox>(form, "slurmCpus")->setValue(4);
        child<QLineEdit>(form, "slurmMemory")->setText("8G");
        child<QSpinBox>(form, "slurmMaxConcurrent")->setValue(16);
        form.show();
        QVERIFY(QTest::qWaitForWindowExposed(&form));
        saveScreenshot(form, "training-form-slurm");
        QSignalSpy submitted(&form, &TrainingForm::submitted);
        form.accept();
        QCOMPARE(submitted.count(), 1);
    }
    // Remembered for the next form and for Start training (the coordinator's options).
    QVERIFY(TrainingForm::lastBackend() == moin::TrainingBackend::Slurm);
    const moin::SlurmOptions slurm = TrainingForm::lastSlurmOptions();
    QCOMPARE(slurm.partition, std::string("gpu"));
    QCOMPARE(slurm.account, std::string("lab"));
    QCOMPARE(slurm.timeLimit, std::string("2:00:00"));
    QCOMPARE(slurm.gres, std::string("gpu:1"));
    QCOMPARE(slurm.cpusPerTask, 4);
    QCOMPARE(slurm.memory, std::string("8G"));
    QCOMPARE(slurm.maxConcurrent, 16);
    {
        // The view's Workers box gives way to the form's "Jobs at once" on a cluster.
        TrainingView view;
        QVERIFY(!child<QWidget>(view, "workersSpin")->isVisibleTo(&view));
    }
    TrainingForm again(1, {{0, 10, "a, b", false, false}}, {});
    QVERIFY(again.backend() == moin::TrainingBackend::Slurm);
    QCOMPARE(again.slurmOptions().gres, std::string("gpu:1"));
    again.setBackend(moin::TrainingBackend::Local);
    again.accept();
    QVERIFY(TrainingForm::lastBackend() == moin::TrainingBackend::Local);
    TrainingView view;
    QVERIFY(child<QWidget>(view, "workersSpin")->isVisibleTo(&view));
}

void TestTrainingView::trainThroughTheForm()
{
    TrainingView view;
    view.setWorkerExecutable(QStringLiteral(MOIN_CLI_PATH));
    view.resize(1180, 760);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.showWorkspace(*m_workspace);
    QTRY_VERIFY_WITH_TIMEOUT(child<QWidget>(view, "noJobsState")->isVisible(), 10000);

    // The big button opens the form; fill it with a tiny job for both clusters.
    QTest::mouseClick(child<QPushButton>(view, "emptyTrainButton"), Qt::LeftButton);
    QPointer<TrainingForm> form = view.findChild<TrainingForm*>();
    QVERIFY(form);
    QTRY_VERIFY(form->isVisible());
    auto* preset = child<QComboBox>(*form, "preset");
    const int quick = preset->findData("quick");
    preset->setCurrentIndex(quick);
    emit preset->activated(quick);
    child<QRadioButton>(*form, "scopeAll")->setChecked(true);
    child<QRadioButton>(*form, "lengthBySteps")->setChecked(true);
    child<QSpinBox>(*form, "steps")->setValue(6);
    child<QSpinBox>(*form, "batchSize")->setValue(2);
    child<QSpinBox>(*form, "sequenceLength")->setValue(32);
    child<QSpinBox>(*form, "warmupSteps")->setValue(2);
    child<QSpinBox>(*form, "evalEvery")->setValue(3);
    child<QSpinBox>(*form, "checkpointEvery")->setValue(3);
    child<QComboBox>(*form, "device")->setCurrentIndex(
        child<QComboBox>(*form, "device")->findData("cpu"));
    child<QSpinBox>(*form, "workers")->setValue(2);
    child<QCheckBox>(*form, "startNow")->setChecked(false);
    QVERIFY2(form->validationError().isEmpty(), qPrintable(form->validationError()));
    QCOMPARE(form->specs().size(), size_t(2));
    QTest::mouseClick(child<QPushButton>(*form, "trainingFormOk"), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(!form, 20000); // closed (and deleted) once the jobs are added
    QTRY_COMPARE_WITH_TIMEOUT(view.jobModel()->jobCount(), 2, 10000);
    QTRY_VERIFY(child<QWidget>(view, "trainingContent")->isVisible());
    QCOMPARE(view.workers(), 2);
    for (int row = 0; row < 2; ++row)
        QCOMPARE(stateOf(view, row), int(JobState::Queued));
    const moin::TrainingJob queued = moin::TrainingQueue(*m_workspace).job(
        view.jobModel()->index(0, 0).data(JobTableModel::JobIdRole).toLongLong());
    QCOMPARE(queued.spec.steps, int64_t(6));
    QCOMPARE(queued.spec.batchSize, 2);
    QCOMPARE(queued.spec.sequenceLength, 32);
    QCOMPARE(queued.spec.checkpointEvery, int64_t(3));

    // Pause and resume a queued job through the buttons acting on the selection.
    QTableView* table = view.jobTable();
    table->selectRow(0);
    const qint64 firstJob = table->model()->index(0, 0).data(JobTableModel::JobIdRole)
                                .toLongLong();
    const int firstRow = view.jobModel()->rowOfCluster(
        table->model()->index(0, 0).data(JobTableModel::ClusterRole).toInt());
    auto* pause = child<QAction>(view, "pauseAction");
    QVERIFY(pause->isEnabled());
    QVERIFY(!child<QAction>(view, "resumeAction")->isEnabled());
    pause->trigger();
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(view, firstRow), int(JobState::Paused), 10000);
    QVERIFY(moin::TrainingQueue(*m_workspace).job(firstJob).state == JobState::Paused);
    QTRY_VERIFY(child<QAction>(view, "resumeAction")->isEnabled());
    QVERIFY(!pause->isEnabled());
    child<QAction>(view, "resumeAction")->trigger();
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(view, firstRow), int(JobState::Queued), 10000);

    // To the back of the queue: the other job is first now.
    child<QAction>(view, "moveToBackAction")->trigger();
    QTRY_COMPARE_WITH_TIMEOUT(
        moin::TrainingQueue(*m_workspace).list(JobState::Queued).back().id, int64_t(firstJob),
        10000);
    child<QAction>(view, "moveToFrontAction")->trigger();
    QTRY_COMPARE_WITH_TIMEOUT(
        moin::TrainingQueue(*m_workspace).list(JobState::Queued).front().id, int64_t(firstJob),
        10000);

    // Start: the button turns into Stop until the queue is empty.
    QSignalSpy trainingChanged(&view, &TrainingView::trainingChanged);
    auto* start = child<QPushButton>(view, "startTrainingButton");
    QCOMPARE(start->text(), QString("Start training"));
    QTest::mouseClick(start, Qt::LeftButton);
    QVERIFY(view.isTraining());
    QCOMPARE(start->text(), QString("Stop"));
    QTRY_VERIFY_WITH_TIMEOUT(allDone(view), 240000);
    QTRY_VERIFY_WITH_TIMEOUT(!view.isTraining(), 60000);
    QCOMPARE(start->text(), QString("Start training"));
    QCOMPARE(trainingChanged.size(), 2);
    QVERIFY2(!child<QLabel>(view, "trainingStatus")->text().contains("error"),
             qPrintable(child<QLabel>(view, "trainingStatus")->text()));

    // Every row has its losses and perplexities; the totals count both jobs.
    for (int row = 0; row < 2; ++row) {
        for (int column : {JobTableModel::LossColumn, JobTableModel::HeldOutColumn,
                           JobTableModel::BasePplColumn, JobTableModel::ExpertPplColumn}) {
            const QString text = cell(view, row, column);
            QVERIFY2(!text.isEmpty(),
                     qPrintable(QString("row %1 column %2").arg(row).arg(column)));
            QVERIFY2(QLocale().toDouble(text.section(' ', 0, 0)) > 0, qPrintable(text));
        }
        QCOMPARE(cell(view, row, JobTableModel::ProgressColumn), QString("6 / 6"));
        QCOMPARE(cell(view, row, JobTableModel::StateColumn), QString("Done"));
    }
    QTRY_COMPARE(child<QLabel>(view, "doneTotal")->text(), QString("2"));
    QCOMPARE(child<QLabel>(view, "runningTotal")->text(), QString("0"));
    QVERIFY(child<QLabel>(view, "tokensTrainedTotal")->text() != "0");

    // The selected job's curve: training loss at every step, held-out loss at steps 3 and 6.
    table->clearSelection();
    table->selectRow(1);
    const qint64 secondJob = table->model()->index(1, 0).data(JobTableModel::JobIdRole)
                                 .toLongLong();
    QTRY_COMPARE_WITH_TIMEOUT(view.curves()->pointCount(secondJob), 6, 10000);
    QCOMPARE(view.curves()->jobIds(), std::vector<qint64>{secondJob});
    QCustomPlot* plot = view.curves()->plot();
    int withPoints = 0;
    int heldOutPoints = 0;
    for (int i = 0; i < plot->graphCount(); ++i) {
        withPoints += plot->graph(i)->dataCount() > 0 ? 1 : 0;
        if (plot->graph(i)->scatterStyle().shape() == QCPScatterStyle::ssCircle
            && plot->graph(i)->dataCount() > 0)
            heldOutPoints = plot->graph(i)->dataCount();
    }
    QVERIFY(withPoints >= 2);
    QCOMPARE(heldOutPoints, 2);

    // Both selected: two curves, exported as CSV with a header and one row per point.
    table->selectAll();
    QTRY_COMPARE_WITH_TIMEOUT(view.curves()->pointCount(firstJob), 6, 10000);
    QCOMPARE(view.curves()->jobIds().size(), size_t(2));
    const QString csvPath = m_tmp.filePath("curves.csv");
    QString error;
    QVERIFY2(view.curves()->exportCsv(csvPath, &error), qPrintable(error));
    QFile csv(csvPath);
    QVERIFY(csv.open(QIODevice::ReadOnly));
    const QList<QByteArray> lines = csv.readAll().trimmed().split('\n');
    QCOMPARE(lines.size(), 13);
    QVERIFY(lines[0].startsWith("job_id,cluster,step,seconds,loss,smoothed_loss,held_out_loss"));
    QVERIFY2(view.curves()->exportPng(m_tmp.filePath("curves.png"), &error), qPrintable(error));
    QVERIFY(QImage(m_tmp.filePath("curves.png")).width() > 100);
    child<QCheckBox>(view, "logScale")->setChecked(true);
    QCOMPARE(plot->yAxis->scaleType(), QCPAxis::stLogarithmic);
    child<QCheckBox>(view, "logScale")->setChecked(false);

    // Expert health: questions recorded through the conversation store reach the gain,
    // questions and distance columns, which sit beside the perplexities.
    testsupport::recordRoutedAnswer(*m_workspace, 0, 0.25, "app");
    testsupport::recordRoutedAnswer(*m_workspace, 0, 0.75, "api");
    testsupport::recordRoutedAnswer(*m_workspace, 1, 0.5, "app");
    view.refresh();
    const int row0 = view.jobModel()->rowOfCluster(0);
    const int row1 = view.jobModel()->rowOfCluster(1);
    QTRY_COMPARE_WITH_TIMEOUT(cell(view, row0, JobTableModel::QuestionsColumn), QString("2"),
                              10000);
    QCOMPARE(cell(view, row1, JobTableModel::QuestionsColumn), QString("1"));
    QCOMPARE(cell(view, row0, JobTableModel::DistanceColumn), QLocale().toString(0.5, 'f', 3));
    QCOMPARE(cell(view, row1, JobTableModel::DistanceColumn), QLocale().toString(0.5, 'f', 3));
    for (int row : {row0, row1}) {
        const moin::TrainingJob job = moin::TrainingQueue(*m_workspace).job(
            view.jobModel()->index(row, 0).data(JobTableModel::JobIdRole).toLongLong());
        const double gain = 1 - job.expertPerplexity / job.basePerplexity;
        const double shown = view.jobModel()
                                 ->index(row, JobTableModel::GainColumn)
                                 .data(JobTableModel::SortRole)
                                 .toDouble();
        QVERIFY2(std::abs(shown - gain) < 1e-9, qPrintable(QString::number(shown)));
        QCOMPARE(cell(view, row, JobTableModel::GainColumn), JobTableModel::gainText(gain));
    }
    QHeaderView* header = table->horizontalHeader();
    QCOMPARE(header->visualIndex(JobTableModel::GainColumn),
             header->visualIndex(JobTableModel::ExpertPplColumn) + 1);
    QCOMPARE(header->visualIndex(JobTableModel::QuestionsColumn),
             header->visualIndex(JobTableModel::GainColumn) + 1);
    QCOMPARE(header->visualIndex(JobTableModel::DistanceColumn),
             header->visualIndex(JobTableModel::QuestionsColumn) + 1);
    for (int column : {JobTableModel::GainColumn, JobTableModel::QuestionsColumn,
                       JobTableModel::DistanceColumn})
        QVERIFY(!table->isColumnHidden(column));
    saveScreenshot(view, "training");

    // Done jobs cannot be paused; they can be trained again through the form.
    QVERIFY(!child<QAction>(view, "pauseAction")->isEnabled());
    QVERIFY(!child<QAction>(view, "retryAction")->isEnabled());
}

void TestTrainingView::stopQueuesRunningJobsAgain()
{
    // A long job for cluster 0 (trained before: a new job retrains it).
    moin::TrainingSpec spec = moin::TrainingSpec::preset("quick");
    spec.runId = moin::activeClusterRun(*m_workspace);
    spec.cluster = 0;
    spec.steps = 100000;
    spec.batchSize = 2;
    spec.sequenceLength = 32;
    spec.checkpointEvery = 5;
    spec.evalEvery = 1000;
    spec.device = "cpu";
    const int64_t id = moin::TrainingQueue(*m_workspace).enqueue({spec}).front();

    TrainingView view;
    view.setWorkerExecutable(QStringLiteral(MOIN_CLI_PATH));
    view.setWorkers(1);
    view.resize(1180, 760);
    view.show();
    view.showWorkspace(*m_workspace);
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(view, view.jobModel()->rowOfCluster(0)),
                              int(JobState::Queued), 10000);
    QVERIFY(view.startTraining());
    QVERIFY(!view.startTraining()); // once
    const int row = view.jobModel()->rowOfCluster(0);
    QTRY_VERIFY_WITH_TIMEOUT(stateOf(view, row) == int(JobState::Running)
                                 && view.jobModel()->row(row).job->step >= 10,
                             120000);
    // Nothing selected: the running job's curve is drawn.
    QTRY_VERIFY_WITH_TIMEOUT(view.curves()->pointCount(id) > 0, 10000);
    QCOMPARE(cell(view, row, JobTableModel::StateColumn), QString("Running"));
    QVERIFY(!cell(view, row, JobTableModel::EtaColumn).isEmpty());

    auto* button = child<QPushButton>(view, "startTrainingButton");
    QCOMPARE(button->text(), QString("Stop"));
    QTest::mouseClick(button, Qt::LeftButton);
    QCOMPARE(button->text(), QString("Stopping…"));
    QVERIFY(!button->isEnabled());
    QTRY_VERIFY_WITH_TIMEOUT(!view.isTraining(), 60000);
    QCOMPARE(button->text(), QString("Start training"));
    const moin::TrainingJob stopped = moin::TrainingQueue(*m_workspace).job(id);
    QVERIFY2(stopped.state == JobState::Queued, moin::toString(stopped.state).c_str());
    QVERIFY(stopped.step >= 10);
    QVERIFY(child<QLabel>(view, "trainingStatus")->text().startsWith("Training stopped."));
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(view, row), int(JobState::Queued), 10000);

    // "Cancel all jobs…" asks first; No keeps the job, Yes cancels it.
    child<QAction>(view, "cancelAllAction")->trigger();
    QPointer<QMessageBox> box = view.findChild<QMessageBox*>("cancelAllBox");
    QVERIFY(box);
    QTest::mouseClick(box->button(QMessageBox::No), Qt::LeftButton);
    QTRY_VERIFY(!box);
    // The store thread runs queue changes and polls in the order they were asked for: a poll
    // asked for after the click answers after any change the click made. Two answers since
    // then include one (a poll in flight at refresh() may predate the click).
    const int polls = view.pollCount();
    view.refresh();
    QTRY_VERIFY_WITH_TIMEOUT(view.pollCount() >= polls + 2, 10000);
    QCOMPARE(stateOf(view, row), int(JobState::Queued));
    QVERIFY(moin::TrainingQueue(*m_workspace).job(id).state == JobState::Queued);
    child<QAction>(view, "cancelAllAction")->trigger();
    box = view.findChild<QMessageBox*>("cancelAllBox");
    QVERIFY(box);
    QTest::mouseClick(box->button(QMessageBox::Yes), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(view, row), int(JobState::Cancelled), 10000);
    QVERIFY(moin::TrainingQueue(*m_workspace).job(id).state == JobState::Cancelled);
    view.jobTable()->selectRow(0); // sorted by cluster: cluster 0
    QCOMPARE(view.jobTable()->model()->index(0, 0).data(JobTableModel::ClusterRole).toInt(), 0);
    QVERIFY(child<QAction>(view, "retryAction")->isEnabled());
}

// The Specialisation tab on three tiny experts: the heatmap's cells are the relative
// reductions the core computes, the diagonal is outlined, the margin column holds the margins
// and marks the negative ones (here and on the cluster map), and Compute runs off the UI
// thread and can be cancelled.
void TestTrainingView::specialisationTab()
{
    using moin::ui::SpecialisationPanel;
    const testsupport::TopicWorkspace topics =
        testsupport::makeTopicWorkspace(m_tmp.filePath("specialisation"));
    testsupport::trainTinyExperts(topics.directory, topics.runId, {0, 1, 2});
    moin::Workspace workspace = moin::Workspace::open(topics.directory.toStdString());

    TrainingView view;
    view.setWorkerExecutable(QStringLiteral(MOIN_CLI_PATH));
    view.resize(1180, 760);
    view.show();
    view.showWorkspace(workspace);
    QTRY_COMPARE_WITH_TIMEOUT(view.jobModel()->rowCount(), 3, 10000);
    view.tabs()->setCurrentWidget(view.specialisation());
    SpecialisationPanel* panel = view.specialisation();
    auto* compute = child<QPushButton>(*panel, "computeSpecialisation");
    auto* cancel = child<QPushButton>(*panel, "cancelSpecialisation");
    // Nothing stored yet: the read-back finds every cell missing.
    QTRY_VERIFY_WITH_TIMEOUT(panel->result() && !panel->isComputing(), 10000);
    QVERIFY(panel->result()->error.isEmpty());
    QCOMPARE(panel->result()->matrix.missingCells, 12);
    QCOMPARE(compute->text(), QString("Compute"));

    // Compute, then cancel at once: it stops before the first perplexity is in.
    QSignalSpy finished(panel, &SpecialisationPanel::finished);
    QTest::mouseClick(compute, Qt::LeftButton);
    // A read-back still running (the tab's own, when shown) finishes first: the panel starts
    // the computation right after it, never both at once.
    QTRY_VERIFY_WITH_TIMEOUT(panel->isComputing(), 10000);
    QVERIFY(!compute->isEnabled());
    QVERIFY(cancel->isVisibleTo(panel) && cancel->isEnabled());
    QTest::mouseClick(cancel, Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, 60000);
    QCOMPARE(finished[0][0].toBool(), true);
    QVERIFY(!panel->isComputing());
    QVERIFY(compute->isEnabled());
    QVERIFY(!cancel->isVisibleTo(panel));
    QVERIFY(panel->result()->matrix.cancelled);
    QVERIFY(panel->result()->thread != QCoreApplication::instance()->thread());

    // Compute to the end, off the UI thread, with progress.
    QSignalSpy progressed(panel, &SpecialisationPanel::progressed);
    QTest::mouseClick(compute, Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 2, 120000);
    QCOMPARE(finished[1][0].toBool(), false);
    QCOMPARE(finished[1][1].toString(), QString());
    QVERIFY(progressed.size() >= 1);
    QCOMPARE(progressed.last()[0].toInt(), progressed.last()[1].toInt());
    const moin::ui::SpecialisationResult* result = panel->result();
    QVERIFY(result->thread != QCoreApplication::instance()->thread());
    QVERIFY(result->matrix.complete());
    QCOMPARE(compute->text(), QString("Refresh"));

    // The heatmap's cells are the core's relative reductions, in the panel's order.
    moin::SpecialisationOptions readOnly;
    readOnly.compute = false;
    const moin::SpecialisationMatrix core = moin::computeSpecialisation(workspace, readOnly);
    QVERIFY(core.complete());
    QCOMPARE(result->order.size(), size_t(3));
    QCOMPARE(result->rows, result->order); // an expert per cluster: the same order
    QCPColorMapData* data = panel->colourMap()->data();
    QCOMPARE(data->keySize(), 3);
    QCOMPARE(data->valueSize(), 3);
    auto row = [&](int expert) {
        return *std::find_if(core.experts.begin(), core.experts.end(),
                             [&](const auto& e) { return e.expert == expert; });
    };
    for (int r = 0; r < 3; ++r) {
        for (int c = 0; c < 3; ++c) {
            const int expert = result->rows[size_t(r)], cluster = result->order[size_t(c)];
            const double expected = moin::relativeReduction(core.basePerplexity.at(cluster),
                                                            row(expert).perplexity.at(cluster));
            QVERIFY(std::abs(data->cell(c, r) - expected) < 1e-9);
            QVERIFY(panel->cellToolTip(expert, cluster)
                        .contains(QLocale().toString(row(expert).perplexity.at(cluster), 'f', 2)));
        }
        // Outlined: the expert's own cell.
        auto* outline = panel->plot()->findChild<QCPItemRect*>(
            QStringLiteral("diagonal%1").arg(result->rows[size_t(r)]));
        QVERIFY(outline);
        QCOMPARE(outline->topLeft->coords(), QPointF(r - 0.5, r - 0.5));
    }
    // Centred at zero: white means no change.
    const QCPRange range = panel->colourMap()->dataRange();
    QVERIFY(std::abs(range.lower + range.upper) < 1e-12);

    // Expert 0 made to help cluster 1 far more than the base does: its margin turns negative.
    workspace.database()
        .prepare("UPDATE specialisation_cells SET perplexity = 1.01 WHERE run_id = ? AND "
                 "expert = 0 AND cluster = 1")
        .bind(1, topics.runId)
        .run();
    panel->reload();
    QTRY_VERIFY_WITH_TIMEOUT(!panel->isComputing() && panel->result() != result, 10000);
    const moin::SpecialisationMatrix marked = moin::computeSpecialisation(workspace, readOnly);
    QVERIFY(row(0).margin != marked.experts[0].margin && marked.experts[0].margin < 0);
    QTableWidget* table = panel->marginTable();
    QCOMPARE(table->rowCount(), 3);
    for (int r = 0; r < table->rowCount(); ++r) {
        const int expert = table->item(r, 0)->data(Qt::UserRole).toInt();
        const double margin = [&] {
            for (const auto& e : marked.experts)
                if (e.expert == expert)
                    return e.margin;
            return std::nan("");
        }();
        QTableWidgetItem* marginItem = table->item(r, 3);
        QVERIFY(std::abs(marginItem->data(Qt::UserRole + 1).toDouble() - margin) < 1e-12);
        QCOMPARE(marginItem->data(Qt::UserRole).toBool(), margin < 0);
        QCOMPARE(table->item(r, 0)->icon().isNull(), !(margin < 0));
    }
    auto* advice = child<QLabel>(*panel, "specialisationAdvice");
    QVERIFY2(advice->text().contains("Expert 0"), qPrintable(advice->text()));
    saveScreenshot(view, "specialisation");

    // The cluster map marks expert 0's label, and only it.
    moin::ui::ClusterMapView map;
    map.resize(900, 600);
    map.show();
    map.showWorkspace(workspace);
    QTRY_VERIFY_WITH_TIMEOUT(map.labels().size() == 3, 20000);
    for (QCPItemText* label : map.labels()) {
        const bool marked0 = label->objectName() == "clusterLabel0";
        QCOMPARE(label->text().contains(QChar(0x26A0)), marked0);
    }
}

QTEST_MAIN(TestTrainingView)
#include "tst_trainingview.moc"
