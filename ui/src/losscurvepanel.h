#pragma once
// Loss curves of training jobs, overlaid: training loss (faint raw, plus an exponential moving
// average), held-out loss as markers; log scale, legend, and export to CSV and PNG.
#include "moin/training.h"

#include <QColor>
#include <QWidget>

#include <map>
#include <vector>

class QCheckBox;
class QCPGraph;
class QCPItemText;
class QCustomPlot;
class QLabel;
class QPushButton;
class QSlider;

namespace moin::ui {

class LossCurvePanel : public QWidget {
    Q_OBJECT
public:
    /// One job's curve: what to call it and how to draw it.
    struct Curve {
        qint64 jobId = 0;
        int cluster = 0;
        QString label;
        QColor color;
    };

    explicit LossCurvePanel(QWidget* parent = nullptr);

    /// Shows exactly these jobs, in this order. Points of jobs kept from before stay; jobs
    /// dropped lose theirs.
    void setCurves(const std::vector<Curve>& curves);
    /// Appends a job's new points (steps after lastStep()); with `replace` they replace all.
    /// Ignored for jobs not shown.
    void addPoints(qint64 jobId, const std::vector<TrainingMetric>& points, bool replace = false);
    /// Step of a job's newest point; -1 if it has none or is not shown.
    qint64 lastStep(qint64 jobId) const;
    /// Points of a shown job (0 if none or not shown).
    int pointCount(qint64 jobId) const;
    std::vector<qint64> jobIds() const;
    /// The line above the plot saying which jobs are shown.
    void setCaption(const QString& caption);

    /// EMA weight of the smoothed training loss, 0 (none) to 0.99.
    void setSmoothing(double weight);
    double smoothing() const;
    void setLogScale(bool on);
    bool logScale() const;

    /// Writes every shown point as CSV (one row per job and step), atomically. On failure
    /// returns false and says why in `error`.
    bool exportCsv(const QString& path, QString* error = nullptr) const;
    /// Saves the plot as a PNG at twice its size on screen, atomically.
    bool exportPng(const QString& path, QString* error = nullptr) const;

    QCustomPlot* plot() const { return m_plot; }

    /// A stable colour per cluster (Tableau 10, by cluster id).
    static QColor curveColor(int cluster);
    /// Debiased exponential moving average (as TensorBoard smooths): NaN inputs stay NaN and
    /// are skipped. `weight` 0 returns `values`.
    static std::vector<double> smooth(const std::vector<double>& values, double weight);

private:
    struct Series {
        Curve curve;
        std::vector<TrainingMetric> points;
        QCPGraph* raw = nullptr;
        QCPGraph* smoothed = nullptr;
        QCPGraph* heldOut = nullptr;
    };
    void rebuild(Series& series);
    void refit();
    void chooseCsv();
    void choosePng();
    void showExportError(const QString& message);

    std::vector<Series> m_series; // in legend order
    QCustomPlot* m_plot = nullptr;
    QCPItemText* m_placeholder = nullptr;
    QLabel* m_caption = nullptr;
    QSlider* m_smoothing = nullptr;
    QLabel* m_smoothingValue = nullptr;
    QCheckBox* m_logScale = nullptr;
    QPushButton* m_exportCsv = nullptr;
    QPushButton* m_exportPng = nullptr;
};

} // namespace moin::ui
