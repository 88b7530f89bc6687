#include "clustermapview.h"
#include "widgetstyle.h"

#include "clusterrundialog.h"
#include "moin/corpus.h"
#include "moin/experthealth.h"
#include "moin/specialisation.h"
#include "moin/workspace.h"

#include <qcustomplot.h>

#include <QComboBox>
#include <QDateTime>
#include <QElapsedTimer>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QPainter>
#include <QProgressBar>
#include <QPushButton>
#include <QShortcut>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QStackedWidget>
#include <QStyle>
#include <QTableView>
#include <QTextBrowser>
#include <QTimer>
#include <QToolButton>
#include <QToolTip>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>

namespace moin::ui {

namespace {
/// Tableau 10 (grey, which reads as "dimmed", replaced by olive): distinct hues that stay
/// readable on white; clusters beyond ten reuse them, kept apart on the map.
constexpr int kPaletteSize = 10;
constexpr QRgb kPalette[kPaletteSize] = {0x4e79a7, 0xf28e2b, 0x59a14f, 0xe15759, 0xb07aa1,
                                         0x76b7b2, 0xedc948, 0xff9da7, 0x9c755f, 0xbcbd22};
/// Density bins of dimmed clusters use this band of the density gradient.
constexpr int kGreyBand = kPaletteSize;
constexpr int kSearchDebounceMs = 300;
constexpr int kDensityDebounceMs = 80;
constexpr double kHoverRadius = 10;      // pixels
constexpr int kTooltipChars = 300;
constexpr int kSampleChars = 420;
constexpr int kSamplesShown = 5;
constexpr int kSearchPage = 5000;
constexpr int kDensityBinPixels = 3;
constexpr int kLabelChars = 26;          // a label grows by keywords up to this length
constexpr int kLabelGap = 4;             // pixels kept free around each label
constexpr int kFitMarginPixels = 36;
/// The largest clusters' labels are drawn larger; the rest smaller, so that the map reads as a
/// few landmarks and some detail.
constexpr int kMajorLabels = 12;
/// Labels stop being placed once they would cover this share of the map.
constexpr double kLabelCoverage = 0.2;
constexpr double kPi = 3.14159265358979323846;

QString number(qint64 value) { return QLocale().toString(value); }

QColor paletteColour(int index) { return QColor::fromRgb(kPalette[index % kPaletteSize]); }

/// The health colour modes' scales: nine steps from low to high in the first nine point graphs,
/// and the tenth for clusters without a value (no expert, no questions). Gain diverges around
/// zero (ColorBrewer RdYlBu, its pale centre darkened to stay visible on white): red where the
/// expert makes its cluster worse, blue where it helps. Traffic runs from yellow to dark red
/// (YlOrRd), so that overloaded experts stand out; grey ones get no questions at all.
constexpr int kScaleSteps = 9;
constexpr int kNoValueBand = kScaleSteps;
static_assert(kScaleSteps + 1 <= kPaletteSize, "the scales use the palette's point graphs");
constexpr QRgb kGainScale[kScaleSteps] = {0xa50026, 0xd73027, 0xf46d43, 0xfdae61, 0xe3cf6a,
                                          0xa6cde3, 0x74add1, 0x4575b4, 0x313695};
constexpr QRgb kTrafficScale[kScaleSteps] = {0xfed976, 0xfeb24c, 0xfd8d3c, 0xfc4e2a, 0xe31a1c,
                                             0xc4001f, 0xa50026, 0x800026, 0x4d0019};
constexpr QRgb kNoValue = 0xbdbdbd;
/// The gain scale reaches at least this far either side of zero.
constexpr double kMinGainExtent = 0.01;

/// `colour` mixed with white: `amount` 0 keeps it, 1 is white.
QColor towardWhite(const QColor& colour, double amount)
{
    const auto mix = [amount](int c) { return int(std::lround(c + (255 - c) * amount)); };
    return QColor(mix(colour.red()), mix(colour.green()), mix(colour.blue()));
}

/// A filled disc of `diameter` pixels, antialiased, optionally with a rim; drawn by the point
/// graphs as a pixmap scatter (blitting is about twenty times faster than QCustomPlot's
/// ssDisc, which paints an ellipse per point: 100,000 points in 15 ms instead of 300 ms).
QPixmap discPixmap(const QColor& fill, double diameter, const QColor& rim = {})
{
    const int size = int(std::ceil(diameter)) + 2;
    QPixmap pixmap(size, size);
    pixmap.fill(Qt::transparent);
    QPainter painter(&pixmap);
    painter.setRenderHint(QPainter::Antialiasing);
    painter.setPen(rim.isValid() ? QPen(rim, 1.0) : QPen(Qt::NoPen));
    painter.setBrush(fill);
    const double offset = (size - diameter) / 2;
    painter.drawEllipse(QRectF(offset, offset, diameter, diameter));
    return pixmap;
}

QPixmap ringPixmap(const QColor& colour, double diameter, double width)
{
    const int size = int(std::ceil(diameter + width)) + 2;
    QPixmap pixmap(size, size);
    pixmap.fill(Qt::transparent);
    QPainter painter(&pixmap);
    painter.setRenderHint(QPainter::Antialiasing);
    painter.setPen(QPen(colour, width));
    painter.setBrush(Qt::NoBrush);
    const double offset = (size - diameter) / 2;
    painter.drawEllipse(QRectF(offset, offset, diameter, diameter));
    return pixmap;
}

QIcon swatchIcon(const QColor& colour)
{
    QPixmap pixmap(12, 12);
    pixmap.fill(Qt::transparent);
    QPainter painter(&pixmap);
    painter.setRenderHint(QPainter::Antialiasing);
    painter.setPen(colour.darker(125));
    painter.setBrush(colour);
    painter.drawRoundedRect(QRectF(0.5, 0.5, 11, 11), 3, 3);
    return QIcon(pixmap);
}

/// Point diameter in pixels for a map of n points: large for a few, small for many.
double pointDiameter(qint64 n)
{
    if (n <= 3000)
        return 6.5;
    if (n <= 15000)
        return 5;
    if (n <= 60000)
        return 4;
    return 3.5;
}

QString embedderName(const std::string& kind)
{
    if (kind == "tfidf")
        return ClusterMapView::tr("tf-idf");
    if (kind == "model")
        return ClusterMapView::tr("model states");
    return QString::fromStdString(kind);
}

QString layoutName(const QString& method)
{
    if (method == QLatin1String("umap"))
        return ClusterMapView::tr("UMAP layout");
    if (method == QLatin1String("pca"))
        return ClusterMapView::tr("PCA layout");
    return method;
}

QString runDate(const std::string& createdAt)
{
    QDateTime time = QDateTime::fromString(QString::fromStdString(createdAt), Qt::ISODateWithMs);
    if (!time.isValid())
        return QString::fromStdString(createdAt);
    time = time.toLocalTime();
    const QLocale locale;
    return locale.toString(time.date(), QLocale::ShortFormat) + QLatin1Char(' ')
           + locale.toString(time.time(), QStringLiteral("HH:mm"));
}

/// Plain text for a tooltip or a list: whitespace collapsed, cut at `chars` with an ellipsis.
QString preview(const QString& text, int chars)
{
    QString simple = text.simplified();
    if (simple.size() > chars) {
        simple.truncate(chars);
        const int space = simple.lastIndexOf(QLatin1Char(' '));
        if (space > chars * 3 / 4)
            simple.truncate(space);
        simple += QStringLiteral(" …");
    }
    return simple;
}
} // namespace

// ---------------------------------------------------------------------------------------------

/// Points bucketed by a uniform grid over the map: nearest-point and in-view queries visit only
/// the cells that overlap a rectangle.
struct GridIndex {
    double x0 = 0;
    double y0 = 0;
    double cellWidth = 1;
    double cellHeight = 1;
    int columns = 1;
    int rows = 1;
    /// (columns * rows + 1): where each cell's points start in `items`.
    std::vector<int32_t> start;
    /// Point indices, cell by cell.
    std::vector<int32_t> items;
    /// Position and cluster of items[i]: scans of a cell read memory in order.
    std::vector<float> xs;
    std::vector<float> ys;
    std::vector<int32_t> clusters;

    int column(double x) const
    {
        return std::clamp(int(std::floor((x - x0) / cellWidth)), 0, columns - 1);
    }
    int row(double y) const
    {
        return std::clamp(int(std::floor((y - y0) / cellHeight)), 0, rows - 1);
    }

    void build(const std::vector<ChunkPlacement>& points, const QRectF& bounds)
    {
        const int64_t n = int64_t(points.size());
        columns = rows = std::clamp(int(std::sqrt(double(n) / 4.0)), 1, 1024);
        x0 = bounds.left();
        y0 = bounds.top();
        cellWidth = bounds.width() > 0 ? bounds.width() / columns : 1;
        cellHeight = bounds.height() > 0 ? bounds.height() / rows : 1;
        std::vector<int32_t> cellOf(static_cast<size_t>(n));
        start.assign(size_t(columns) * rows + 1, 0);
        for (int64_t i = 0; i < n; ++i) {
            const int cell = row(points[size_t(i)].y) * columns + column(points[size_t(i)].x);
            cellOf[size_t(i)] = cell;
            ++start[size_t(cell) + 1];
        }
        std::partial_sum(start.begin(), start.end(), start.begin());
        items.resize(size_t(n));
        std::vector<int32_t> fill(start.begin(), start.end() - 1);
        for (int64_t i = 0; i < n; ++i)
            items[size_t(fill[size_t(cellOf[size_t(i)])]++)] = int32_t(i);
        xs.resize(size_t(n));
        ys.resize(size_t(n));
        clusters.resize(size_t(n));
        for (size_t i = 0; i < size_t(n); ++i) {
            const ChunkPlacement& p = points[size_t(items[i])];
            xs[i] = p.x;
            ys[i] = p.y;
            clusters[i] = std::max(p.cluster, 0);
        }
    }

    /// Calls f(cell, inside) for every cell overlapping [xa, xb] x [ya, yb]; `inside` when the
    /// cell lies wholly within it.
    template <typename F>
    void visitCells(double xa, double xb, double ya, double yb, F&& f) const
    {
        if (items.empty() || xb < x0 || yb < y0 || xa > x0 + cellWidth * columns
            || ya > y0 + cellHeight * rows)
            return;
        const int c0 = column(xa), c1 = column(xb), r0 = row(ya), r1 = row(yb);
        for (int r = r0; r <= r1; ++r) {
            const double top = y0 + r * cellHeight;
            const bool rowInside = top >= ya && top + cellHeight <= yb;
            for (int c = c0; c <= c1; ++c) {
                const double left = x0 + c * cellWidth;
                f(r * columns + c, rowInside && left >= xa && left + cellWidth <= xb);
            }
        }
    }
};

/// Everything the map shows of one run, built on a worker thread and never changed after.
struct ClusterMap {
    ClusterRunInfo run;
    QString layoutMethod;
    /// By cluster id (index == id); clusters without chunks are kept, with size 0.
    std::vector<ClusterInfo> clusters;
    /// By chunk id.
    std::vector<ChunkPlacement> placements;
    /// Palette colour of each cluster.
    std::vector<int> colour;
    /// Each cluster's label: its first keywords (and a warning sign if negativeMargin).
    std::vector<QString> label;
    /// Whether the cluster's expert helps another cluster more than its own.
    std::vector<bool> negativeMargin;
    /// Expert health by cluster id (expertHealth): gain (NaN without an expert) and routed
    /// questions; the scales' extents (largest |gain|, most questions); each cluster's band
    /// in the gain and traffic colour modes and the point containers of those bands.
    std::vector<double> gain;
    std::vector<int64_t> questions;
    double gainExtent = kMinGainExtent;
    int64_t mostQuestions = 0;
    std::vector<int> gainBand, trafficBand;
    std::vector<QSharedPointer<QCPGraphDataContainer>> gainData, trafficData;
    /// Each cluster's sample chunks: (chunk id, text start), nearest the centre first.
    std::vector<std::vector<std::pair<qint64, QString>>> samples;
    /// Clusters by size, largest first (labels are placed in this order).
    std::vector<int> bySize;
    /// (clusters + 1) and (points): each cluster's point indices, sorted by x.
    std::vector<int32_t> memberStart;
    std::vector<int32_t> members;
    /// One graph container per palette colour, sorted by x.
    std::vector<QSharedPointer<QCPGraphDataContainer>> colourData;
    /// The chunks HDBSCAN called noise (drawn grey and small, under the clusters), sorted by x.
    QSharedPointer<QCPGraphDataContainer> noiseData;
    qint64 noise = 0;
    QRectF bounds;
    GridIndex grid;

    int clusterCount() const { return int(clusters.size()); }
    int64_t memberCount(int cluster) const
    {
        return memberStart[size_t(cluster) + 1] - memberStart[size_t(cluster)];
    }
};

/// What a load found.
struct MapLoad {
    int generation = 0;
    qint64 chunks = 0;
    std::vector<ClusterRunInfo> runs;
    qint64 activeRun = 0;
    std::shared_ptr<const ClusterMap> map;
    QString error;
    qint64 milliseconds = 0;
};

/// What a search found on the shown map.
struct MapSearch {
    int generation = 0;
    QString query;
    /// Matching chunks in the whole corpus (some may be missing from an older run's map).
    qint64 total = 0;
    qint64 onMap = 0;
    QSharedPointer<QCPGraphDataContainer> points;
    std::vector<qint64> perCluster;
    QString error;
    bool superseded = false;
};

namespace {

/// Greedy colouring: clusters, largest first, take the palette colour whose nearest cluster of
/// that colour is farthest away, so that neighbours on the map differ.
std::vector<int> assignColours(const std::vector<ClusterInfo>& clusters,
                               const std::vector<int>& bySize)
{
    std::vector<int> colour(clusters.size(), 0);
    std::vector<int> done;
    done.reserve(clusters.size());
    for (int c : bySize) {
        double nearest[kPaletteSize];
        std::fill(std::begin(nearest), std::end(nearest), std::numeric_limits<double>::infinity());
        for (int other : done) {
            const double dx = clusters[size_t(c)].x - clusters[size_t(other)].x;
            const double dy = clusters[size_t(c)].y - clusters[size_t(other)].y;
            double& d = nearest[colour[size_t(other)]];
            d = std::min(d, dx * dx + dy * dy);
        }
        colour[size_t(c)] = int(std::max_element(std::begin(nearest), std::end(nearest))
                                - std::begin(nearest));
        done.push_back(c);
    }
    return colour;
}

/// Experts whose stored specialisation margin (Experts & training, Specialisation) is negative:
/// their labels get a warning sign. Nothing is computed here; a run without a complete stored
/// matrix marks nothing.
void markNegativeMargins(Workspace& workspace, ClusterMap& map)
{
    map.negativeMargin.assign(size_t(map.clusterCount()), false);
    try {
        SpecialisationOptions options;
        options.runId = map.run.id;
        options.compute = false;
        const SpecialisationMatrix matrix = computeSpecialisation(workspace, options);
        if (!matrix.complete())
            return;
        for (const ExpertSpecialisation& e : matrix.experts) {
            if (e.expert >= 0 && e.expert < map.clusterCount() && e.margin < 0) {
                map.negativeMargin[size_t(e.expert)] = true;
                map.label[size_t(e.expert)] += QStringLiteral(" \u26A0");
            }
        }
    } catch (const std::exception&) {
        // No trained expert yet, or nothing to score: nothing to mark.
    }
}

/// Each band's points (of clusters by id, `bands`), sorted by x, as the point graphs take them.
std::vector<QSharedPointer<QCPGraphDataContainer>> pointsByBand(const ClusterMap& map,
                                                                const std::vector<int>& bands)
{
    std::vector<QVector<QCPGraphData>> points(kPaletteSize);
    for (const ChunkPlacement& p : map.placements) {
        if (!p.noise) // noise has its own grey graph, whatever the colour mode
            points[size_t(bands[size_t(std::max(p.cluster, 0))])].append(QCPGraphData(p.x, p.y));
    }
    std::vector<QSharedPointer<QCPGraphDataContainer>> data(kPaletteSize);
    for (int band = 0; band < kPaletteSize; ++band) {
        std::sort(points[size_t(band)].begin(), points[size_t(band)].end(),
                  [](const QCPGraphData& a, const QCPGraphData& b) { return a.key < b.key; });
        data[size_t(band)] = QSharedPointer<QCPGraphDataContainer>::create();
        data[size_t(band)]->set(points[size_t(band)], true);
    }
    return data;
}

/// The clusters' expert health and their bands on the gain and traffic scales. Nothing is
/// computed here but the bands: a run whose health cannot be read shows every cluster without
/// a value.
void addHealth(Workspace& workspace, ClusterMap& map)
{
    const size_t k = size_t(map.clusterCount());
    map.gain.assign(k, std::numeric_limits<double>::quiet_NaN());
    map.questions.assign(k, 0);
    try {
        for (const ExpertHealth& h : expertHealth(workspace, map.run.id).experts) {
            if (h.cluster >= 0 && size_t(h.cluster) < k) {
                map.gain[size_t(h.cluster)] = h.gain;
                map.questions[size_t(h.cluster)] = h.questions();
            }
        }
    } catch (const std::exception&) {
        // Health is extra: what cannot be read leaves the clusters without a value on the
        // health scales instead of failing the whole map.
    }
    for (size_t c = 0; c < k; ++c) {
        if (std::isfinite(map.gain[c]))
            map.gainExtent = std::max(map.gainExtent, std::abs(map.gain[c]));
        map.mostQuestions = std::max(map.mostQuestions, map.questions[c]);
    }
    map.gainBand.assign(k, kNoValueBand);
    map.trafficBand.assign(k, kNoValueBand);
    for (size_t c = 0; c < k; ++c) {
        if (std::isfinite(map.gain[c])) {
            const double t = (map.gain[c] + map.gainExtent) / (2 * map.gainExtent);
            map.gainBand[c] = std::clamp(int(std::floor(t * kScaleSteps)), 0, kScaleSteps - 1);
        }
        if (map.questions[c] > 0) {
            const double t = double(map.questions[c]) / double(map.mostQuestions);
            map.trafficBand[c] =
                std::clamp(int(std::ceil(t * kScaleSteps)) - 1, 0, kScaleSteps - 1);
        }
    }
    map.gainData = pointsByBand(map, map.gainBand);
    map.trafficData = pointsByBand(map, map.trafficBand);
}

std::shared_ptr<ClusterMap> buildClusterMap(Workspace& workspace, const ClusterRunInfo& run)
{
    auto map = std::make_shared<ClusterMap>();
    map->run = run;
    map->layoutMethod =
        QJsonDocument::fromJson(QByteArray::fromStdString(run.parameters))
            .object()
            .value(QStringLiteral("layout"))
            .toString();
    std::vector<ClusterInfo> listed = listClusters(workspace, run.id);
    map->placements = listPlacements(workspace, run.id);
    std::sort(map->placements.begin(), map->placements.end(),
              [](const ChunkPlacement& a, const ChunkPlacement& b) {
                  return a.chunkId < b.chunkId;
              });

    // Clusters by id, with room for any id a placement names.
    int clusterCount = run.k;
    for (const ClusterInfo& info : listed)
        clusterCount = std::max(clusterCount, info.cluster + 1);
    for (const ChunkPlacement& p : map->placements)
        clusterCount = std::max(clusterCount, p.cluster + 1);
    map->clusters.resize(size_t(clusterCount));
    for (int c = 0; c < clusterCount; ++c)
        map->clusters[size_t(c)].cluster = c;
    for (ClusterInfo& info : listed) {
        if (info.cluster >= 0)
            map->clusters[size_t(info.cluster)] = std::move(info);
    }

    // Members of each cluster, sorted by x (the order graphs want).
    const size_t n = map->placements.size();
    map->memberStart.assign(size_t(clusterCount) + 1, 0);
    for (const ChunkPlacement& p : map->placements)
        ++map->memberStart[size_t(std::max(p.cluster, 0)) + 1];
    std::partial_sum(map->memberStart.begin(), map->memberStart.end(), map->memberStart.begin());
    map->members.resize(n);
    {
        std::vector<int32_t> fill(map->memberStart.begin(), map->memberStart.end() - 1);
        for (size_t i = 0; i < n; ++i)
            map->members[size_t(fill[size_t(std::max(map->placements[i].cluster, 0))]++)] =
                int32_t(i);
    }
    const auto byX = [&map](int32_t a, int32_t b) {
        return map->placements[size_t(a)].x < map->placements[size_t(b)].x;
    };
    for (int c = 0; c < clusterCount; ++c) {
        std::sort(map->members.begin() + map->memberStart[size_t(c)],
                  map->members.begin() + map->memberStart[size_t(c) + 1], byX);
    }

    // Bounds, and centres for clusters the database has none for.
    double minX = std::numeric_limits<double>::infinity(), maxX = -minX;
    double minY = minX, maxY = -minX;
    for (const ChunkPlacement& p : map->placements) {
        minX = std::min(minX, double(p.x));
        maxX = std::max(maxX, double(p.x));
        minY = std::min(minY, double(p.y));
        maxY = std::max(maxY, double(p.y));
    }
    if (n == 0)
        minX = minY = -1, maxX = maxY = 1;
    map->bounds = QRectF(QPointF(minX, minY), QPointF(maxX, maxY));

    map->bySize.resize(size_t(clusterCount));
    std::iota(map->bySize.begin(), map->bySize.end(), 0);
    std::stable_sort(map->bySize.begin(), map->bySize.end(), [&map](int a, int b) {
        return map->memberCount(a) > map->memberCount(b);
    });
    map->colour = assignColours(map->clusters, map->bySize);

    map->colourData = pointsByBand(*map, map->colour);
    QVector<QCPGraphData> noisePoints;
    for (const ChunkPlacement& p : map->placements) {
        if (p.noise)
            noisePoints.append(QCPGraphData(p.x, p.y));
    }
    map->noise = noisePoints.size();
    map->noiseData = QSharedPointer<QCPGraphDataContainer>::create();
    map->noiseData->set(noisePoints, false);

    map->grid.build(map->placements, map->bounds);

    // Labels and the start of each sample chunk.
    map->label.resize(size_t(clusterCount));
    map->samples.resize(size_t(clusterCount));
    Statement text = workspace.database().prepare(
        "SELECT substr(text, 1, ?) FROM chunks WHERE id = ?");
    for (int c = 0; c < clusterCount; ++c) {
        const ClusterInfo& info = map->clusters[size_t(c)];
        QStringList words;
        int length = 0;
        for (const std::string& keyword : info.keywords) {
            const QString word = QString::fromStdString(keyword);
            if (!words.isEmpty() && (words.size() >= 3 || length + word.size() + 3 > kLabelChars))
                break;
            words << word;
            length += word.size() + 3;
        }
        map->label[size_t(c)] = words.join(QStringLiteral(" · "));
        for (size_t s = 0; s < info.sampleChunks.size() && s < size_t(kSamplesShown); ++s) {
            text.reset();
            text.bind(1, int64_t(kSampleChars * 2)).bind(2, info.sampleChunks[s]);
            if (text.step()) {
                map->samples[size_t(c)].emplace_back(
                    info.sampleChunks[s], QString::fromStdString(text.columnText(0)));
            }
        }
    }
    markNegativeMargins(workspace, *map);
    addHealth(workspace, *map);
    return map;
}

std::shared_ptr<MapLoad> loadMap(const std::string& directory, qint64 requestedRun,
                                 int generation)
{
    auto load = std::make_shared<MapLoad>();
    load->generation = generation;
    QElapsedTimer timer;
    timer.start();
    try {
        Workspace workspace = Workspace::open(directory);
        load->chunks = countChunks(workspace, "");
        load->runs = listClusterRuns(workspace);
        load->activeRun = activeClusterRun(workspace);
        const ClusterRunInfo* chosen = nullptr;
        for (const ClusterRunInfo& run : load->runs) {
            if (run.id == requestedRun)
                chosen = &run;
        }
        for (const ClusterRunInfo& run : load->runs) {
            if (!chosen && run.id == load->activeRun)
                chosen = &run;
        }
        if (!chosen && !load->runs.empty())
            chosen = &load->runs.back(); // the newest
        if (chosen && load->chunks > 0)
            load->map = buildClusterMap(workspace, *chosen);
    } catch (const std::exception& e) {
        load->error = QString::fromUtf8(e.what());
    } catch (...) {
        load->error = ClusterMapView::tr("an unknown error");
    }
    load->milliseconds = timer.elapsed();
    return load;
}

std::shared_ptr<MapSearch> searchMap(const std::string& directory, const QString& query,
                                     std::shared_ptr<const ClusterMap> map,
                                     std::shared_ptr<std::atomic<int>> latest, int generation)
{
    auto search = std::make_shared<MapSearch>();
    search->generation = generation;
    search->query = query;
    try {
        Workspace workspace = Workspace::open(directory);
        const std::string words = query.toStdString();
        std::vector<int32_t> found;
        for (int64_t offset = 0;; offset += kSearchPage) {
            if (latest->load() != generation) {
                search->superseded = true;
                return search;
            }
            // Pages of the full-text search; only the ids are kept.
            const std::vector<ChunkRecord> page = findChunks(workspace, words, kSearchPage, offset);
            search->total += int64_t(page.size());
            for (const ChunkRecord& chunk : page) {
                const auto it = std::lower_bound(
                    map->placements.begin(), map->placements.end(), chunk.id,
                    [](const ChunkPlacement& p, int64_t id) { return p.chunkId < id; });
                if (it != map->placements.end() && it->chunkId == chunk.id)
                    found.push_back(int32_t(it - map->placements.begin()));
            }
            if (int64_t(page.size()) < kSearchPage)
                break;
        }
        search->onMap = qint64(found.size());
        search->perCluster.assign(map->clusters.size(), 0);
        QVector<QCPGraphData> points;
        points.reserve(qsizetype(found.size()));
        for (int32_t index : found) {
            const ChunkPlacement& p = map->placements[size_t(index)];
            ++search->perCluster[size_t(std::max(p.cluster, 0))];
            points.append(QCPGraphData(p.x, p.y));
        }
        std::sort(points.begin(), points.end(),
                  [](const QCPGraphData& a, const QCPGraphData& b) { return a.key < b.key; });
        search->points = QSharedPointer<QCPGraphDataContainer>::create();
        search->points->set(points, true);
    } catch (const std::exception& e) {
        search->error = QString::fromUtf8(e.what());
    } catch (...) {
        search->error = ClusterMapView::tr("an unknown error");
    }
    return search;
}

/// The density gradient: one band per palette colour (and one grey band for dimmed bins),
/// each from a pale tint (few chunks) to the full colour (many). A bin's value is its band
/// plus its log-scaled density in [0, 1).
QCPColorGradient densityGradient(const std::function<QColor(int)>& bandColour = paletteColour)
{
    QCPColorGradient gradient;
    gradient.clearColorStops();
    const int bands = kPaletteSize + 1;
    for (int band = 0; band < bands; ++band) {
        const QColor colour = band == kGreyBand ? QColor(0xb8, 0xb8, 0xb8) : bandColour(band);
        gradient.setColorStopAt((band + 0.001) / bands, towardWhite(colour, 0.82));
        gradient.setColorStopAt((band + 0.999) / bands, colour.darker(112));
    }
    gradient.setLevelCount(bands * 48);
    gradient.setNanHandling(QCPColorGradient::nhTransparent);
    return gradient;
}

} // namespace

// ---------------------------------------------------------------------------------------------

ColourLegend::ColourLegend(QWidget* parent) : QWidget(parent)
{
    setSizePolicy(QSizePolicy::Fixed, QSizePolicy::Fixed);
}

void ColourLegend::setScale(const QString& title, const std::vector<QColor>& colours,
                            const QString& low, const QString& high, double zeroAt,
                            const QColor& none, const QString& noneText)
{
    m_title = title;
    m_colours = colours;
    m_low = low;
    m_high = high;
    m_zeroAt = zeroAt;
    m_none = none;
    m_noneText = noneText;
    updateGeometry();
    update();
}

namespace {
constexpr int kLegendPadding = 8;
constexpr int kLegendSwatch = 18; // width of one step of the scale
} // namespace

QSize ColourLegend::sizeHint() const
{
    const QFontMetrics metrics(font());
    const int scale = kLegendSwatch * int(m_colours.size());
    const int noneWidth = 14 + 4 + metrics.horizontalAdvance(m_noneText);
    const int width = std::max({metrics.horizontalAdvance(m_title), scale + 16 + noneWidth,
                                metrics.horizontalAdvance(m_low + QStringLiteral("  ") + m_high)});
    return QSize(width + 2 * kLegendPadding, 2 * metrics.height() + 18 + 2 * kLegendPadding);
}

void ColourLegend::paintEvent(QPaintEvent*)
{
    QPainter painter(this);
    painter.setRenderHint(QPainter::Antialiasing);
    painter.setPen(QPen(QColor(0, 0, 0, 40), 1));
    painter.setBrush(QColor(255, 255, 255, 225));
    painter.drawRoundedRect(QRectF(rect()).adjusted(0.5, 0.5, -0.5, -0.5), 6, 6);
    const QFontMetrics metrics(font());
    int y = kLegendPadding;
    painter.setPen(QColor(0x1d, 0x1d, 0x1f));
    painter.drawText(QRect(kLegendPadding, y, width() - 2 * kLegendPadding, metrics.height()),
                     Qt::AlignLeft | Qt::AlignVCenter, m_title);
    y += metrics.height() + 4;
    const int barHeight = 12;
    const int left = kLegendPadding;
    painter.setPen(Qt::NoPen);
    for (size_t i = 0; i < m_colours.size(); ++i) {
        painter.setBrush(m_colours[i]);
        painter.drawRect(QRect(left + int(i) * kLegendSwatch, y, kLegendSwatch, barHeight));
    }
    const int scaleWidth = kLegendSwatch * int(m_colours.size());
    // Clusters without a value, beside the scale.
    const int noneLeft = left + scaleWidth + 16;
    painter.setBrush(m_none);
    painter.drawRect(QRect(noneLeft, y, 14, barHeight));
    painter.setPen(QColor(0x55, 0x55, 0x58));
    painter.drawText(QRect(noneLeft + 18, y - 3, width() - noneLeft - 18, barHeight + 6),
                     Qt::AlignLeft | Qt::AlignVCenter, m_noneText);
    if (m_zeroAt >= 0) {
        const int x = left + int(std::lround(m_zeroAt * scaleWidth));
        painter.setPen(QPen(QColor(0x1d, 0x1d, 0x1f), 1.5));
        painter.drawLine(x, y - 2, x, y + barHeight + 2);
    }
    y += barHeight + 2;
    painter.setPen(QColor(0x55, 0x55, 0x58));
    const QRect labels(left, y, scaleWidth, metrics.height());
    painter.drawText(labels, Qt::AlignLeft | Qt::AlignTop, m_low);
    painter.drawText(labels, Qt::AlignRight | Qt::AlignTop, m_high);
    if (m_zeroAt >= 0)
        painter.drawText(labels, Qt::AlignHCenter | Qt::AlignTop, QStringLiteral("0"));
}

// ---------------------------------------------------------------------------------------------

ClusterTableModel::ClusterTableModel(QObject* parent) : QAbstractTableModel(parent) {}

void ClusterTableModel::setMap(std::shared_ptr<const ClusterMap> map)
{
    beginResetModel();
    m_map = std::move(map);
    m_rows.clear();
    m_matches.clear();
    if (m_map) {
        for (const ClusterInfo& info : m_map->clusters)
            m_rows.push_back(info.cluster);
    }
    endResetModel();
}

void ClusterTableModel::setSwatchColours(std::vector<QColor> colours)
{
    m_swatches = std::move(colours);
    if (!m_rows.empty())
        emit dataChanged(index(0, ClusterColumn), index(rowCount() - 1, ClusterColumn),
                         {Qt::DecorationRole});
}

void ClusterTableModel::setMatches(std::vector<qint64> matches)
{
    m_matches = std::move(matches);
    if (!m_rows.empty()) {
        emit dataChanged(index(0, MatchesColumn), index(rowCount() - 1, MatchesColumn));
    }
    emit headerDataChanged(Qt::Horizontal, MatchesColumn, MatchesColumn);
}

int ClusterTableModel::rowOf(int cluster) const
{
    const auto it = std::find(m_rows.begin(), m_rows.end(), cluster);
    return it == m_rows.end() ? -1 : int(it - m_rows.begin());
}

int ClusterTableModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int ClusterTableModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant ClusterTableModel::data(const QModelIndex& index, int role) const
{
    if (!m_map || !index.isValid() || index.row() >= int(m_rows.size()))
        return {};
    const int cluster = m_rows[size_t(index.row())];
    const ClusterInfo& info = m_map->clusters[size_t(cluster)];
    const qint64 size = m_map->memberCount(cluster);
    const qint64 matches =
        size_t(cluster) < m_matches.size() ? m_matches[size_t(cluster)] : qint64(-1);
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case ClusterColumn: return QString::number(cluster);
        case SizeColumn: return number(size);
        case KeywordsColumn: {
            QStringList words;
            for (size_t i = 0; i < info.keywords.size() && i < 5; ++i)
                words << QString::fromStdString(info.keywords[i]);
            return words.join(QStringLiteral(", "));
        }
        case MatchesColumn: return matches >= 0 ? number(matches) : QString();
        }
        break;
    case Qt::DecorationRole:
        if (index.column() == ClusterColumn)
            return swatchIcon(size_t(cluster) < m_swatches.size()
                                  ? m_swatches[size_t(cluster)]
                                  : paletteColour(m_map->colour[size_t(cluster)]));
        break;
    case Qt::ToolTipRole:
        if (index.column() == KeywordsColumn) {
            QStringList words;
            for (const std::string& word : info.keywords)
                words << QString::fromStdString(word);
            return words.join(QStringLiteral(", "));
        }
        break;
    case Qt::ForegroundRole:
        if (size == 0 || (index.column() == MatchesColumn && matches == 0))
            return QColor(0x8a, 0x8a, 0x8a);
        break;
    case Qt::TextAlignmentRole:
        if (index.column() == KeywordsColumn)
            return QVariant::fromValue(Qt::AlignLeft | Qt::AlignVCenter);
        return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
    case ClusterRole: return cluster;
    case SortRole:
        switch (index.column()) {
        case ClusterColumn: return cluster;
        case SizeColumn: return size;
        case KeywordsColumn: return data(index, Qt::DisplayRole);
        case MatchesColumn: return matches;
        }
        break;
    }
    return {};
}

QVariant ClusterTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal)
        return {};
    if (role == Qt::DisplayRole) {
        switch (section) {
        case ClusterColumn: return tr("Cluster");
        case SizeColumn: return tr("Chunks");
        case KeywordsColumn: return tr("Keywords");
        case MatchesColumn: return tr("Matches");
        }
    } else if (role == Qt::ToolTipRole) {
        switch (section) {
        case ClusterColumn: return tr("The cluster's number; each cluster trains one expert");
        case SizeColumn: return tr("Chunks in the cluster");
        case KeywordsColumn: return tr("Words that set the cluster apart (class-based tf-idf)");
        case MatchesColumn: return tr("Chunks of the cluster that match the search");
        }
    } else if (role == Qt::TextAlignmentRole) {
        return QVariant::fromValue((section == KeywordsColumn ? Qt::AlignLeft : Qt::AlignRight)
                                   | Qt::AlignVCenter);
    }
    return {};
}

// ---------------------------------------------------------------------------------------------

ClusterMapView::ClusterMapView(QWidget* parent)
    : QWidget(parent), m_searchGeneration(std::make_shared<std::atomic<int>>(0))
{
    m_clusterModel = new ClusterTableModel(this);
    m_clusterProxy = new QSortFilterProxyModel(this);
    m_clusterProxy->setSourceModel(m_clusterModel);
    m_clusterProxy->setSortRole(ClusterTableModel::SortRole);

    m_densityTimer = new QTimer(this);
    m_densityTimer->setSingleShot(true);
    m_densityTimer->setInterval(kDensityDebounceMs);
    connect(m_densityTimer, &QTimer::timeout, this, &ClusterMapView::updateDensity);

    connect(&m_loadWatcher, &QFutureWatcher<std::shared_ptr<MapLoad>>::finished, this,
            &ClusterMapView::onLoaded);
    connect(&m_searchWatcher, &QFutureWatcher<std::shared_ptr<MapSearch>>::finished, this,
            &ClusterMapView::onSearched);
    connect(&m_activateWatcher, &QFutureWatcher<QString>::finished, this, [this] {
        const QString error = m_activateWatcher.result();
        if (!error.isEmpty()) {
            m_errorText->setText(tr("Cannot make the run active: %1").arg(error));
            m_stack->setCurrentWidget(m_errorPage);
            return;
        }
        emit activeRunChanged(shownRun());
        startLoad(shownRun()); // the runs list shows which one is active
    });

    auto* goToCorpus = new QPushButton(tr("Go to the Corpus view"));
    goToCorpus->setObjectName("goToCorpusButton");
    connect(goToCorpus, &QPushButton::clicked, this, &ClusterMapView::corpusViewRequested);
    auto* firstRun = new QPushButton(tr("New clustering run…"));
    firstRun->setObjectName("firstRunButton");
    firstRun->setDefault(true);
    connect(firstRun, &QPushButton::clicked, this, &ClusterMapView::newClusteringRun);
    auto* retry = new QPushButton(tr("Try again"));
    retry->setObjectName("retryButton");
    connect(retry, &QPushButton::clicked, this, &ClusterMapView::refresh);

    m_loadingPage = new QWidget;
    m_loadingPage->setObjectName("mapLoading");
    {
        auto* label = mutedLabel(tr("Reading the map…"));
        label->setAlignment(Qt::AlignCenter);
        auto* bar = new QProgressBar;
        bar->setRange(0, 0);
        bar->setFixedWidth(220);
        bar->setTextVisible(false);
        auto* layout = new QVBoxLayout(m_loadingPage);
        layout->addStretch();
        layout->addWidget(label);
        layout->addWidget(bar, 0, Qt::AlignHCenter);
        layout->addStretch(2);
    }
    QStyle* s = style();
    m_noChunksPage = buildMessagePage(
        "mapNoChunks", s->standardIcon(QStyle::SP_FileDialogContentsView),
        tr("No chunks to map yet"),
        tr("The map shows every chunk of the corpus, grouped by topic. Import .jsonl, .txt or "
           ".md files in the Corpus view first; then come back here to cluster them."),
        goToCorpus, nullptr);
    m_noRunPage = buildMessagePage(
        "mapNoRun", s->standardIcon(QStyle::SP_DesktopIcon), tr("The corpus is not clustered yet"),
        QString(), firstRun, &m_noRunText);
    m_errorPage = buildMessagePage("mapError", s->standardIcon(QStyle::SP_MessageBoxWarning),
                                   tr("Cannot show the map"), QString(), retry, &m_errorText);
    m_mapPage = buildMapPage();

    m_stack = new QStackedWidget;
    for (QWidget* page : {m_loadingPage, m_noChunksPage, m_noRunPage, m_errorPage, m_mapPage})
        m_stack->addWidget(page);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(12, 10, 12, 12);
    layout->setSpacing(8);
    layout->addWidget(buildHeader());
    layout->addWidget(m_stack, 1);

    auto* find = new QShortcut(QKeySequence::Find, this);
    find->setContext(Qt::WidgetWithChildrenShortcut);
    connect(find, &QShortcut::activated, this, [this] {
        m_search->setFocus();
        m_search->selectAll();
    });
    auto* unselect = new QShortcut(QKeySequence(Qt::Key_Escape), m_plot);
    unselect->setContext(Qt::WidgetShortcut);
    connect(unselect, &QShortcut::activated, this, [this] { selectCluster(-1); });
    clear();
}

ClusterMapView::~ClusterMapView()
{
    ++*m_searchGeneration; // a running search stops at its next page
}

QWidget* ClusterMapView::buildMessagePage(const char* objectName, const QIcon& icon,
                                          const QString& title, const QString& text,
                                          QPushButton* button, QLabel** textLabel)
{
    auto* iconLabel = new QLabel;
    iconLabel->setPixmap(icon.pixmap(64, 64));
    iconLabel->setAlignment(Qt::AlignCenter);
    auto* titleLabel = new QLabel(title);
    titleLabel->setFont(scaledFont(titleLabel->font(), 1.3, QFont::Bold));
    titleLabel->setAlignment(Qt::AlignCenter);
    titleLabel->setWordWrap(true);
    auto* body = mutedLabel(text);
    body->setObjectName(QStringLiteral("%1Text").arg(QLatin1String(objectName)));
    body->setWordWrap(true);
    body->setAlignment(Qt::AlignCenter);
    body->setFixedWidth(540); // a wrapped label needs a fixed width to get its height right
    if (textLabel)
        *textLabel = body;

    auto* page = new QWidget;
    page->setObjectName(QLatin1String(objectName));
    auto* layout = new QVBoxLayout(page);
    layout->addStretch();
    layout->addWidget(iconLabel);
    layout->addWidget(titleLabel);
    auto* textRow = new QHBoxLayout;
    textRow->addStretch();
    textRow->addWidget(body);
    textRow->addStretch();
    layout->addLayout(textRow);
    layout->addSpacing(12);
    auto* buttons = new QHBoxLayout;
    buttons->addStretch();
    buttons->addWidget(button);
    buttons->addStretch();
    layout->addLayout(buttons);
    layout->addStretch(2);
    return page;
}

QWidget* ClusterMapView::buildHeader()
{
    auto* title = new QLabel(tr("Cluster map"));
    title->setFont(scaledFont(title->font(), 1.6, QFont::Bold));

    m_busy = new QProgressBar;
    m_busy->setObjectName("mapBusy");
    m_busy->setRange(0, 0);
    m_busy->setFixedWidth(90);
    m_busy->setTextVisible(false);
    m_busy->hide();

    auto* runLabel = new QLabel(tr("&Run:"));
    m_runCombo = new QComboBox;
    m_runCombo->setObjectName("runCombo");
    m_runCombo->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    m_runCombo->setMinimumContentsLength(24);
    m_runCombo->setToolTip(tr("The clustering runs of this workspace, newest first; the active "
                              "one is what chat routes with and experts train on"));
    runLabel->setBuddy(m_runCombo);
    connect(m_runCombo, &QComboBox::activated, this, [this](int index) {
        showRun(m_runCombo->itemData(index).toLongLong());
    });

    m_makeActive = new QPushButton(tr("Make active"));
    m_makeActive->setObjectName("makeActiveButton");
    connect(m_makeActive, &QPushButton::clicked, this, &ClusterMapView::makeShownRunActive);

    m_newRun = new QPushButton(style()->standardIcon(QStyle::SP_MediaPlay),
                               tr("New clustering run…"));
    m_newRun->setObjectName("newRunButton");
    m_newRun->setToolTip(tr("Embed and cluster every chunk again, with other settings; earlier "
                            "runs are kept"));
    connect(m_newRun, &QPushButton::clicked, this, &ClusterMapView::newClusteringRun);

    auto* header = new QWidget;
    auto* row = new QHBoxLayout(header);
    row->setContentsMargins(0, 0, 0, 0);
    row->addWidget(title);
    row->addStretch();
    row->addWidget(m_busy);
    row->addSpacing(6);
    row->addWidget(runLabel);
    row->addWidget(m_runCombo);
    row->addWidget(m_makeActive);
    row->addSpacing(6);
    row->addWidget(m_newRun);
    return header;
}

QWidget* ClusterMapView::buildMapPage()
{
    // Search and summary.
    m_search = new QLineEdit;
    m_search->setObjectName("mapSearch");
    m_search->setPlaceholderText(tr("Find chunks on the map (every word must appear)…"));
    m_search->setClearButtonEnabled(true);
    m_search->addAction(style()->standardIcon(QStyle::SP_FileDialogContentsView),
                        QLineEdit::LeadingPosition);
    m_search->setToolTip(tr("Marks the chunks that contain every word, as whole words (Ctrl+F)"));
    m_search->setMaximumWidth(420);
    m_searchTimer = new QTimer(this);
    m_searchTimer->setSingleShot(true);
    m_searchTimer->setInterval(kSearchDebounceMs);
    connect(m_search, &QLineEdit::textChanged, m_searchTimer, qOverload<>(&QTimer::start));
    connect(m_searchTimer, &QTimer::timeout, this, &ClusterMapView::startSearch);
    connect(m_search, &QLineEdit::returnPressed, this, &ClusterMapView::startSearch);
    m_matchLabel = mutedLabel();
    m_matchLabel->setObjectName("mapMatchCount");
    m_summary = mutedLabel();
    m_summary->setObjectName("mapSummary");
    m_fit = new QToolButton;
    m_fit->setObjectName("fitButton");
    m_fit->setText(tr("Fit"));
    m_fit->setToolButtonStyle(Qt::ToolButtonTextOnly);
    m_fit->setToolTip(tr("Show the whole map"));
    connect(m_fit, &QToolButton::clicked, this, &ClusterMapView::fitAll);

    auto* colourLabel = new QLabel(tr("C&olour by:"));
    m_colourCombo = new QComboBox;
    m_colourCombo->setObjectName("colourModeCombo");
    m_colourCombo->addItem(tr("Cluster"), int(ColourMode::Cluster));
    m_colourCombo->addItem(tr("Expert gain"), int(ColourMode::Gain));
    m_colourCombo->addItem(tr("Questions"), int(ColourMode::Traffic));
    m_colourCombo->setToolTip(tr("Colour the clusters by their number, by how much their expert "
                                 "lowers the base's held-out perplexity, or by how many "
                                 "recorded questions were routed to them"));
    colourLabel->setBuddy(m_colourCombo);
    connect(m_colourCombo, &QComboBox::activated, this, [this](int index) {
        setColourMode(ColourMode(m_colourCombo->itemData(index).toInt()));
    });

    auto* searchRow = new QHBoxLayout;
    searchRow->addWidget(m_search, 1);
    searchRow->addSpacing(6);
    searchRow->addWidget(m_matchLabel);
    searchRow->addStretch();
    searchRow->addWidget(colourLabel);
    searchRow->addWidget(m_colourCombo);
    searchRow->addSpacing(6);
    searchRow->addWidget(m_summary);
    searchRow->addSpacing(6);
    searchRow->addWidget(m_fit);

    // The plot: no axes (layout coordinates mean nothing to read), the whole widget is map.
    m_plot = new QCustomPlot;
    m_plot->setObjectName("clusterPlot");
    m_plot->setMouseTracking(true);
    m_plot->setFocusPolicy(Qt::ClickFocus); // Escape clears the selection
    m_plot->setMinimumSize(320, 240);
    m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    m_plot->setPlottingHint(QCP::phCacheLabels);
    m_plot->axisRect()->setRangeZoomFactor(0.85);
    m_plot->axisRect()->setAutoMargins(QCP::msNone);
    m_plot->axisRect()->setMargins(QMargins(0, 0, 0, 0));
    for (QCPAxis* axis : {m_plot->xAxis, m_plot->yAxis, m_plot->xAxis2, m_plot->yAxis2}) {
        axis->setVisible(false);
        axis->grid()->setVisible(false);
    }
    m_plot->setBackground(QColor(0xfd, 0xfd, 0xfe));
    m_plot->addLayer("route", m_plot->layer("main"), QCustomPlot::limAbove);
    m_plot->addLayer("labels", m_plot->layer("route"), QCustomPlot::limAbove);
    m_plot->addLayer("query", m_plot->layer("labels"), QCustomPlot::limAbove);
    m_plot->setCurrentLayer("main");

    m_density = new QCPColorMap(m_plot->xAxis, m_plot->yAxis);
    m_density->setGradient(densityGradient());
    m_density->setDataRange(QCPRange(0, kPaletteSize + 1));
    m_density->setInterpolate(true);
    m_density->setTightBoundary(false);
    m_density->setVisible(false);
    m_noiseGraph = m_plot->addGraph(); // first: under the clusters' points
    m_noiseGraph->setObjectName("noisePoints");
    m_noiseGraph->setLineStyle(QCPGraph::lsNone);
    m_noiseGraph->setAdaptiveSampling(true);
    for (int colour = 0; colour < kPaletteSize; ++colour) {
        QCPGraph* graph = m_plot->addGraph();
        graph->setObjectName(QStringLiteral("colourPoints%1").arg(colour));
        graph->setLineStyle(QCPGraph::lsNone);
        graph->setAdaptiveSampling(true);
        m_colourGraphs.push_back(graph);
    }
    m_selectedGraph = m_plot->addGraph();
    m_matchGraph = m_plot->addGraph();
    m_hoverGraph = m_plot->addGraph();
    m_routeGraph = m_plot->addGraph();
    m_selectedGraph->setObjectName("selectedPoints");
    m_matchGraph->setObjectName("searchMarks");
    m_hoverGraph->setObjectName("hoverMark");
    m_routeGraph->setObjectName("routeStar");
    for (QCPGraph* graph : {m_selectedGraph, m_matchGraph, m_hoverGraph, m_routeGraph}) {
        graph->setLineStyle(QCPGraph::lsNone);
        graph->setAdaptiveSampling(true);
    }
    m_hoverGraph->setLayer("overlay"); // buffered: hovering repaints only this layer
    m_routeGraph->setLayer("query");
    m_routeGraph->setVisible(false);

    // Under the map, not over it: a corner of the map may hold a cluster.
    m_legend = new ColourLegend;
    m_legend->setObjectName("colourLegend");
    m_legend->hide();

    m_hint = new QCPItemText(m_plot);
    m_hint->setLayer("labels");
    m_hint->position->setType(QCPItemPosition::ptAxisRectRatio);
    m_hint->position->setCoords(0.0, 1.0);
    m_hint->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);
    m_hint->setPadding(QMargins(8, 4, 8, 5));
    m_hint->setColor(QColor(0x6b, 0x6b, 0x6b));
    m_hint->setBrush(QColor(255, 255, 255, 200));
    m_hint->setFont(scaledFont(font(), 0.9, QFont::Normal));

    connect(m_plot, &QCustomPlot::afterLayout, this, [this] {
        fixAspect();
        placeLabels();
    });
    connect(m_plot->xAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this,
            &ClusterMapView::scheduleDensity);
    connect(m_plot->yAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this,
            &ClusterMapView::scheduleDensity);
    connect(m_plot, &QCustomPlot::mouseWheel, this, [this] { m_autoFit = false; });
    connect(m_plot, &QCustomPlot::mouseMove, this, &ClusterMapView::onMouseMove);
    connect(m_plot, &QCustomPlot::mousePress, this, &ClusterMapView::onMousePress);
    connect(m_plot, &QCustomPlot::mouseRelease, this, &ClusterMapView::onMouseRelease);

    auto* frame = new QFrame;
    frame->setFrameShape(QFrame::StyledPanel);
    auto* frameLayout = new QVBoxLayout(frame);
    frameLayout->setContentsMargins(1, 1, 1, 1);
    frameLayout->addWidget(m_plot);
    frameLayout->addWidget(m_legend, 0, Qt::AlignLeft);

    auto* splitter = new QSplitter(Qt::Horizontal);
    splitter->setObjectName("mapSplitter");
    splitter->setChildrenCollapsible(false);
    splitter->addWidget(frame);
    splitter->addWidget(buildSidePanel());
    splitter->setStretchFactor(0, 1);
    splitter->setStretchFactor(1, 0);
    splitter->setSizes({760, 330});

    auto* page = new QWidget;
    page->setObjectName("mapPage");
    auto* layout = new QVBoxLayout(page);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(8);
    layout->addLayout(searchRow);
    layout->addWidget(splitter, 1);
    return page;
}

QWidget* ClusterMapView::buildSidePanel()
{
    // The selected cluster.
    m_detailsSwatch = new QLabel;
    m_detailsTitle = new QLabel;
    m_detailsTitle->setObjectName("clusterTitle");
    m_detailsTitle->setFont(scaledFont(font(), 1.25, QFont::Bold));
    auto* clearSelection = new QToolButton;
    clearSelection->setObjectName("clearSelectionButton");
    clearSelection->setIcon(style()->standardIcon(QStyle::SP_TitleBarCloseButton));
    clearSelection->setAutoRaise(true);
    clearSelection->setToolTip(tr("Show all clusters again"));
    connect(clearSelection, &QToolButton::clicked, this, [this] { selectCluster(-1); });
    auto* titleRow = new QHBoxLayout;
    titleRow->setContentsMargins(0, 0, 0, 0);
    titleRow->addWidget(m_detailsSwatch);
    titleRow->addWidget(m_detailsTitle, 1);
    titleRow->addWidget(clearSelection);

    m_detailsSize = mutedLabel();
    m_detailsSize->setObjectName("clusterSize");
    auto* keywordsCaption = new QLabel(tr("Keywords"));
    keywordsCaption->setFont(scaledFont(font(), 0.95, QFont::DemiBold));
    m_detailsKeywords = new QLabel;
    m_detailsKeywords->setObjectName("clusterKeywords");
    m_detailsKeywords->setWordWrap(true);
    m_detailsKeywords->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_detailsKeywords->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    auto* samplesCaption = new QLabel(tr("Chunks nearest the centre"));
    samplesCaption->setFont(keywordsCaption->font());
    m_detailsSamples = new QTextBrowser;
    m_detailsSamples->setObjectName("clusterSamples");
    m_detailsSamples->setOpenLinks(false);
    m_detailsSamples->setFrameShape(QFrame::NoFrame);
    QPalette samplesPalette = m_detailsSamples->palette();
    samplesPalette.setColor(QPalette::Base, palette().color(QPalette::Window));
    m_detailsSamples->setPalette(samplesPalette);

    m_detailsBody = new QWidget;
    auto* body = new QVBoxLayout(m_detailsBody);
    body->setContentsMargins(0, 0, 0, 0);
    body->setSpacing(4);
    body->addLayout(titleRow);
    body->addWidget(m_detailsSize);
    body->addSpacing(6);
    body->addWidget(keywordsCaption);
    body->addWidget(m_detailsKeywords);
    body->addSpacing(6);
    body->addWidget(samplesCaption);
    body->addWidget(m_detailsSamples, 1);

    // Without a selection: the run itself.
    m_runInfo = new QLabel;
    m_runInfo->setObjectName("runInfo");
    m_runInfo->setTextFormat(Qt::RichText);
    m_runInfo->setWordWrap(true);
    m_runInfo->setAlignment(Qt::AlignLeft | Qt::AlignTop);
    m_runInfo->setToolTip(tr("Trustworthiness: how faithfully the map keeps each chunk's nearest "
                             "neighbours in embedding space (1 = perfectly)"));
    auto* hint = mutedLabel(tr("Click a cluster on the map, or in the list below, to see its "
                               "keywords and the chunks nearest its centre."));
    hint->setWordWrap(true);
    m_detailsPlaceholder = new QWidget;
    m_detailsPlaceholder->setObjectName("clusterPlaceholder");
    auto* placeholder = new QVBoxLayout(m_detailsPlaceholder);
    placeholder->setContentsMargins(0, 0, 0, 0);
    placeholder->setSpacing(10);
    placeholder->addWidget(m_runInfo);
    placeholder->addWidget(hint);
    placeholder->addStretch();

    auto* details = new QWidget;
    details->setObjectName("clusterDetails");
    auto* detailsLayout = new QVBoxLayout(details);
    detailsLayout->setContentsMargins(10, 6, 6, 6);
    detailsLayout->addWidget(m_detailsPlaceholder, 1);
    detailsLayout->addWidget(m_detailsBody, 1);
    m_detailsBody->hide();

    // Every cluster.
    m_clusterTable = new QTableView;
    m_clusterTable->setObjectName("clusterTable");
    m_clusterTable->setModel(m_clusterProxy);
    m_clusterTable->setSortingEnabled(true);
    m_clusterTable->sortByColumn(ClusterTableModel::ClusterColumn, Qt::AscendingOrder);
    m_clusterTable->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_clusterTable->setSelectionMode(QAbstractItemView::SingleSelection);
    m_clusterTable->setAlternatingRowColors(true);
    m_clusterTable->setWordWrap(false);
    m_clusterTable->setTextElideMode(Qt::ElideRight);
    m_clusterTable->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_clusterTable->verticalHeader()->hide();
    m_clusterTable->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_clusterTable->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 8);
    QHeaderView* header = m_clusterTable->horizontalHeader();
    header->setHighlightSections(false);
    header->setStretchLastSection(false);
    header->setSectionResizeMode(ClusterTableModel::KeywordsColumn, QHeaderView::Stretch);
    const QFontMetrics metrics = fontMetrics();
    header->resizeSection(ClusterTableModel::ClusterColumn,
                          metrics.horizontalAdvance(tr("Cluster")) + 44);
    header->resizeSection(ClusterTableModel::SizeColumn,
                          metrics.horizontalAdvance(QStringLiteral("000,000")) + 24);
    header->resizeSection(ClusterTableModel::MatchesColumn,
                          metrics.horizontalAdvance(tr("Matches")) + 24);
    m_clusterTable->setColumnHidden(ClusterTableModel::MatchesColumn, true);
    const auto clusterOf = [this](const QModelIndex& index) {
        return index.isValid() ? index.data(ClusterTableModel::ClusterRole).toInt() : -1;
    };
    connect(m_clusterTable, &QTableView::clicked, this,
            [this, clusterOf](const QModelIndex& index) { centreOnCluster(clusterOf(index)); });
    connect(m_clusterTable, &QTableView::activated, this,
            [this, clusterOf](const QModelIndex& index) { centreOnCluster(clusterOf(index)); });
    connect(m_clusterTable->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            [this, clusterOf](const QModelIndex& current) {
                if (current.isValid())
                    selectCluster(clusterOf(current));
            });

    auto* tablePane = new QWidget;
    auto* tableLayout = new QVBoxLayout(tablePane);
    tableLayout->setContentsMargins(0, 6, 0, 0);
    auto* tableCaption = new QLabel(tr("All clusters"));
    tableCaption->setFont(scaledFont(font(), 0.95, QFont::DemiBold));
    tableLayout->addWidget(tableCaption);
    tableLayout->addWidget(m_clusterTable, 1);

    auto* splitter = new QSplitter(Qt::Vertical);
    splitter->setObjectName("sideSplitter");
    splitter->setChildrenCollapsible(false);
    splitter->addWidget(details);
    splitter->addWidget(tablePane);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 2);
    splitter->setSizes({360, 240});
    splitter->setMinimumWidth(260);
    return splitter;
}

// ---------------------------------------------------------------------------------------------

void ClusterMapView::showWorkspace(Workspace& workspace)
{
    const QString directory = QString::fromStdString(workspace.directory());
    const bool sameWorkspace = m_workspace && directory == m_directory;
    if (!sameWorkspace)
        clear();
    m_workspace = &workspace;
    m_directory = directory;
    m_newRun->setEnabled(true);
    m_needsLoad = true;
    if (isVisible())
        startLoad(m_requestedRun);
}

void ClusterMapView::clear()
{
    ++*m_searchGeneration;
    ++m_loadGeneration; // a load in flight is ignored when it ends
    m_loading = false;
    m_busy->hide();
    m_workspace = nullptr;
    m_directory.clear();
    m_needsLoad = false;
    m_requestedRun = 0;
    m_runs.clear();
    m_activeRun = 0;
    m_chunkCount = 0;
    m_textCache.clear();
    {
        const QSignalBlocker block(m_search);
        m_search->clear();
    }
    m_searchTimer->stop();
    applyMap(nullptr, false);
    fillRunCombo();
    m_newRun->setEnabled(false);
    m_stack->setCurrentWidget(m_loadingPage);
}

void ClusterMapView::refresh()
{
    if (!m_workspace)
        return;
    m_needsLoad = true;
    if (isVisible())
        startLoad(shownRun() > 0 ? shownRun() : m_requestedRun);
}

void ClusterMapView::showRun(qint64 runId)
{
    m_requestedRun = runId;
    if (!m_workspace)
        return;
    m_needsLoad = true;
    if (isVisible())
        startLoad(runId);
}

void ClusterMapView::showEvent(QShowEvent* event)
{
    QWidget::showEvent(event);
    if (m_needsLoad && m_workspace)
        startLoad(m_requestedRun > 0 ? m_requestedRun : shownRun());
}

void ClusterMapView::startLoad(qint64 runId)
{
    if (!m_workspace)
        return;
    m_needsLoad = false;
    m_loading = true;
    const int generation = ++m_loadGeneration;
    if (m_map)
        m_busy->show(); // the shown map stays until the new one is ready
    else
        m_stack->setCurrentWidget(m_loadingPage);
    const std::string directory = m_directory.toStdString();
    m_loadWatcher.setFuture(QtConcurrent::run(
        [directory, runId, generation] { return loadMap(directory, runId, generation); }));
}

void ClusterMapView::onLoaded()
{
    const std::shared_ptr<MapLoad> load = m_loadWatcher.result();
    if (!load || load->generation != m_loadGeneration)
        return; // superseded, or the workspace was closed meanwhile
    m_loading = false;
    m_busy->hide();
    if (!load->error.isEmpty()) {
        m_errorText->setText(
            tr("Reading the clustering runs of this workspace failed: %1").arg(load->error));
        m_stack->setCurrentWidget(m_errorPage);
        emit loadFailed(load->error);
        return;
    }
    m_runs = load->runs;
    m_activeRun = load->activeRun;
    m_chunkCount = load->chunks;
    const bool sameRun = m_map && load->map && m_map->run.id == load->map->run.id;
    if (load->map)
        m_requestedRun = load->map->run.id;
    applyMap(load->map, sameRun);
    fillRunCombo();

    if (m_chunkCount == 0) {
        m_stack->setCurrentWidget(m_noChunksPage);
    } else if (!m_map) {
        m_noRunText->setText(
            tr("The corpus has %L1 chunks. A clustering run embeds them, groups them into k "
               "clusters (one per expert), names each cluster by its keywords and lays every "
               "chunk out on this map.")
                .arg(m_chunkCount));
        m_stack->setCurrentWidget(m_noRunPage);
    } else {
        m_stack->setCurrentWidget(m_mapPage);
        emit loaded(m_map->run.id);
    }
}

void ClusterMapView::applyMap(std::shared_ptr<const ClusterMap> map, bool keepView)
{
    const int previousSelection = keepView ? m_selected : -1;
    const QString query = m_search->text().trimmed();
    m_map = std::move(map);
    m_selected = -1;
    m_hovered = -1;
    m_matchCount = -1;
    m_densityShown = false;
    clearRoute();
    m_clusterModel->setMap(m_map);
    m_clusterTable->setColumnHidden(ClusterTableModel::MatchesColumn, true);
    m_matchLabel->clear();
    m_selectedGraph->setData(QSharedPointer<QCPGraphDataContainer>::create());
    m_matchGraph->setData(QSharedPointer<QCPGraphDataContainer>::create());
    m_hoverGraph->data()->clear();
    m_density->setVisible(false);

    if (!m_map) {
        for (QCPGraph* graph : m_colourGraphs) // the containers belong to the old map
            graph->setData(QSharedPointer<QCPGraphDataContainer>::create());
        m_legend->hide();
        m_noiseGraph->setData(QSharedPointer<QCPGraphDataContainer>::create());
        m_summary->clear();
        buildLabels();
        showDetails();
        m_plot->replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    for (QCPGraph* graph : m_colourGraphs)
        graph->setVisible(true);
    applyColourMode(); // the graphs' data and the legend
    m_noiseGraph->setData(m_map->noiseData);
    m_noiseGraph->setVisible(true);
    int nonEmpty = 0;
    for (int c = 0; c < m_map->clusterCount(); ++c)
        nonEmpty += m_map->memberCount(c) > 0 ? 1 : 0;
    QString summary = tr("%L1 chunks · %L2 clusters · %3")
                          .arg(qint64(m_map->placements.size()))
                          .arg(nonEmpty)
                          .arg(embedderName(m_map->run.embedder));
    if (!m_map->layoutMethod.isEmpty())
        summary += QStringLiteral(" · ") + layoutName(m_map->layoutMethod);
    m_summary->setText(summary);
    if (qint64(m_map->placements.size()) < m_chunkCount) {
        m_summary->setToolTip(tr("%L1 chunks were imported after this run and are not on its "
                                 "map; a new run includes them.")
                                  .arg(m_chunkCount - qint64(m_map->placements.size())));
    } else {
        m_summary->setToolTip(QString());
    }
    buildLabels();
    if (!keepView) {
        m_fitPending = true;
        fitRanges();
    }
    updateStyles();
    if (previousSelection >= 0 && previousSelection < m_map->clusterCount())
        selectCluster(previousSelection);
    else
        showDetails();
    if (!query.isEmpty())
        startSearch();
    updateDensity(); // replots

}

void ClusterMapView::fillRunCombo()
{
    const QSignalBlocker block(m_runCombo);
    m_runCombo->clear();
    for (auto it = m_runs.rbegin(); it != m_runs.rend(); ++it) {
        const ClusterRunInfo& run = *it;
        QString text = tr("#%1 · %2 · k=%3 · %4")
                           .arg(run.id)
                           .arg(embedderName(run.embedder))
                           .arg(run.k)
                           .arg(runDate(run.createdAt));
        if (run.balanced)
            text += tr(" · balanced");
        if (run.id == m_activeRun)
            text += tr(" · active");
        m_runCombo->addItem(text, QVariant::fromValue(qint64(run.id)));
        const int index = m_runCombo->count() - 1;
        if (run.id == m_activeRun) {
            QFont bold = m_runCombo->font();
            bold.setBold(true);
            m_runCombo->setItemData(index, bold, Qt::FontRole);
            m_runCombo->setItemData(index, tr("The active run: chat routes with it and experts "
                                              "train on its clusters"),
                                    Qt::ToolTipRole);
        }
        if (m_map && run.id == m_map->run.id)
            m_runCombo->setCurrentIndex(index);
    }
    if (m_runs.empty())
        m_runCombo->addItem(tr("No clustering runs"), QVariant::fromValue(qint64(0)));
    m_runCombo->setEnabled(!m_runs.empty());
    // As wide as its longest entry (the size hint is cached across refills).
    int widest = 0;
    for (int i = 0; i < m_runCombo->count(); ++i)
        widest = std::max(widest, m_runCombo->fontMetrics().horizontalAdvance(
                                      m_runCombo->itemText(i)));
    m_runCombo->setMinimumWidth(std::min(widest + 48, 520));
    updateRunButtons();
}

void ClusterMapView::updateRunButtons()
{
    const qint64 shown = shownRun();
    const bool canActivate = shown > 0 && shown != m_activeRun && !m_activateWatcher.isRunning();
    m_makeActive->setEnabled(canActivate);
    m_makeActive->setToolTip(
        shown > 0 && shown == m_activeRun
            ? tr("This run is already the active one")
            : tr("Make this run the one chat routes with and experts train on"));
}

void ClusterMapView::makeShownRunActive()
{
    const qint64 runId = shownRun();
    if (!m_workspace || runId <= 0 || runId == m_activeRun || m_activateWatcher.isRunning())
        return;
    const std::string directory = m_directory.toStdString();
    m_makeActive->setEnabled(false);
    // Off the UI thread: the write may wait for another process's transaction.
    m_activateWatcher.setFuture(QtConcurrent::run([directory, runId]() -> QString {
        try {
            Workspace workspace = Workspace::open(directory);
            setActiveClusterRun(workspace, runId);
            return {};
        } catch (const std::exception& e) {
            return QString::fromUtf8(e.what());
        }
    }));
}

void ClusterMapView::newClusteringRun()
{
    if (!m_workspace)
        return;
    auto* dialog = new ClusterRunDialog(m_directory, m_chunkCount, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    if (m_map) {
        // Start from the shown run's k.
        ClusterRunOptions options = dialog->options();
        options.kmeans.k = m_map->run.k;
        dialog->setOptions(options);
    }
    const QString directory = m_directory;
    connect(dialog, &ClusterRunDialog::runFinished, this, [this, directory](qint64 runId) {
        if (m_directory != directory)
            return; // another workspace is shown by now
        emit runCreated(runId);
        showRun(runId);
    });
    dialog->open(); // not exec(): the event loop keeps running
}

qint64 ClusterMapView::shownRun() const { return m_map ? m_map->run.id : 0; }

int ClusterMapView::clusterCount() const { return m_map ? m_map->clusterCount() : 0; }

qint64 ClusterMapView::pointCount() const
{
    return m_map ? qint64(m_map->placements.size()) : 0;
}

qint64 ClusterMapView::plottedPointCount() const
{
    qint64 total = 0;
    for (QCPGraph* graph : m_colourGraphs)
        total += graph->dataCount();
    return total + m_noiseGraph->dataCount();
}

QList<QCPItemText*> ClusterMapView::labels() const
{
    QList<QCPItemText*> list;
    for (QCPItemText* label : m_labels) {
        if (label)
            list << label;
    }
    return list;
}

bool ClusterMapView::isDensityShown() const { return m_densityShown; }

void ClusterMapView::setDensityThreshold(qint64 points)
{
    m_densityThreshold = std::max<qint64>(points, 0);
    updateDensity();
}

ChunkPlacement ClusterMapView::placement(int index) const
{
    if (!m_map || index < 0 || size_t(index) >= m_map->placements.size())
        return {};
    return m_map->placements[size_t(index)];
}

QColor ClusterMapView::clusterColour(int cluster) const
{
    if (!m_map || cluster < 0 || cluster >= m_map->clusterCount())
        return QColor(0x88, 0x88, 0x88);
    return bandColour(bands()[size_t(cluster)]);
}

// ---------------------------------------------------------------------------------------------
// Colour modes

int ClusterMapView::noValueBand() { return kNoValueBand; }

int ClusterMapView::colourBand(int cluster) const
{
    if (!m_map || cluster < 0 || cluster >= m_map->clusterCount())
        return -1;
    return bands()[size_t(cluster)];
}

QColor ClusterMapView::bandColour(int band) const
{
    switch (m_colourMode) {
    case ColourMode::Cluster: break;
    case ColourMode::Gain:
        return QColor::fromRgb(band >= 0 && band < kScaleSteps ? kGainScale[band] : kNoValue);
    case ColourMode::Traffic:
        return QColor::fromRgb(band >= 0 && band < kScaleSteps ? kTrafficScale[band]
                                                               : kNoValue);
    }
    return paletteColour(band);
}

const std::vector<int>& ClusterMapView::bands() const
{
    switch (m_colourMode) {
    case ColourMode::Cluster: break;
    case ColourMode::Gain: return m_map->gainBand;
    case ColourMode::Traffic: return m_map->trafficBand;
    }
    return m_map->colour;
}

void ClusterMapView::setColourMode(ColourMode mode)
{
    {
        const QSignalBlocker block(m_colourCombo);
        m_colourCombo->setCurrentIndex(m_colourCombo->findData(int(mode)));
    }
    if (mode == m_colourMode)
        return;
    m_colourMode = mode;
    if (!m_map) {
        updateLegend();
        return;
    }
    applyColourMode();
    updateStyles(); // points and labels
    if (m_selected >= 0)
        showDetails(); // the swatch
    updateDensity(); // replots
}

void ClusterMapView::applyColourMode()
{
    m_density->setGradient(densityGradient([this](int band) { return bandColour(band); }));
    if (m_map) {
        const auto& data = m_colourMode == ColourMode::Gain      ? m_map->gainData
                           : m_colourMode == ColourMode::Traffic ? m_map->trafficData
                                                                 : m_map->colourData;
        for (int band = 0; band < kPaletteSize; ++band)
            m_colourGraphs[size_t(band)]->setData(data[size_t(band)]);
        std::vector<QColor> swatches;
        for (int c = 0; c < m_map->clusterCount(); ++c)
            swatches.push_back(clusterColour(c));
        m_clusterModel->setSwatchColours(std::move(swatches));
    }
    updateLegend();
}

void ClusterMapView::updateLegend()
{
    if (!m_map || m_colourMode == ColourMode::Cluster) {
        m_legend->hide();
        return;
    }
    std::vector<QColor> colours;
    for (int band = 0; band < kScaleSteps; ++band)
        colours.push_back(bandColour(band));
    const QColor none = bandColour(kNoValueBand);
    if (m_colourMode == ColourMode::Gain) {
        const QString extent = QLocale().toString(m_map->gainExtent * 100, 'f', 1);
        m_legend->setScale(tr("Expert gain (share of the base's perplexity removed)"), colours,
                           tr("−%1 %").arg(extent), tr("+%1 %").arg(extent), 0.5, none,
                           tr("no expert"));
    } else {
        m_legend->setScale(tr("Questions routed to the cluster"), colours,
                           QLocale().toString(qint64(1)),
                           QLocale().toString(qint64(std::max<int64_t>(m_map->mostQuestions, 1))),
                           -1, none, tr("no questions"));
    }
    m_legend->show();
}

// ---------------------------------------------------------------------------------------------

void ClusterMapView::buildLabels()
{
    for (QCPItemText* label : m_labels) {
        if (label)
            m_plot->removeItem(label);
    }
    m_labels.clear();
    m_labelRects.clear();
    m_labelSizes.clear();
    if (!m_map)
        return;
    std::vector<int> rank(size_t(m_map->clusterCount()), 0);
    for (size_t i = 0; i < m_map->bySize.size(); ++i)
        rank[size_t(m_map->bySize[i])] = int(i);
    m_labels.assign(size_t(m_map->clusterCount()), nullptr);
    m_labelRects.assign(size_t(m_map->clusterCount()), QRect());
    m_labelSizes.assign(size_t(m_map->clusterCount()), QSize());
    for (int c = 0; c < m_map->clusterCount(); ++c) {
        if (m_map->memberCount(c) == 0 || m_map->label[size_t(c)].isEmpty())
            continue;
        auto* label = new QCPItemText(m_plot);
        label->setLayer("labels");
        label->setObjectName(QStringLiteral("clusterLabel%1").arg(c));
        label->position->setType(QCPItemPosition::ptPlotCoords);
        label->position->setCoords(m_map->clusters[size_t(c)].x, m_map->clusters[size_t(c)].y);
        label->setPositionAlignment(Qt::AlignCenter);
        label->setText(m_map->label[size_t(c)]);
        label->setFont(labelFont(rank[size_t(c)]));
        label->setColor(QColor(0x1d, 0x1d, 0x1f));
        label->setBrush(QColor(255, 255, 255, 215));
        label->setPen(m_map->negativeMargin[size_t(c)]
                          ? QPen(QColor(0xb2, 0x18, 0x2b), 2.0)
                          : QPen(clusterColour(c).darker(110), 1.2));
        label->setPadding(QMargins(6, 2, 6, 3));
        m_labels[size_t(c)] = label;
        m_labelSizes[size_t(c)] = labelSize(label); // measured once: placing runs every replot
    }
}

QFont ClusterMapView::labelFont(int rank) const
{
    return rank < kMajorLabels ? scaledFont(font(), 1.0, QFont::DemiBold)
                               : scaledFont(font(), 0.88, QFont::Normal);
}

QSize ClusterMapView::labelSize(const QCPItemText* label) const
{
    const QMargins padding = label->padding();
    return QFontMetrics(label->font()).size(0, label->text())
           + QSize(padding.left() + padding.right() + 2, padding.top() + padding.bottom() + 2);
}

void ClusterMapView::placeLabels()
{
    if (!m_map || m_labels.empty())
        return;
    const QRect area = m_plot->axisRect()->rect();
    std::vector<QRect> placed;
    std::vector<int> order;
    order.reserve(m_map->bySize.size() + 1);
    if (m_selected >= 0)
        order.push_back(m_selected);
    for (int c : m_map->bySize) {
        if (c != m_selected)
            order.push_back(c);
    }
    const auto overlaps = [&placed](const QRect& rect) {
        const QRect spaced = rect.adjusted(-kLabelGap, -kLabelGap, kLabelGap, kLabelGap);
        return std::any_of(placed.begin(), placed.end(),
                           [&spaced](const QRect& other) { return spaced.intersects(other); });
    };
    // Largest clusters first: a label sits on its cluster's centre, or, if another label is
    // there, just above, below or beside it; failing all, or once labels cover a fifth of the
    // map, it is hidden until zoomed apart.
    const double budget = kLabelCoverage * area.width() * area.height();
    double covered = 0;
    for (int c : order) {
        QCPItemText* label = m_labels[size_t(c)];
        m_labelRects[size_t(c)] = QRect();
        if (!label)
            continue;
        const ClusterInfo& info = m_map->clusters[size_t(c)];
        const QPointF centre(m_plot->xAxis->coordToPixel(info.x),
                             m_plot->yAxis->coordToPixel(info.y));
        const QSize size = c == m_selected ? labelSize(label) : m_labelSizes[size_t(c)];
        const double w = size.width(), h = size.height();
        const QPointF candidates[] = {{0, 0},           {0, -(h + 4)},   {0, h + 4},
                                      {w / 2 + 8, 0},   {-(w / 2 + 8), 0}, {0, -2 * (h + 4)},
                                      {0, 2 * (h + 4)}};
        bool visible = false;
        QRect rect;
        QPointF at = centre;
        if (area.contains(centre.toPoint())
            && (c == m_selected || covered + w * h <= budget)) {
            for (const QPointF& offset : candidates) {
                at = centre + offset;
                rect = QRect(int(at.x() - w / 2), int(at.y() - h / 2), size.width(),
                             size.height());
                // A cluster near the edge keeps its whole label: moved inward, not clipped.
                const QPoint before = rect.topLeft();
                rect.moveLeft(std::clamp(rect.left(), area.left(),
                                         std::max(area.left(), area.right() - rect.width())));
                rect.moveTop(std::clamp(rect.top(), area.top(),
                                        std::max(area.top(), area.bottom() - rect.height())));
                at += QPointF(rect.topLeft() - before);
                const bool shifted = !offset.isNull();
                if (shifted && !area.contains(rect))
                    continue;
                if (c == m_selected || !overlaps(rect)) {
                    visible = true;
                    break;
                }
            }
        }
        if (visible && at != centre) {
            label->position->setCoords(m_plot->xAxis->pixelToCoord(at.x()),
                                       m_plot->yAxis->pixelToCoord(at.y()));
        } else {
            label->position->setCoords(info.x, info.y);
        }
        label->setVisible(visible);
        if (visible) {
            placed.push_back(rect);
            m_labelRects[size_t(c)] = rect;
            covered += w * h;
        }
    }
}

void ClusterMapView::updateStyles()
{
    if (!m_map)
        return;
    const double diameter = pointDiameter(qint64(m_map->placements.size()));
    const bool dimmed = m_selected >= 0 || m_matchCount >= 0;
    for (int colour = 0; colour < kPaletteSize; ++colour) {
        QColor fill = bandColour(colour);
        if (dimmed) {
            fill = towardWhite(fill, 0.78);
        } else {
            fill.setAlpha(210); // overlapping points read as denser
        }
        m_colourGraphs[size_t(colour)]->setScatterStyle(
            QCPScatterStyle(discPixmap(fill, diameter)));
    }
    m_noiseGraph->setScatterStyle(QCPScatterStyle(discPixmap(
        QColor(0xa0, 0xa0, 0xa0, dimmed ? 90 : 170), std::max(1.5, diameter * 0.6))));
    if (m_selected >= 0) {
        const QColor colour = clusterColour(m_selected);
        m_selectedGraph->setScatterStyle(
            QCPScatterStyle(discPixmap(colour, diameter + 0.5, colour.darker(125))));
    }
    m_matchGraph->setScatterStyle(
        QCPScatterStyle(ringPixmap(QColor(0x1d, 0x1d, 0x1f), diameter + 4, 1.5)));
    m_hoverGraph->setScatterStyle(
        QCPScatterStyle(ringPixmap(QColor(0, 0, 0), diameter + 8, 2.0)));
    std::vector<int> rank(size_t(m_map->clusterCount()), 0);
    for (size_t i = 0; i < m_map->bySize.size(); ++i)
        rank[size_t(m_map->bySize[i])] = int(i);
    const QFont emphasised = scaledFont(font(), 1.1, QFont::Bold);
    for (int c = 0; c < int(m_labels.size()); ++c) {
        QCPItemText* label = m_labels[size_t(c)];
        if (!label)
            continue;
        const bool selected = c == m_selected;
        label->setFont(selected ? emphasised : labelFont(rank[size_t(c)]));
        label->setPen(QPen(clusterColour(c).darker(110), selected ? 2.0 : 1.2));
        label->setBrush(QColor(255, 255, 255, selected ? 240 : 215));
        label->setColor(m_selected >= 0 && !selected ? QColor(0x55, 0x55, 0x58)
                                                      : QColor(0x1d, 0x1d, 0x1f));
    }
}

bool ClusterMapView::fitRanges()
{
    const QRect area = m_plot->axisRect()->rect();
    if (!m_map || area.width() < 2 || area.height() < 2)
        return false; // not laid out yet: afterLayout fits
    m_fitPending = false;
    m_autoFit = true;
    m_fittedSize = area.size();
    QRectF bounds = m_map->bounds;
    if (bounds.width() <= 0)
        bounds.adjust(-1, 0, 1, 0);
    if (bounds.height() <= 0)
        bounds.adjust(0, -1, 0, 1);
    const double usableWidth = std::max(area.width() - 2 * kFitMarginPixels, 40);
    const double usableHeight = std::max(area.height() - 2 * kFitMarginPixels, 40);
    const double unitsPerPixel =
        std::max(bounds.width() / usableWidth, bounds.height() / usableHeight);
    const QPointF centre = bounds.center();
    m_plot->xAxis->setRange(centre.x(), unitsPerPixel * area.width(), Qt::AlignCenter);
    m_plot->yAxis->setRange(centre.y(), unitsPerPixel * area.height(), Qt::AlignCenter);
    return true;
}

void ClusterMapView::fixAspect()
{
    if (!m_map)
        return;
    const QRect area = m_plot->axisRect()->rect();
    if (area.width() < 2 || area.height() < 2)
        return;
    // Until the person moves the map, it keeps fitting the view as the view changes size.
    if (m_fitPending || (m_autoFit && area.size() != m_fittedSize)) {
        fitRanges();
        return;
    }
    // One unit is as long across as up: the layout's distances mean something. Only when off,
    // so that a replot does not announce a range change and schedule another.
    const double sx = m_plot->xAxis->range().size() / area.width();
    const double sy = m_plot->yAxis->range().size() / area.height();
    if (sx > 0 && sy > 0 && std::abs(sx / sy - 1) > 1e-3)
        m_plot->yAxis->setScaleRatio(m_plot->xAxis, 1.0);
}

void ClusterMapView::fitAll()
{
    if (!m_map)
        return;
    m_fitPending = true;
    m_plot->replot();
}

void ClusterMapView::scheduleDensity() { m_densityTimer->start(); }

void ClusterMapView::updateDensity()
{
    m_densityTimer->stop();
    if (!m_map) {
        m_densityShown = false;
        updateHintText();
        return;
    }
    const QCPRange xr = m_plot->xAxis->range();
    const QCPRange yr = m_plot->yAxis->range();
    const GridIndex& grid = m_map->grid;
    const auto inView = [&](size_t i) {
        return grid.xs[i] >= xr.lower && grid.xs[i] <= xr.upper && grid.ys[i] >= yr.lower
               && grid.ys[i] <= yr.upper;
    };
    qint64 visible = 0;
    grid.visitCells(xr.lower, xr.upper, yr.lower, yr.upper, [&](int cell, bool inside) {
        const size_t first = size_t(grid.start[size_t(cell)]);
        const size_t last = size_t(grid.start[size_t(cell) + 1]);
        if (inside) {
            visible += qint64(last - first);
            return;
        }
        for (size_t i = first; i < last; ++i)
            visible += inView(i) ? 1 : 0;
    });
    const bool density = visible > m_densityThreshold;
    if (density) {
        // A 2-D histogram of the view; each bin takes the colour of its most frequent cluster
        // (Boyer-Moore majority vote: one pass, no per-cluster counts).
        const QRect area = m_plot->axisRect()->rect();
        const int nx = std::max(8, area.width() / kDensityBinPixels);
        const int ny = std::max(8, area.height() / kDensityBinPixels);
        const double binWidth = xr.size() / nx, binHeight = yr.size() / ny;
        const double xScale = 1 / binWidth, yScale = 1 / binHeight;
        std::vector<int32_t> counts(size_t(nx) * ny, 0), leader(size_t(nx) * ny, -1),
            votes(size_t(nx) * ny, 0);
        grid.visitCells(xr.lower, xr.upper, yr.lower, yr.upper, [&](int cell, bool inside) {
            const size_t first = size_t(grid.start[size_t(cell)]);
            const size_t last = size_t(grid.start[size_t(cell) + 1]);
            for (size_t i = first; i < last; ++i) {
                if (!inside && !inView(i))
                    continue;
                const int bx = std::min(int((grid.xs[i] - xr.lower) * xScale), nx - 1);
                const int by = std::min(int((grid.ys[i] - yr.lower) * yScale), ny - 1);
                const size_t bin = size_t(by) * nx + bx;
                const int32_t cluster = grid.clusters[i];
                ++counts[bin];
                if (votes[bin] == 0) {
                    leader[bin] = cluster;
                    votes[bin] = 1;
                } else {
                    votes[bin] += leader[bin] == cluster ? 1 : -1;
                }
            }
        });
        const int32_t most = *std::max_element(counts.begin(), counts.end());
        const double logMost = std::log1p(double(std::max(most, 1)));
        QCPColorMapData* data = m_density->data();
        data->setSize(nx, ny);
        data->setRange(QCPRange(xr.lower + binWidth / 2, xr.upper - binWidth / 2),
                       QCPRange(yr.lower + binHeight / 2, yr.upper - binHeight / 2));
        for (int by = 0; by < ny; ++by) {
            for (int bx = 0; bx < nx; ++bx) {
                const size_t bin = size_t(by) * nx + bx;
                if (counts[bin] == 0) {
                    data->setCell(bx, by, std::numeric_limits<double>::quiet_NaN());
                    continue;
                }
                const int cluster = std::max(leader[bin], 0);
                const int band = m_selected >= 0 && cluster != m_selected
                                     ? kGreyBand
                                     : bands()[size_t(cluster)];
                const double t = 0.35 + 0.6 * std::log1p(double(counts[bin])) / logMost;
                data->setCell(bx, by, band + std::min(t, 0.98));
            }
        }
    }
    m_densityShown = density;
    m_density->setVisible(density);
    for (QCPGraph* graph : m_colourGraphs)
        graph->setVisible(!density);
    m_noiseGraph->setVisible(!density);
    updateHintText();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void ClusterMapView::updateHintText()
{
    if (!m_map) {
        m_hint->setVisible(false);
        return;
    }
    m_hint->setVisible(true);
    m_hint->setText(m_densityShown
                        ? tr("Density of the chunks in view, coloured by the commonest cluster "
                             "· zoom in to see single chunks")
                        : tr("Scroll to zoom · drag to move · click a cluster to select it"));
}

// ---------------------------------------------------------------------------------------------

void ClusterMapView::selectCluster(int cluster)
{
    if (!m_map || cluster < -1 || cluster >= m_map->clusterCount())
        return;
    if (cluster != m_selected) {
        m_selected = cluster;
        auto data = QSharedPointer<QCPGraphDataContainer>::create();
        if (cluster >= 0) {
            QVector<QCPGraphData> points;
            points.reserve(qsizetype(m_map->memberCount(cluster)));
            for (int32_t i = m_map->memberStart[size_t(cluster)];
                 i < m_map->memberStart[size_t(cluster) + 1]; ++i) {
                const ChunkPlacement& p = m_map->placements[size_t(m_map->members[size_t(i)])];
                points.append(QCPGraphData(p.x, p.y));
            }
            data->set(points, true); // members are sorted by x
        }
        m_selectedGraph->setData(data);
        updateStyles();
        showDetails();
        if (m_densityShown)
            updateDensity(); // recolour: the other clusters' bins grey
        m_plot->replot(QCustomPlot::rpQueuedReplot);
        emit clusterSelected(cluster);
    }
    // The list follows the map.
    const int row = m_clusterModel->rowOf(cluster);
    QItemSelectionModel* selection = m_clusterTable->selectionModel();
    const QSignalBlocker block(selection);
    if (row < 0) {
        selection->clear();
    } else {
        const QModelIndex index = m_clusterProxy->mapFromSource(m_clusterModel->index(row, 0));
        selection->setCurrentIndex(index, QItemSelectionModel::ClearAndSelect
                                              | QItemSelectionModel::Rows);
        m_clusterTable->scrollTo(index);
    }
    m_clusterTable->viewport()->update();
}

void ClusterMapView::centreOnCluster(int cluster)
{
    if (!m_map || cluster < 0 || cluster >= m_map->clusterCount())
        return;
    selectCluster(cluster);
    const ClusterInfo& info = m_map->clusters[size_t(cluster)];
    double halfWidth = m_plot->xAxis->range().size() / 2;
    double halfHeight = m_plot->yAxis->range().size() / 2;
    // Zoom out if the cluster does not fit.
    double minX = info.x, maxX = info.x, minY = info.y, maxY = info.y;
    for (int32_t i = m_map->memberStart[size_t(cluster)];
         i < m_map->memberStart[size_t(cluster) + 1]; ++i) {
        const ChunkPlacement& p = m_map->placements[size_t(m_map->members[size_t(i)])];
        minX = std::min(minX, double(p.x));
        maxX = std::max(maxX, double(p.x));
        minY = std::min(minY, double(p.y));
        maxY = std::max(maxY, double(p.y));
    }
    const double needed = std::max({(std::max(maxX - info.x, info.x - minX)) / (halfWidth * 0.9),
                                    (std::max(maxY - info.y, info.y - minY)) / (halfHeight * 0.9),
                                    1.0});
    halfWidth *= needed;
    halfHeight *= needed;
    m_autoFit = false;
    m_plot->xAxis->setRange(info.x - halfWidth, info.x + halfWidth);
    m_plot->yAxis->setRange(info.y - halfHeight, info.y + halfHeight);
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void ClusterMapView::showDetails()
{
    if (!m_map || m_selected < 0) {
        m_runInfo->setText(m_map ? runSummaryHtml() : QString());
        m_detailsBody->hide();
        m_detailsPlaceholder->show();
        return;
    }
    const int c = m_selected;
    const ClusterInfo& info = m_map->clusters[size_t(c)];
    const qint64 size = m_map->memberCount(c);
    QPixmap swatch(16, 16);
    swatch.fill(Qt::transparent);
    {
        QPainter painter(&swatch);
        painter.setRenderHint(QPainter::Antialiasing);
        painter.setPen(clusterColour(c).darker(125));
        painter.setBrush(clusterColour(c));
        painter.drawRoundedRect(QRectF(0.5, 0.5, 15, 15), 4, 4);
    }
    m_detailsSwatch->setPixmap(swatch);
    m_detailsTitle->setText(tr("Cluster %1").arg(c));
    const qint64 total = qint64(m_map->placements.size());
    const double share = total > 0 ? 100.0 * double(size) / double(total) : 0;
    m_detailsSize->setText(size == 1 ? tr("1 chunk · %1% of the map").arg(share, 0, 'f', 1)
                                     : tr("%L1 chunks · %2% of the map")
                                           .arg(size)
                                           .arg(share, 0, 'f', 1));
    QStringList words;
    for (const std::string& word : info.keywords)
        words << QString::fromStdString(word);
    m_detailsKeywords->setText(words.isEmpty() ? tr("(none)") : words.join(QStringLiteral(", ")));

    QString html;
    const QString muted = QStringLiteral("#707070");
    for (const auto& [chunkId, text] : m_map->samples[size_t(c)]) {
        html += QStringLiteral("<p style='margin-top:0; margin-bottom:10px'>"
                               "<span style='color:%1'>%2</span><br>%3</p>")
                    .arg(muted, tr("Chunk %1").arg(chunkId),
                         preview(text, kSampleChars).toHtmlEscaped());
    }
    if (html.isEmpty())
        html = QStringLiteral("<p style='color:%1'>%2</p>").arg(muted, tr("No sample chunks."));
    m_detailsSamples->setHtml(html);
    m_detailsPlaceholder->hide();
    m_detailsBody->show();
}

QString ClusterMapView::runSummaryHtml() const
{
    const ClusterRunInfo& run = m_map->run;
    const QJsonObject metrics =
        QJsonDocument::fromJson(QByteArray::fromStdString(run.metrics)).object();
    const QJsonObject parameters =
        QJsonDocument::fromJson(QByteArray::fromStdString(run.parameters)).object();
    qint64 smallest = -1, largest = 0, empty = 0;
    for (int c = 0; c < m_map->clusterCount(); ++c) {
        const qint64 size = m_map->memberCount(c);
        if (size == 0) {
            ++empty;
            continue;
        }
        smallest = smallest < 0 ? size : std::min(smallest, size);
        largest = std::max(largest, size);
    }
    const auto row = [](const QString& name, const QString& value) {
        return QStringLiteral("<tr><td style='color:#707070; padding-right:10px'>%1</td>"
                              "<td>%2</td></tr>")
            .arg(name.toHtmlEscaped(), value.toHtmlEscaped());
    };
    QString clusters = run.balanced
                           ? tr("%L1, balanced (at most %2 × the mean size)")
                                 .arg(run.k)
                                 .arg(parameters.value("max_cluster_size_factor").toDouble(1.5))
                           : tr("%L1 (k-means)").arg(run.k);
    if (parameters.value("method").toString() == QLatin1String("hdbscan")) {
        clusters = tr("%L1 (HDBSCAN, minimum size %L2); %L3 noise chunks (grey), each trained "
                      "and routed with its nearest cluster")
                       .arg(run.k)
                       .arg(parameters.value("min_cluster_size").toInt())
                       .arg(qint64(metrics.value("noise").toDouble()));
    }
    if (smallest >= 0)
        clusters += tr("; %L1 to %L2 chunks each").arg(smallest).arg(largest);
    if (empty > 0)
        clusters += tr("; %L1 empty").arg(empty);
    QString embedder = embedderName(run.embedder);
    if (run.dimensions > 0)
        embedder += tr(", %L1 dimensions").arg(run.dimensions);
    QString layout = layoutName(m_map->layoutMethod);
    if (metrics.contains("trustworthiness")) {
        layout += tr(" · trustworthiness %1")
                      .arg(metrics.value("trustworthiness").toDouble(), 0, 'f', 3);
    }
    QString created = runDate(run.createdAt);
    if (run.seconds > 0)
        created += tr(" · took %1 s").arg(run.seconds, 0, 'f', 1);

    QString html = QStringLiteral("<p style='margin-bottom:6px'><b>%1</b>%2</p><table>")
                       .arg(tr("Run #%1").arg(run.id).toHtmlEscaped(),
                            run.id == m_activeRun ? tr(" · active").toHtmlEscaped() : QString());
    html += row(tr("Created"), created);
    html += row(tr("Chunks"), number(qint64(m_map->placements.size())));
    html += row(tr("Embedder"), embedder);
    html += row(tr("Clusters"), clusters);
    html += row(tr("Map"), layout);
    html += QStringLiteral("</table>");
    return html;
}

// ---------------------------------------------------------------------------------------------

void ClusterMapView::setSearch(const QString& query)
{
    {
        const QSignalBlocker block(m_search);
        m_search->setText(query);
    }
    startSearch();
}

void ClusterMapView::startSearch()
{
    m_searchTimer->stop();
    const QString query = m_search->text().trimmed();
    const int generation = ++*m_searchGeneration;
    if (query.isEmpty() || !m_map || !m_workspace) {
        clearMatches();
        return;
    }
    m_matchLabel->setText(tr("Searching…"));
    const std::string directory = m_directory.toStdString();
    std::shared_ptr<const ClusterMap> map = m_map;
    std::shared_ptr<std::atomic<int>> latest = m_searchGeneration;
    m_searchWatcher.setFuture(QtConcurrent::run([directory, query, map, latest, generation] {
        return searchMap(directory, query, map, latest, generation);
    }));
}

void ClusterMapView::onSearched()
{
    const std::shared_ptr<MapSearch> search = m_searchWatcher.result();
    if (!search || search->superseded || search->generation != m_searchGeneration->load())
        return;
    if (!search->error.isEmpty()) {
        clearMatches();
        m_matchLabel->setText(tr("Search failed: %1").arg(search->error));
        emit searchFinished(-1);
        return;
    }
    m_matchCount = search->onMap;
    m_matchGraph->setData(search->points);
    m_clusterModel->setMatches(search->perCluster);
    m_clusterTable->setColumnHidden(ClusterTableModel::MatchesColumn, false);
    QString text = m_matchCount == 0   ? tr("No chunk matches")
                   : m_matchCount == 1 ? tr("1 chunk matches")
                                       : tr("%L1 chunks match").arg(m_matchCount);
    if (search->total > search->onMap)
        text += tr(" (%L1 more not on this run's map)").arg(search->total - search->onMap);
    m_matchLabel->setText(text);
    updateStyles();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
    emit searchFinished(m_matchCount);
}

void ClusterMapView::clearMatches()
{
    const bool hadMatches = m_matchCount >= 0;
    m_matchCount = -1;
    m_matchGraph->setData(QSharedPointer<QCPGraphDataContainer>::create());
    m_matchLabel->clear();
    m_clusterModel->setMatches({});
    m_clusterTable->setColumnHidden(ClusterTableModel::MatchesColumn, true);
    if (hadMatches) {
        updateStyles();
        m_plot->replot(QCustomPlot::rpQueuedReplot);
    }
}

// ---------------------------------------------------------------------------------------------

int ClusterMapView::pointNear(const QPoint& pos, double radius) const
{
    if (!m_map || m_map->placements.empty())
        return -1;
    const QCPAxis* x = m_plot->xAxis;
    const QCPAxis* y = m_plot->yAxis;
    const double cx = x->pixelToCoord(pos.x()), cy = y->pixelToCoord(pos.y());
    const double ux = std::abs(x->pixelToCoord(pos.x() + 1) - cx); // units per pixel
    const double uy = std::abs(y->pixelToCoord(pos.y() + 1) - cy);
    if (ux <= 0 || uy <= 0)
        return -1;
    const GridIndex& grid = m_map->grid;
    int best = -1;
    double bestDistance = radius * radius;
    grid.visitCells(cx - radius * ux, cx + radius * ux, cy - radius * uy, cy + radius * uy,
                    [&](int cell, bool) {
                        for (int32_t i = grid.start[size_t(cell)];
                             i < grid.start[size_t(cell) + 1]; ++i) {
                            const double dx = (grid.xs[size_t(i)] - cx) / ux;
                            const double dy = (grid.ys[size_t(i)] - cy) / uy;
                            const double distance = dx * dx + dy * dy;
                            if (distance <= bestDistance) {
                                bestDistance = distance;
                                best = grid.items[size_t(i)];
                            }
                        }
                    });
    return best;
}

int ClusterMapView::labelAt(const QPoint& pos) const
{
    if (m_selected >= 0 && size_t(m_selected) < m_labelRects.size()
        && m_labelRects[size_t(m_selected)].contains(pos))
        return m_selected; // drawn on top
    for (size_t c = 0; c < m_labelRects.size(); ++c) {
        if (!m_labelRects[c].isNull() && m_labelRects[c].contains(pos))
            return int(c);
    }
    return -1;
}

QString ClusterMapView::chunkText(qint64 chunkId)
{
    if (const auto it = m_textCache.constFind(chunkId); it != m_textCache.constEnd())
        return *it;
    if (!m_workspace)
        return {};
    QString text;
    try {
        // One primary-key read on the UI thread: microseconds, and readers never wait for a
        // writer (WAL).
        Statement query = m_workspace->database().prepare(
            "SELECT substr(text, 1, ?) FROM chunks WHERE id = ?");
        query.bind(1, int64_t(kTooltipChars * 2)).bind(2, int64_t(chunkId));
        if (query.step())
            text = QString::fromStdString(query.columnText(0));
    } catch (const std::exception& e) {
        return tr("(cannot read the chunk: %1)").arg(QString::fromUtf8(e.what()));
    }
    if (m_textCache.size() > 2000)
        m_textCache.clear();
    m_textCache.insert(chunkId, text);
    return text;
}

void ClusterMapView::onMouseMove(QMouseEvent* event)
{
    if (event->buttons() != Qt::NoButton) {
        hideHover(); // dragging
        m_autoFit = false;
        return;
    }
    const QPoint pos = event->position().toPoint();
    const int index = pointNear(pos, kHoverRadius);
    if (index < 0) {
        hideHover();
        return;
    }
    if (index == m_hovered)
        return;
    m_hovered = index;
    const ChunkPlacement& p = m_map->placements[size_t(index)];
    auto hover = QSharedPointer<QCPGraphDataContainer>::create();
    hover->add(QCPGraphData(p.x, p.y));
    m_hoverGraph->setData(hover);
    m_hoverGraph->layer()->replot();

    const int c = std::max(p.cluster, 0);
    QStringList words;
    const auto& keywords = m_map->clusters[size_t(c)].keywords;
    for (size_t i = 0; i < keywords.size() && i < 4; ++i)
        words << QString::fromStdString(keywords[i]);
    const QString html =
        QStringLiteral("<p style='margin:0'><span style='color:%1'>&#9632;</span> <b>%2</b> · %3"
                       "</p><p style='margin:0; color:#707070'>%4</p>"
                       "<p style='margin-top:6px; white-space:pre-wrap'>%5</p>")
            .arg(clusterColour(c).name(), tr("Cluster %1").arg(c),
                 words.join(QStringLiteral(", ")).toHtmlEscaped(),
                 tr("Chunk %1 · distance to the centroid %2")
                     .arg(p.chunkId)
                     .arg(double(p.distance), 0, 'f', 3),
                 preview(chunkText(p.chunkId), kTooltipChars).toHtmlEscaped());
    QToolTip::showText(event->globalPosition().toPoint(), html, m_plot);
}

void ClusterMapView::hideHover()
{
    if (m_hovered < 0)
        return;
    m_hovered = -1;
    m_hoverGraph->data()->clear();
    m_hoverGraph->layer()->replot();
    QToolTip::hideText();
}

void ClusterMapView::onMousePress(QMouseEvent* event)
{
    m_pressed = event->button() == Qt::LeftButton;
    m_pressPos = event->position().toPoint();
    hideHover();
}

void ClusterMapView::onMouseRelease(QMouseEvent* event)
{
    const QPoint pos = event->position().toPoint();
    if (!m_pressed || event->button() != Qt::LeftButton
        || (pos - m_pressPos).manhattanLength() > 4) {
        m_pressed = false;
        return; // a drag, not a click
    }
    m_pressed = false;
    int cluster = labelAt(pos);
    if (cluster < 0) {
        const int index = pointNear(pos, kHoverRadius);
        cluster = index >= 0 ? m_map->placements[size_t(index)].cluster : -1;
    }
    selectCluster(cluster);
}

// ---------------------------------------------------------------------------------------------

void ClusterMapView::showRoute(const QString& queryText, int expert,
                               const QList<QPair<int, float>>& candidates)
{
    clearRoute();
    if (!m_map || expert < 0 || expert >= m_map->clusterCount())
        return;
    const ClusterInfo& chosen = m_map->clusters[size_t(expert)];
    // The query is not laid out on the map. Its star sits near its expert, drawn a little
    // towards the runner-ups (or above the expert when there are none).
    QPointF pull(0, 0);
    int runnerUps = 0;
    for (const auto& [candidate, distance] : candidates) {
        Q_UNUSED(distance)
        if (candidate != expert && candidate >= 0 && candidate < m_map->clusterCount()) {
            pull += QPointF(m_map->clusters[size_t(candidate)].x - chosen.x,
                            m_map->clusters[size_t(candidate)].y - chosen.y);
            ++runnerUps;
        }
    }
    const double unitsPerPixel =
        m_plot->xAxis->range().size() / std::max(1, m_plot->axisRect()->width());
    const double pullLength = std::hypot(pull.x(), pull.y());
    const QPointF direction = runnerUps > 0 && pullLength > 1e-12 ? pull / pullLength
                                                                 : QPointF(0, 1); // up
    // Clear of the expert's label, whatever the zoom.
    double reachPixels = 40;
    if (size_t(expert) < m_labelSizes.size() && m_labels[size_t(expert)]) {
        const QSize size = m_labelSizes[size_t(expert)];
        const double toEdge =
            std::min(std::abs(direction.x()) > 1e-9 ? size.width() / 2.0 / std::abs(direction.x())
                                                    : 1e9,
                     std::abs(direction.y()) > 1e-9 ? size.height() / 2.0 / std::abs(direction.y())
                                                    : 1e9);
        reachPixels = std::max(reachPixels, toEdge + 22);
    }
    const double reach = reachPixels * unitsPerPixel;
    const QPointF star(chosen.x + direction.x() * reach, chosen.y + direction.y() * reach);

    const auto line = [this, star](const ClusterInfo& to, const QPen& pen) {
        auto* item = new QCPItemLine(m_plot);
        item->setLayer("route");
        item->start->setCoords(star);
        item->end->setCoords(to.x, to.y);
        item->setPen(pen);
        m_routeItems.push_back(item);
        return item;
    };
    QPen runnerUp(QColor(0x55, 0x55, 0x5a), 1.4, Qt::DashLine);
    for (const auto& [candidate, distance] : candidates) {
        Q_UNUSED(distance)
        if (candidate != expert && candidate >= 0 && candidate < m_map->clusterCount())
            line(m_map->clusters[size_t(candidate)], runnerUp);
    }
    QCPItemLine* chosenLine = line(chosen, QPen(QColor(0x1d, 0x1d, 0x1f), 2.2));

    {
        QPainterPath path;
        for (int i = 0; i < 10; ++i) { // QCustomPlot scales custom shapes by size / 6
            const double angle = kPi / 2 + i * kPi / 5;
            const double radius = i % 2 == 0 ? 3.0 : 1.25;
            const QPointF point(radius * std::cos(angle), -radius * std::sin(angle));
            if (i == 0)
                path.moveTo(point);
            else
                path.lineTo(point);
        }
        path.closeSubpath();
        m_routeGraph->setScatterStyle(QCPScatterStyle(path, QPen(QColor(0x5c, 0x45, 0x00), 1.2),
                                                   QColor(0xf5, 0xb7, 0x00), 22));
        auto data = QSharedPointer<QCPGraphDataContainer>::create();
        data->add(QCPGraphData(star.x(), star.y()));
        m_routeGraph->setData(data);
        m_routeGraph->setVisible(true);
    }

    // The label hangs beside the star, a fixed number of pixels away at any zoom, on the side
    // of the view with more room.
    const bool right = m_plot->xAxis->coordToPixel(star.x()) < m_plot->axisRect()->center().x();
    auto* label = new QCPItemText(m_plot);
    label->setLayer("query");
    label->position->setType(QCPItemPosition::ptAbsolute);
    label->position->setParentAnchor(chosenLine->start);
    label->position->setCoords(right ? 16 : -16, 0);
    label->setPositionAlignment(right ? Qt::AlignLeft | Qt::AlignVCenter
                                      : Qt::AlignRight | Qt::AlignVCenter);
    label->setText(tr("“%1” → cluster %2").arg(preview(queryText, 40)).arg(expert));
    label->setFont(scaledFont(font(), 0.95, QFont::DemiBold));
    label->setColor(QColor(0x1d, 0x1d, 0x1f));
    label->setBrush(QColor(0xff, 0xf6, 0xd5, 235));
    label->setPen(QPen(QColor(0xc9, 0x96, 0x00), 1.2));
    label->setPadding(QMargins(6, 3, 6, 3));
    label->setObjectName("routeLabel");
    m_routeItems.push_back(label);
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void ClusterMapView::clearRoute()
{
    for (QCPAbstractItem* item : m_routeItems)
        m_plot->removeItem(item);
    m_routeItems.clear();
    m_routeGraph->data()->clear();
    m_routeGraph->setVisible(false);
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

} // namespace moin::ui
