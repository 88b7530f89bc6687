#pragma once
// The "Specialisation" tab of the Experts & training view: do the experts help their own
// cluster more than the others? The expert x cluster matrix as a heatmap, each expert's
// margin, and what to do about the experts whose margin is negative.
#include "moin/cancel.h"
#include "moin/specialisation.h"

#include <QFutureWatcher>
#include <QWidget>

#include <memory>
#include <vector>

class QCPColorMap;
class QCustomPlot;
class QLabel;
class QMouseEvent;
class QProgressBar;
class QPushButton;
class QTableWidget;
class QThread;

namespace moin::ui {

/// What one computation (or read-back) of the matrix found; made on a worker thread.
struct SpecialisationResult {
    QString directory;
    SpecialisationMatrix matrix;
    std::vector<SpecialisationAdvice> advice;
    /// Heatmap columns (clusters) in neighbour order, and rows (experts) in the same order.
    std::vector<int> order;
    std::vector<int> rows;
    /// Empty on success.
    QString error;
    /// The thread the work ran on (for tests: never the UI thread).
    QThread* thread = nullptr;
};

/// Reads the matrix the workspace holds when shown; Compute (or Refresh) scores what is
/// missing or out of date on a worker thread, with a progress bar and Cancel.
class SpecialisationPanel : public QWidget {
    Q_OBJECT
public:
    explicit SpecialisationPanel(QWidget* parent = nullptr);
    ~SpecialisationPanel() override;

    /// The workspace folder (the panel opens its own connections); empty forgets it.
    void setDirectory(const QString& directory);
    /// Reads what the workspace holds (nothing is computed).
    void reload();
    /// Scores the missing or outdated cells off the UI thread; false if running already.
    bool compute();
    /// Asks a running computation to stop after the expert it is scoring.
    void cancel();
    bool isComputing() const { return m_computing; }

    /// The shown matrix (empty before the first result), for tests.
    const SpecialisationResult* result() const { return m_result.get(); }
    QCPColorMap* colourMap() const { return m_colourMap; }
    QCustomPlot* plot() const { return m_plot; }
    QTableWidget* marginTable() const { return m_table; }
    /// The text of the heatmap cell under (expert, cluster), as its tooltip shows it.
    QString cellToolTip(int expert, int cluster) const;

signals:
    /// A computation started, progressed or ended (cancelled or not).
    void progressed(int done, int total);
    void finished(bool cancelled, const QString& error);
    /// A computation stored new margins (the cluster map marks the negative ones).
    void marginsChanged();

protected:
    void showEvent(QShowEvent* event) override;

private:
    void start(bool compute);
    void onFinished();
    void showResult();
    void updateControls();
    void showCellToolTip(QMouseEvent* event);
    QString causeText(const SpecialisationCause& cause) const;

    QString m_directory;
    bool m_computing = false;
    bool m_computeRequested = false;
    int m_generation = 0;
    std::shared_ptr<CancelToken> m_cancel;
    QFutureWatcher<std::shared_ptr<SpecialisationResult>> m_watcher;
    std::shared_ptr<SpecialisationResult> m_result;

    QPushButton* m_computeButton = nullptr;
    QPushButton* m_cancelButton = nullptr;
    QProgressBar* m_progress = nullptr;
    QLabel* m_status = nullptr;
    QCustomPlot* m_plot = nullptr;
    QCPColorMap* m_colourMap = nullptr;
    QTableWidget* m_table = nullptr;
    QLabel* m_advice = nullptr;
};

} // namespace moin::ui
