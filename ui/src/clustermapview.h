#pragma once
#include "moin/clustering.h"

#include <QAbstractTableModel>
#include <QColor>
#include <QFutureWatcher>
#include <QHash>
#include <QList>
#include <QPair>
#include <QPoint>
#include <QRect>
#include <QSize>
#include <QWidget>

#include <atomic>
#include <memory>
#include <vector>

class QComboBox;
class QCPAbstractItem;
class QCPColorMap;
class QCPGraph;
class QCPItemText;
class QCustomPlot;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSortFilterProxyModel;
class QStackedWidget;
class QTableView;
class QTextBrowser;
class QTimer;
class QToolButton;

namespace moin::ui {

struct ClusterMap;
struct MapLoad;
struct MapSearch;

/// The key of the map's colour scale (gain or traffic): a title, the scale's colours from low
/// to high with the values at its ends (and zero, for a scale around it), and the colour of
/// clusters without a value.
class ColourLegend : public QWidget {
    Q_OBJECT
public:
    explicit ColourLegend(QWidget* parent = nullptr);
    /// `zeroAt` is the position of zero on the scale (0..1), or negative for none.
    void setScale(const QString& title, const std::vector<QColor>& colours, const QString& low,
                  const QString& high, double zeroAt, const QColor& none,
                  const QString& noneText);

    QString title() const { return m_title; }
    const std::vector<QColor>& colours() const { return m_colours; }
    QString lowText() const { return m_low; }
    QString highText() const { return m_high; }
    QString noneText() const { return m_noneText; }
    QSize sizeHint() const override;

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    QString m_title, m_low, m_high, m_noneText;
    std::vector<QColor> m_colours;
    QColor m_none;
    double m_zeroAt = -1;
};

/// One row per cluster of the shown run: colour, id, size, keywords and, while a search is on,
/// how many of the cluster's chunks match it.
class ClusterTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { ClusterColumn, SizeColumn, KeywordsColumn, MatchesColumn, ColumnCount };
    /// The cluster id (int) of a row, any column.
    static constexpr int ClusterRole = Qt::UserRole + 1;
    /// The value rows sort by (numbers as numbers).
    static constexpr int SortRole = Qt::UserRole + 2;

    explicit ClusterTableModel(QObject* parent = nullptr);

    /// Shows `map`'s clusters (nullptr: none).
    void setMap(std::shared_ptr<const ClusterMap> map);
    /// Matching chunks per cluster (indexed by cluster id); empty hides the counts.
    void setMatches(std::vector<qint64> matches);
    /// The swatch colour of each cluster (by id), as the map colours it now.
    void setSwatchColours(std::vector<QColor> colours);
    /// The row of `cluster`, or -1.
    int rowOf(int cluster) const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

private:
    std::shared_ptr<const ClusterMap> m_map;
    std::vector<int> m_rows; // cluster ids with at least one chunk
    std::vector<qint64> m_matches;
    std::vector<QColor> m_swatches;
};

/// The cluster map of the open workspace: every chunk of a clustering run at its 2-D layout
/// position, coloured by cluster, with each cluster's keywords at its centre. Wheel zooms, drag
/// pans; hovering shows the nearest chunk, clicking selects a cluster (details and samples in
/// the side panel, other clusters dimmed); a search marks the chunks that match. Runs can be
/// switched, made active and started (ClusterRunDialog). With more than densityThreshold()
/// points in view the map draws a density image, coloured by the dominant cluster of each bin,
/// instead of points.
///
/// Everything that reads the workspace at length (runs, placements, search, new runs) runs on
/// worker threads with their own connection; the UI thread reads only single chunks by primary
/// key (the hover text).
class ClusterMapView : public QWidget {
    Q_OBJECT
public:
    /// Points in view above which a density image replaces them (the default).
    static constexpr qint64 kDensityThreshold = 150000;
    /// What the points' colours say: which cluster they belong to, or their cluster's expert
    /// health (expertHealth) on a scale: its gain, or the questions routed to it.
    enum class ColourMode { Cluster, Gain, Traffic };

    explicit ClusterMapView(QWidget* parent = nullptr);
    ~ClusterMapView() override;

    /// Shows `workspace` (valid until clear() or the next showWorkspace()); the map is read on
    /// a worker thread when the view is first visible.
    void showWorkspace(Workspace& workspace);
    /// Forgets the workspace.
    void clear();
    /// Re-reads the runs and the shown run (after an import or another process's run).
    void refresh();
    /// Shows run `runId` (0: the active run, else the newest).
    void showRun(qint64 runId);

    /// The run shown (0: none).
    qint64 shownRun() const;
    /// True while a run's map is being read.
    bool isLoading() const { return m_loading; }
    /// Clusters of the shown run (with or without chunks).
    int clusterCount() const;
    /// Points on the map (chunks of the shown run).
    qint64 pointCount() const;
    /// Points drawn by the point graphs (equal to pointCount()).
    qint64 plottedPointCount() const;
    /// Cluster labels on the map (one per cluster with chunks), visible or not.
    QList<QCPItemText*> labels() const;
    int selectedCluster() const { return m_selected; }
    /// Chunks of the shown run that match the current search, or -1 when none runs.
    qint64 searchMatchCount() const { return m_matchCount; }
    bool isSearching() const { return m_searchWatcher.isRunning(); }
    /// True when the density image is drawn instead of points.
    bool isDensityShown() const;
    void setDensityThreshold(qint64 points);
    qint64 densityThreshold() const { return m_densityThreshold; }
    QCustomPlot* plot() const { return m_plot; }

    /// Colours the map by cluster, gain or traffic (also chosen in the header's combo box).
    void setColourMode(ColourMode mode);
    ColourMode colourMode() const { return m_colourMode; }
    /// The colour of `cluster`'s points in the current mode, and its band: the index of the
    /// point graph ("colourPointsN") that draws them; on the gain and traffic scales the bands
    /// run from low to high and noValueBand() holds clusters without a value.
    QColor clusterColourShown(int cluster) const { return clusterColour(cluster); }
    int colourBand(int cluster) const;
    static int noValueBand();
    /// The scale's key; hidden while colouring by cluster.
    ColourLegend* legend() const { return m_legend; }

    /// The chunk nearest to `pos` (plot widget pixels) within `radius` pixels: its index in the
    /// run's placements, or -1.
    int pointNear(const QPoint& pos, double radius = 10) const;
    /// The placement of point `index` (see pointNear()).
    ChunkPlacement placement(int index) const;

    /// Marks the chunks whose text has every word of `query` (full-text search on a worker
    /// thread); empty clears the marks.
    void setSearch(const QString& query);
    /// Opens the dialog for a new clustering run; when it finishes the new run is shown.
    void newClusteringRun();
    /// Makes the shown run the workspace's active one (on a worker thread).
    void makeShownRunActive();
    /// Fits the whole map into the view.
    void fitAll();

public slots:
    /// Selects `cluster` (-1: none): highlighted on the map, the others dimmed, its details in
    /// the side panel. Returns without change for a cluster the run does not have.
    void selectCluster(int cluster);
    /// Selects `cluster` and moves the map so that it is in the middle (zooming out if it does
    /// not fit).
    void centreOnCluster(int cluster);
    /// Shows where a query went: a star near the chosen expert's centre, a solid line to it and
    /// dashed lines to the runner-ups. `candidates` are (expert, distance), best first (the
    /// chosen one may be among them). The query itself is not laid out on the map.
    void showRoute(const QString& queryText, int expert,
                   const QList<QPair<int, float>>& candidates);
    void clearRoute();

signals:
    /// A run's map is shown (also after refresh()).
    void loaded(qint64 runId);
    /// Reading the map failed; `message` says why.
    void loadFailed(const QString& message);
    void clusterSelected(int cluster);
    /// A search finished: `matches` chunks of the shown run match (-1: the search failed).
    void searchFinished(qint64 matches);
    /// The person asked for the Corpus view (from the empty state).
    void corpusViewRequested();
    /// A clustering run started here finished and was stored.
    void runCreated(qint64 runId);
    /// The workspace's active run changed here.
    void activeRunChanged(qint64 runId);

protected:
    void showEvent(QShowEvent* event) override;

private:
    QWidget* buildHeader();
    QWidget* buildMapPage();
    QWidget* buildSidePanel();
    QWidget* buildMessagePage(const char* objectName, const QIcon& icon, const QString& title,
                              const QString& text, QPushButton* button, QLabel** textLabel);
    void startLoad(qint64 runId);
    void onLoaded();
    void applyMap(std::shared_ptr<const ClusterMap> map, bool keepView);
    void fillRunCombo();
    void updateRunButtons();
    void buildLabels();
    void placeLabels();
    QSize labelSize(const QCPItemText* label) const;
    QFont labelFont(int rank) const;
    void updateStyles();
    void scheduleDensity();
    void updateDensity();
    void updateHintText();
    bool fitRanges();
    void fixAspect();
    void showDetails();
    QString runSummaryHtml() const;
    void startSearch();
    void onSearched();
    void clearMatches();
    void onMouseMove(QMouseEvent* event);
    void onMousePress(QMouseEvent* event);
    void onMouseRelease(QMouseEvent* event);
    void hideHover();
    int labelAt(const QPoint& pos) const;
    QString chunkText(qint64 chunkId);
    QColor clusterColour(int cluster) const;
    /// The colour of a band (a point graph) in the current mode.
    QColor bandColour(int band) const;
    /// Bands of the current mode, by cluster id, and their point containers.
    const std::vector<int>& bands() const;
    void applyColourMode();
    void updateLegend();

    Workspace* m_workspace = nullptr;
    QString m_directory;
    bool m_needsLoad = false;
    qint64 m_requestedRun = 0;

    // The map shown; immutable once built, shared with the search worker.
    std::shared_ptr<const ClusterMap> m_map;
    std::vector<ClusterRunInfo> m_runs;
    qint64 m_activeRun = 0;
    qint64 m_chunkCount = 0;

    QFutureWatcher<std::shared_ptr<MapLoad>> m_loadWatcher;
    bool m_loading = false;
    int m_loadGeneration = 0;
    QFutureWatcher<std::shared_ptr<MapSearch>> m_searchWatcher;
    // Raised to tell a running search that a newer one replaces it.
    std::shared_ptr<std::atomic<int>> m_searchGeneration;
    QFutureWatcher<QString> m_activateWatcher;

    int m_selected = -1;
    qint64 m_matchCount = -1;
    qint64 m_densityThreshold = kDensityThreshold;
    bool m_densityShown = false;
    bool m_fitPending = false;
    bool m_autoFit = true; // refit on resize until the map is moved
    QSize m_fittedSize;
    QHash<qint64, QString> m_textCache;
    QPoint m_pressPos;
    bool m_pressed = false;
    int m_hovered = -1;

    ClusterTableModel* m_clusterModel = nullptr;
    QSortFilterProxyModel* m_clusterProxy = nullptr;

    QStackedWidget* m_stack = nullptr; // loading | no chunks | no run | error | map
    QWidget* m_loadingPage = nullptr;
    QWidget* m_noChunksPage = nullptr;
    QWidget* m_noRunPage = nullptr;
    QWidget* m_errorPage = nullptr;
    QWidget* m_mapPage = nullptr;
    QLabel* m_noRunText = nullptr;
    QLabel* m_errorText = nullptr;

    QComboBox* m_runCombo = nullptr;
    QPushButton* m_makeActive = nullptr;
    QPushButton* m_newRun = nullptr;
    QProgressBar* m_busy = nullptr;
    QLineEdit* m_search = nullptr;
    QTimer* m_searchTimer = nullptr;
    QLabel* m_matchLabel = nullptr;
    QLabel* m_summary = nullptr;
    QToolButton* m_fit = nullptr;
    QComboBox* m_colourCombo = nullptr;
    ColourLegend* m_legend = nullptr;
    ColourMode m_colourMode = ColourMode::Cluster;

    QCustomPlot* m_plot = nullptr;
    QCPColorMap* m_density = nullptr;
    std::vector<QCPGraph*> m_colourGraphs; // one per palette colour
    QCPGraph* m_noiseGraph = nullptr;      // the chunks HDBSCAN called noise
    QCPGraph* m_selectedGraph = nullptr;
    QCPGraph* m_matchGraph = nullptr;
    QCPGraph* m_hoverGraph = nullptr;
    QCPGraph* m_routeGraph = nullptr; // the star of showRoute()
    std::vector<QCPItemText*> m_labels; // by cluster id; nullptr for empty clusters
    std::vector<QRect> m_labelRects;    // where each label was drawn last (empty: hidden)
    std::vector<QSize> m_labelSizes;    // each label's size in its normal font
    QCPItemText* m_hint = nullptr;
    std::vector<QCPAbstractItem*> m_routeItems;
    QTimer* m_densityTimer = nullptr;

    QLabel* m_detailsSwatch = nullptr;
    QLabel* m_detailsTitle = nullptr;
    QLabel* m_detailsSize = nullptr;
    QLabel* m_detailsKeywords = nullptr;
    QTextBrowser* m_detailsSamples = nullptr;
    QWidget* m_detailsBody = nullptr;
    QWidget* m_detailsPlaceholder = nullptr; // shown without a selection
    QLabel* m_runInfo = nullptr;
    QTableView* m_clusterTable = nullptr;
};

} // namespace moin::ui
