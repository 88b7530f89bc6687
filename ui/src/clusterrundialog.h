#pragma once
#include "moin/clustering.h"

#include <QDialog>
#include <QElapsedTimer>
#include <QFutureWatcher>

#include <memory>

class QCheckBox;
class QComboBox;
class QDialogButtonBox;
class QDoubleSpinBox;
class QFormLayout;
class QLabel;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTimer;
class QWidget;

namespace moin::ui {

struct ClusterRunState;

/// Asks for the settings of a new clustering run (embedder, method: k-means with k and the
/// balanced bound, or HDBSCAN with its minimum cluster size, minimum samples and the dimensions
/// UMAP reduces to; layout, seed),
/// then runs moin::runClustering on a worker thread with its own connection to the workspace,
/// showing the phase and how far it is, with Cancel. Starts from the settings used last
/// (QSettings). Closing the dialog while a run is going cancels it.
class ClusterRunDialog : public QDialog {
    Q_OBJECT
public:
    /// `directory`: the workspace; `chunks`: how many chunks it has (k's upper bound).
    ClusterRunDialog(const QString& directory, qint64 chunks, QWidget* parent = nullptr);
    /// Cancels a running run (it stops at its next check) without waiting for it.
    ~ClusterRunDialog() override;

    ClusterRunOptions options() const;
    void setOptions(const ClusterRunOptions& options);
    bool isRunning() const { return m_watcher.isRunning(); }

    /// Starts the run with options(); false (reason shown) if they are invalid or one runs.
    bool start();
    /// Asks the running run to stop; nothing is stored.
    void cancel();

    /// Human words for a phase that runClustering reports ("k-means" -> "Grouping chunks").
    static QString phaseText(const QString& phase);

    void accept() override;
    void reject() override;

signals:
    /// The run was stored as `runId`; the dialog then closes.
    void runFinished(qint64 runId);
    /// The run stopped without storing anything: cancelled (empty `error`) or failed.
    void runStopped(const QString& error);

private:
    void setRunning(bool running);
    void pollProgress();
    void onFinished();
    void updateEnabled();

    QString m_directory;
    qint64 m_chunks = 0;
    std::shared_ptr<ClusterRunState> m_state; // shared with the worker
    QFutureWatcher<qint64> m_watcher;
    QElapsedTimer m_elapsed;

    QWidget* m_form = nullptr;
    QFormLayout* m_formLayout = nullptr;
    QComboBox* m_embedder = nullptr;
    QComboBox* m_method = nullptr;
    QSpinBox* m_minClusterSize = nullptr;
    QSpinBox* m_minSamples = nullptr;
    QSpinBox* m_reduceDimensions = nullptr;
    QSpinBox* m_clusters = nullptr;
    QCheckBox* m_balanced = nullptr;
    QDoubleSpinBox* m_bound = nullptr;
    QComboBox* m_layout = nullptr;
    QSpinBox* m_seed = nullptr;
    QCheckBox* m_activate = nullptr;
    QWidget* m_progressPanel = nullptr;
    QLabel* m_phase = nullptr;
    QProgressBar* m_progress = nullptr;
    QLabel* m_message = nullptr;
    QDialogButtonBox* m_buttons = nullptr;
    QPushButton* m_run = nullptr;
    QPushButton* m_cancel = nullptr;
    QTimer* m_poll = nullptr;
};

} // namespace moin::ui
