#pragma once
// The "Experts & training" view: the queue of expert training jobs of the active clustering
// run, their live progress and loss curves, and the coordinator that runs them.
#include "moin/cancel.h"
#include "trainingbackend.h"

#include <QPointer>
#include <QThread>
#include <QWidget>

#include <vector>

class QAction;
class QLabel;
class QPushButton;
class QSortFilterProxyModel;
class QSpinBox;
class QStackedWidget;
class QTabWidget;
class QTableView;
class QTimer;
class QToolButton;

namespace moin::ui {

class JobTableModel;
class LossCurvePanel;
class SpecialisationPanel;
class TrainingForm;

/// Shows the experts of the open workspace's active run: totals, one row per cluster with its
/// newest job (state, progress, losses, perplexities, speed, ETA), queue actions on the
/// selected rows, the hyperparameter form, and the loss curves of the selected jobs.
///
/// Nothing here touches the database on the UI thread: a store on its own thread polls the
/// queue every second (and after every change), and the coordinator runs on another thread
/// with its own connection, starting `moin train-worker` processes. Closing the view (or the
/// app) stops the coordinator: its workers stop at a checkpoint and their jobs are queued
/// again.
class TrainingView : public QWidget {
    Q_OBJECT
public:
    explicit TrainingView(QWidget* parent = nullptr);
    /// Stops a running coordinator and waits for it (its workers get to write a checkpoint).
    ~TrainingView() override;

    /// Shows the workspace in `directory`'s folder (the view opens its own connections).
    void showWorkspace(Workspace& workspace);
    /// Forgets the workspace; a running coordinator is asked to stop.
    void clear();
    /// Polls the queue now (otherwise it is polled every second).
    void refresh();

    /// The `moin` executable that provides `train-worker`; default: `moin` beside the app.
    void setWorkerExecutable(const QString& path) { m_workerExecutable = path; }
    QString workerExecutable() const;
    /// Workers the coordinator runs at once.
    void setWorkers(int workers);
    int workers() const;

    /// Starts the coordinator on the queued jobs; false (with the reason shown) if no workspace
    /// is shown or it runs already.
    bool startTraining();
    /// Asks the coordinator to stop (workers stop at a checkpoint; jobs are queued again).
    void stopTraining();
    bool isTraining() const { return m_training; }

    /// Opens the hyperparameter form for the active run (the selected clusters preselected).
    TrainingForm* openTrainingForm();

    JobTableModel* jobModel() const { return m_model; }
    QTableView* jobTable() const { return m_table; }
    LossCurvePanel* curves() const { return m_curves; }
    /// The "Specialisation" tab: the expert x cluster matrix.
    SpecialisationPanel* specialisation() const { return m_specialisation; }
    QTabWidget* tabs() const { return m_tabs; }
    /// Polls answered so far (for tests).
    int pollCount() const { return m_pollCount; }

signals:
    /// The user asked for the Cluster map (to make a clustering run).
    void clusterMapRequested();
    /// The coordinator started or stopped.
    void trainingChanged(bool running);
    /// New specialisation margins are known (the cluster map marks negative ones).
    void specialisationChanged();

protected:
    void showEvent(QShowEvent* event) override;

private:
    QWidget* buildHeader();
    QWidget* buildActions();
    QWidget* buildNoRunState();
    QWidget* buildNoJobsState();
    QWidget* buildContent();
    void poll();
    void onPolled(const moin::ui::TrainingSnapshot& snapshot);
    void onActed(int action, qint64 changed, const QString& error);
    void onEnqueued(qint64 added, const QStringList& problems);
    void onCoordinatorUpdate(const QStringList& events);
    void onCoordinatorFinished(const QString& error);
    void act(QueueAction action, bool all);
    std::vector<qint64> selectedJobIds() const;
    std::vector<int> selectedClusters() const;
    void updateActions();
    void updateCurves();
    void updateTotals(const QueueTotals& totals);
    void updateTrainButton();
    void updatePage();
    void showStatus(const QString& text, bool error = false);

    QString m_directory;
    QString m_workerExecutable;

    // The store and the coordinator live on their own threads; m_cancel is read by the
    // coordinator's thread, set here.
    QThread m_storeThread;
    TrainingStore* m_store = nullptr;
    QThread m_coordinatorThread;
    CoordinatorRunner* m_runner = nullptr;
    CancelToken m_cancel;
    bool m_training = false;
    bool m_stopping = false;

    bool m_pollInFlight = false;
    bool m_pollAgain = false;
    bool m_loaded = false; // a poll of the current workspace has answered
    int m_pollCount = 0;
    QTimer* m_pollTimer = nullptr;
    QPointer<TrainingForm> m_form;

    JobTableModel* m_model = nullptr;
    QSortFilterProxyModel* m_proxy = nullptr;

    QStackedWidget* m_stack = nullptr; // no run | no jobs | content
    QLabel* m_runLabel = nullptr;
    QLabel* m_running = nullptr;
    QLabel* m_queued = nullptr;
    QLabel* m_done = nullptr;
    QLabel* m_failed = nullptr;
    QLabel* m_tokens = nullptr;
    QLabel* m_throughput = nullptr;
    QPushButton* m_trainButton = nullptr;
    QSpinBox* m_workers = nullptr;
    QPushButton* m_formButton = nullptr;
    QLabel* m_status = nullptr;

    QAction* m_pause = nullptr;
    QAction* m_resume = nullptr;
    QAction* m_cancelJobs = nullptr;
    QAction* m_retry = nullptr;
    QAction* m_toFront = nullptr;
    QAction* m_toBack = nullptr;
    QAction* m_pauseAll = nullptr;
    QAction* m_resumeAll = nullptr;
    QAction* m_cancelAll = nullptr;
    QAction* m_retryAll = nullptr;
    QLabel* m_selectionLabel = nullptr;

    QTableView* m_table = nullptr;
    LossCurvePanel* m_curves = nullptr;
    QTabWidget* m_tabs = nullptr;
    SpecialisationPanel* m_specialisation = nullptr;
};

} // namespace moin::ui
