// 2-D layout of embeddings: PCA and the UMAP-class layout on synthetic data with known
// structure, trustworthiness against an independent brute-force implementation, cancellation
// and bad input.
#include "moin/layout.h"

#include "moin/cancel.h"
#include "moin/error.h"

#include <QTest>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

using moin::LayoutOptions;

namespace {

struct Dataset {
    std::vector<float> points; // (n, dim)
    std::vector<int> label;    // (n)
    int64_t n = 0;
    int64_t dim = 0;
};

// `clusters` Gaussian blobs of `perCluster` points with unit variance, centres drawn with
// standard deviation `centreSpread` in every dimension.
Dataset blobs(int clusters, int perCluster, int64_t dim, float centreSpread, uint64_t seed)
{
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> centres(size_t(clusters * dim));
    for (float& value : centres)
        value = centreSpread * normal(rng);
    Dataset data;
    data.n = int64_t(clusters) * perCluster;
    data.dim = dim;
    data.points.resize(size_t(data.n * dim));
    data.label.resize(data.n);
    for (int64_t i = 0; i < data.n; ++i) {
        data.label[i] = int(i % clusters);
        for (int64_t c = 0; c < dim; ++c)
            data.points[i * dim + c] = centres[data.label[i] * dim + c] + normal(rng);
    }
    return data;
}

// Blobs centred on `clusters` orthogonal axes (at distance `radius` from the origin): every
// direction of their span has the same variance, so no 2-D projection can separate them.
Dataset orthogonalBlobs(int clusters, int perCluster, int64_t dim, float radius, uint64_t seed)
{
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    Dataset data;
    data.n = int64_t(clusters) * perCluster;
    data.dim = dim;
    data.points.resize(size_t(data.n * dim));
    data.label.resize(data.n);
    for (int64_t i = 0; i < data.n; ++i) {
        data.label[i] = int(i % clusters);
        for (int64_t c = 0; c < dim; ++c)
            data.points[i * dim + c] = normal(rng) + (c == data.label[i] ? radius : 0.0f);
    }
    return data;
}

// A Swiss roll (a curled 2-D sheet) in 3-D: PCA flattens the roll onto itself.
Dataset swissRoll(int64_t n, uint64_t seed)
{
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
    Dataset data;
    data.n = n;
    data.dim = 3;
    data.points.resize(size_t(n * 3));
    data.label.assign(n, 0);
    for (int64_t i = 0; i < n; ++i) {
        const float t = 1.5f * float(M_PI) * (1.0f + 2.0f * uniform(rng));
        data.points[i * 3] = t * std::cos(t);
        data.points[i * 3 + 1] = 21.0f * uniform(rng);
        data.points[i * 3 + 2] = t * std::sin(t);
    }
    return data;
}

// Points on the unit sphere in 3-D: a linear projection lays the far side onto the near one.
Dataset sphere(int64_t n, uint64_t seed)
{
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    Dataset data;
    data.n = n;
    data.dim = 3;
    data.label.assign(n, 0);
    for (int64_t i = 0; i < n; ++i) {
        const float x = normal(rng), y = normal(rng), z = normal(rng);
        const float norm = std::sqrt(x * x + y * y + z * z);
        data.points.insert(data.points.end(), {x / norm, y / norm, z / norm});
    }
    return data;
}

// Venna & Kaski's trustworthiness by the book: full sorts in double, ties broken by index.
double bruteForceTrustworthiness(const std::vector<float>& points, const std::vector<float>& layout,
                                 int64_t n, int64_t dim, int k)
{
    double sum = 0.0;
    std::vector<int64_t> byHigh(n), byLow(n), rank(n);
    std::vector<double> high(n), low(n);
    for (int64_t i = 0; i < n; ++i) {
        for (int64_t j = 0; j < n; ++j) {
            double h = 0.0;
            for (int64_t c = 0; c < dim; ++c) {
                const double diff = double(points[i * dim + c]) - double(points[j * dim + c]);
                h += diff * diff;
            }
            high[j] = h;
            const double du = double(layout[2 * i]) - double(layout[2 * j]);
            const double dv = double(layout[2 * i + 1]) - double(layout[2 * j + 1]);
            low[j] = du * du + dv * dv;
        }
        auto sortBy = [&](std::vector<int64_t>& order, const std::vector<double>& d) {
            std::iota(order.begin(), order.end(), 0);
            order.erase(order.begin() + i);
            std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
                return d[a] < d[b] || (d[a] == d[b] && a < b);
            });
        };
        byHigh.resize(n);
        byLow.resize(n);
        sortBy(byHigh, high);
        sortBy(byLow, low);
        for (int64_t r = 0; r < n - 1; ++r)
            rank[byHigh[r]] = r + 1;
        for (int a = 0; a < k; ++a) {
            const int64_t j = byLow[a];
            if (rank[j] > k)
                sum += double(rank[j] - k);
        }
    }
    return 1.0 - 2.0 / (double(n) * k * (2.0 * n - 3.0 * k - 1.0)) * sum;
}

// Share of points whose nearest other point in the layout carries the same label.
double oneNearestNeighbourAccuracy(const std::vector<float>& layout, const std::vector<int>& label)
{
    const int64_t n = int64_t(label.size());
    int64_t correct = 0;
    for (int64_t i = 0; i < n; ++i) {
        double best = std::numeric_limits<double>::infinity();
        int64_t nearest = -1;
        for (int64_t j = 0; j < n; ++j) {
            if (j == i)
                continue;
            const double d = std::hypot(layout[2 * i] - layout[2 * j],
                                        layout[2 * i + 1] - layout[2 * j + 1]);
            if (d < best) {
                best = d;
                nearest = j;
            }
        }
        correct += label[nearest] == label[i];
    }
    return double(correct) / double(n);
}

// Mean distance of a point to its cluster's 2-D centroid over the mean distance between
// centroids.
double spreadRatio(const std::vector<float>& layout, const std::vector<int>& label)
{
    const int clusters = *std::max_element(label.begin(), label.end()) + 1;
    std::vector<double> cx(clusters, 0), cy(clusters, 0), count(clusters, 0);
    for (size_t i = 0; i < label.size(); ++i) {
        cx[label[i]] += layout[2 * i];
        cy[label[i]] += layout[2 * i + 1];
        count[label[i]] += 1;
    }
    for (int c = 0; c < clusters; ++c) {
        cx[c] /= count[c];
        cy[c] /= count[c];
    }
    double intra = 0;
    for (size_t i = 0; i < label.size(); ++i)
        intra += std::hypot(layout[2 * i] - cx[label[i]], layout[2 * i + 1] - cy[label[i]]);
    intra /= double(label.size());
    double inter = 0;
    int pairs = 0;
    for (int a = 0; a < clusters; ++a)
        for (int b = a + 1; b < clusters; ++b, ++pairs)
            inter += std::hypot(cx[a] - cx[b], cy[a] - cy[b]);
    return intra / (inter / pairs);
}

bool allFinite(const std::vector<float>& values)
{
    return std::all_of(values.begin(), values.end(), [](float v) { return std::isfinite(v); });
}

LayoutOptions options(const char* method, int threads = 1)
{
    LayoutOptions result;
    result.method = method;
    result.threads = threads;
    return result;
}

} // namespace

class TestLayout : public QObject {
    Q_OBJECT
private slots:
    void bothMethodsReturnFinitePoints_data();
    void bothMethodsReturnFinitePoints();
    void umapSeparatesClusters();
    void umapSeparatesClustersWithApproximateNeighbours();
    void pcaFindsTheLargestVariance();
    void umapIsDeterministicWithOneThread();
    void smallAndDegenerateInput_data();
    void smallAndDegenerateInput();
    void progressRisesToOne();
    void cancelReturnsEmpty_data();
    void cancelReturnsEmpty();
    void badInput();
    void badOptions_data();
    void badOptions();
    void curveParametersMatchUmap();
    void trustworthinessMatchesBruteForce_data();
    void trustworthinessMatchesBruteForce();
    void trustworthinessOfPerfectAndRandomLayouts();
    void trustworthinessSampleEstimatesExact();
    void umapMoreTrustworthyThanPcaWherePcaFails_data();
    void umapMoreTrustworthyThanPcaWherePcaFails();
    void trustworthinessBadInput();
};

void TestLayout::bothMethodsReturnFinitePoints_data()
{
    QTest::addColumn<QString>("method");
    QTest::addColumn<int>("threads");
    QTest::newRow("pca") << "pca" << 1;
    QTest::newRow("umap") << "umap" << 1;
    QTest::newRow("umap, all cores") << "umap" << 0;
}

void TestLayout::bothMethodsReturnFinitePoints()
{
    QFETCH(QString, method);
    QFETCH(int, threads);
    const Dataset data = blobs(8, 300, 32, 4.0f, 1);
    const std::vector<float> layout = moin::computeLayout(
        data.points.data(), data.n, data.dim, options(qPrintable(method), threads));
    QCOMPARE(int64_t(layout.size()), 2 * data.n);
    QVERIFY(allFinite(layout));
}

void TestLayout::umapSeparatesClusters()
{
    // 8 blobs x 300 points in 32-D: centres ~32 apart, points ~8 apart within a blob.
    const Dataset data = blobs(8, 300, 32, 4.0f, 2);
    const std::vector<float> layout =
        moin::computeLayout(data.points.data(), data.n, data.dim, options("umap"));
    const double accuracy = oneNearestNeighbourAccuracy(layout, data.label);
    const double ratio = spreadRatio(layout, data.label);
    qInfo("1-NN accuracy by blob in 2-D %.4f, spread ratio %.4f", accuracy, ratio);
    QVERIFY(accuracy > 0.99);
    QVERIFY(ratio < 0.15);
}

void TestLayout::umapSeparatesClustersWithApproximateNeighbours()
{
    // 12,000 points: above the exact kNN limit, so the graph comes from NN-descent.
    const Dataset data = blobs(12, 1000, 32, 3.0f, 20);
    std::vector<double> fractions;
    const std::vector<float> layout =
        moin::computeLayout(data.points.data(), data.n, data.dim, options("umap", 0),
                            [&](double fraction) { fractions.push_back(fraction); });
    QVERIFY(std::is_sorted(fractions.begin(), fractions.end()));
    QCOMPARE(fractions.back(), 1.0);
    QCOMPARE(int64_t(layout.size()), 2 * data.n);
    QVERIFY(allFinite(layout));
    const double ratio = spreadRatio(layout, data.label);
    const std::vector<float> pca =
        moin::computeLayout(data.points.data(), data.n, data.dim, options("pca"));
    const double umapTrust = moin::trustworthiness(data.points.data(), layout.data(), data.n,
                                                   data.dim, 10, 1000);
    const double pcaTrust = moin::trustworthiness(data.points.data(), pca.data(), data.n,
                                                  data.dim, 10, 1000);
    qInfo("spread ratio %.4f; trustworthiness (1,000 queries) UMAP %.4f, PCA %.4f", ratio,
          umapTrust, pcaTrust);
    QVERIFY(ratio < 0.15);
    QVERIFY(umapTrust > pcaTrust);
    QVERIFY(umapTrust > 0.9);
    // Every blob keeps its own region: its points are closer to its centroid than to any other.
    const int clusters = 12;
    std::vector<double> cx(clusters, 0), cy(clusters, 0);
    for (int64_t i = 0; i < data.n; ++i) {
        cx[data.label[i]] += layout[2 * i] / 1000.0;
        cy[data.label[i]] += layout[2 * i + 1] / 1000.0;
    }
    int64_t nearestOwn = 0;
    for (int64_t i = 0; i < data.n; ++i) {
        int best = 0;
        for (int c = 1; c < clusters; ++c) {
            if (std::hypot(layout[2 * i] - cx[c], layout[2 * i + 1] - cy[c])
                < std::hypot(layout[2 * i] - cx[best], layout[2 * i + 1] - cy[best]))
                best = c;
        }
        nearestOwn += best == data.label[i];
    }
    QVERIFY(double(nearestOwn) / double(data.n) > 0.99);
}

void TestLayout::pcaFindsTheLargestVariance()
{
    // Variances 25, 9, 1, 0.25 along axes rotated by a random orthogonal matrix: PCA recovers
    // the first two (coordinates = the first two latent values up to sign).
    const int64_t n = 4000, dim = 4;
    std::mt19937_64 rng(3);
    std::normal_distribution<double> normal(0.0, 1.0);
    double rotation[4][4];
    for (auto& row : rotation)
        for (double& v : row)
            v = normal(rng);
    for (int r = 0; r < 4; ++r) { // Gram-Schmidt on rows
        for (int p = 0; p < r; ++p) {
            double dot = 0;
            for (int c = 0; c < 4; ++c)
                dot += rotation[r][c] * rotation[p][c];
            for (int c = 0; c < 4; ++c)
                rotation[r][c] -= dot * rotation[p][c];
        }
        double norm = 0;
        for (int c = 0; c < 4; ++c)
            norm += rotation[r][c] * rotation[r][c];
        for (int c = 0; c < 4; ++c)
            rotation[r][c] /= std::sqrt(norm);
    }
    const double sd[4] = {5, 3, 1, 0.5};
    std::vector<double> latent(size_t(n * dim));
    std::vector<float> points(size_t(n * dim));
    for (int64_t i = 0; i < n; ++i) {
        for (int a = 0; a < 4; ++a)
            latent[i * dim + a] = sd[a] * normal(rng);
        for (int c = 0; c < 4; ++c) {
            double x = 7.0; // an offset PCA must remove
            for (int a = 0; a < 4; ++a)
                x += latent[i * dim + a] * rotation[a][c];
            points[i * dim + c] = float(x);
        }
    }
    const std::vector<float> layout =
        moin::computeLayout(points.data(), n, dim, options("pca"));
    QCOMPARE(int64_t(layout.size()), 2 * n);
    // Correlation of each layout axis with the matching latent axis is +-1 up to sampling.
    for (int axis = 0; axis < 2; ++axis) {
        double sxy = 0, sxx = 0, syy = 0, mx = 0, my = 0;
        for (int64_t i = 0; i < n; ++i) {
            mx += layout[2 * i + axis];
            my += latent[i * dim + axis];
        }
        mx /= n;
        my /= n;
        for (int64_t i = 0; i < n; ++i) {
            const double x = layout[2 * i + axis] - mx, y = latent[i * dim + axis] - my;
            sxy += x * y;
            sxx += x * x;
            syy += y * y;
        }
        const double correlation = std::abs(sxy / std::sqrt(sxx * syy));
        QVERIFY2(correlation > 0.99, qPrintable(QString("axis %1: %2").arg(axis).arg(correlation)));
        QVERIFY(std::abs(mx) < 1e-3 * std::sqrt(sxx / n)); // centred
    }
}

void TestLayout::umapIsDeterministicWithOneThread()
{
    const Dataset data = blobs(4, 100, 16, 4.0f, 4);
    LayoutOptions first = options("umap");
    first.epochs = 50;
    const std::vector<float> a = moin::computeLayout(data.points.data(), data.n, data.dim, first);
    const std::vector<float> b = moin::computeLayout(data.points.data(), data.n, data.dim, first);
    QVERIFY(a == b);
    LayoutOptions other = first;
    other.seed = 43;
    const std::vector<float> c = moin::computeLayout(data.points.data(), data.n, data.dim, other);
    QVERIFY(a != c);
}

void TestLayout::smallAndDegenerateInput_data()
{
    QTest::addColumn<QString>("method");
    QTest::addColumn<int>("kind");
    for (const char* method : {"pca", "umap"}) {
        QTest::addRow("%s, 3 points", method) << method << 0;
        QTest::addRow("%s, 1 dimension", method) << method << 1;
        QTest::addRow("%s, all points equal", method) << method << 2;
        QTest::addRow("%s, half duplicates", method) << method << 3;
    }
}

void TestLayout::smallAndDegenerateInput()
{
    QFETCH(QString, method);
    QFETCH(int, kind);
    std::vector<float> points;
    int64_t n = 0, dim = 0;
    std::mt19937_64 rng(5);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    switch (kind) {
    case 0: // fewer points than neighbours: k is capped at n - 1
        n = 3;
        dim = 5;
        for (int64_t i = 0; i < n * dim; ++i)
            points.push_back(normal(rng));
        break;
    case 1:
        n = 200;
        dim = 1;
        for (int64_t i = 0; i < n; ++i)
            points.push_back(normal(rng));
        break;
    case 2:
        n = 50;
        dim = 8;
        points.assign(size_t(n * dim), 1.5f);
        break;
    case 3: // two points repeated, plus noise
        n = 300;
        dim = 8;
        for (int64_t i = 0; i < n; ++i)
            for (int64_t c = 0; c < dim; ++c)
                points.push_back(i % 2 == 0 ? float(c) : normal(rng));
        break;
    }
    const std::vector<float> layout =
        moin::computeLayout(points.data(), n, dim, options(qPrintable(method)));
    QCOMPARE(int64_t(layout.size()), 2 * n);
    QVERIFY(allFinite(layout));
}

void TestLayout::progressRisesToOne()
{
    const Dataset data = blobs(4, 100, 16, 4.0f, 6);
    std::vector<double> fractions;
    moin::computeLayout(data.points.data(), data.n, data.dim, options("umap"),
                        [&](double fraction) { fractions.push_back(fraction); });
    QVERIFY(fractions.size() >= 10);
    QVERIFY(std::is_sorted(fractions.begin(), fractions.end()));
    QCOMPARE(fractions.front(), 0.0);
    QCOMPARE(fractions.back(), 1.0);
}

void TestLayout::cancelReturnsEmpty_data()
{
    QTest::addColumn<QString>("method");
    QTest::addColumn<int>("perCluster");
    QTest::addColumn<double>("cancelAt");
    QTest::newRow("pca, before") << "pca" << 100 << -1.0;
    QTest::newRow("umap, before") << "umap" << 100 << -1.0;
    QTest::newRow("umap, during the exact kNN search") << "umap" << 100 << 0.1;
    QTest::newRow("umap, during NN-descent") << "umap" << 2500 << 0.1;
    QTest::newRow("umap, during SGD") << "umap" << 100 << 0.7;
}

void TestLayout::cancelReturnsEmpty()
{
    QFETCH(QString, method);
    QFETCH(int, perCluster);
    QFETCH(double, cancelAt);
    const Dataset data = blobs(4, perCluster, 16, 4.0f, 7);
    moin::CancelToken cancel;
    if (cancelAt < 0)
        cancel.cancel();
    double last = 0.0;
    const std::vector<float> layout = moin::computeLayout(
        data.points.data(), data.n, data.dim, options(qPrintable(method)),
        [&](double fraction) {
            last = fraction;
            if (cancelAt >= 0 && fraction >= cancelAt)
                cancel.cancel();
        },
        &cancel);
    QVERIFY(layout.empty());
    QVERIFY(last < 1.0);
}

void TestLayout::badInput()
{
    const Dataset data = blobs(2, 10, 4, 4.0f, 8);
    const LayoutOptions umap = options("umap");
    std::vector<float> points = data.points;
    points[5 * 4 + 2] = std::numeric_limits<float>::quiet_NaN();
    try {
        moin::computeLayout(points.data(), data.n, data.dim, umap);
        QFAIL("NaN accepted");
    } catch (const moin::Error& error) {
        const QString message = error.what();
        QVERIFY2(message.contains("NaN") && message.contains("row 5, column 2"),
                 error.what());
    }
    points[5 * 4 + 2] = std::numeric_limits<float>::infinity();
    QVERIFY_THROWS_EXCEPTION(moin::Error, moin::computeLayout(points.data(), data.n, 4,
                                                              options("pca")));
    QVERIFY_THROWS_EXCEPTION(moin::Error, moin::computeLayout(data.points.data(), 2, 4, umap));
    QVERIFY_THROWS_EXCEPTION(moin::Error, moin::computeLayout(data.points.data(), 0, 4, umap));
    QVERIFY_THROWS_EXCEPTION(moin::Error, moin::computeLayout(data.points.data(), 20, 0, umap));
    QVERIFY_THROWS_EXCEPTION(moin::Error, moin::computeLayout(nullptr, 20, 4, umap));
}

void TestLayout::badOptions_data()
{
    QTest::addColumn<int>("field");
    QTest::addColumn<double>("value");
    QTest::newRow("unknown method") << 0 << 0.0;
    QTest::newRow("neighbours 1") << 1 << 1.0;
    QTest::newRow("epochs 0") << 2 << 0.0;
    QTest::newRow("minDistance -0.1") << 3 << -0.1;
    QTest::newRow("minDistance 1.5") << 3 << 1.5;
    QTest::newRow("minDistance NaN") << 3 << std::numeric_limits<double>::quiet_NaN();
    QTest::newRow("negativeSamples -1") << 4 << -1.0;
    QTest::newRow("threads -1") << 5 << -1.0;
}

void TestLayout::badOptions()
{
    QFETCH(int, field);
    QFETCH(double, value);
    LayoutOptions bad;
    switch (field) {
    case 0: bad.method = "tsne"; break;
    case 1: bad.neighbours = int(value); break;
    case 2: bad.epochs = int(value); break;
    case 3: bad.minDistance = value; break;
    case 4: bad.negativeSamples = int(value); break;
    case 5: bad.threads = int(value); break;
    }
    QVERIFY_THROWS_EXCEPTION(moin::Error, bad.validate());
    const Dataset data = blobs(2, 10, 4, 4.0f, 9);
    QVERIFY_THROWS_EXCEPTION(moin::Error,
                             moin::computeLayout(data.points.data(), data.n, data.dim, bad));
}

void TestLayout::curveParametersMatchUmap()
{
    // umap-learn's find_ab_params(spread=1, min_dist) (scipy's curve_fit), as published.
    struct Case { double minDistance, a, b; };
    for (const Case& c : {Case{0.01, 1.895605865596314, 0.8006377738365004},
                          Case{0.1, 1.5769434601962196, 0.8950608781227859},
                          Case{0.5, 0.5830300199018228, 1.3341669931033755}}) {
        const auto [a, b] = moin::umapCurveParameters(c.minDistance);
        qInfo("min_dist %.3f: a %.4f b %.4f", c.minDistance, a, b);
        QVERIFY(std::abs(a - c.a) < 1e-4);
        QVERIFY(std::abs(b - c.b) < 1e-4);
    }
}

void TestLayout::trustworthinessMatchesBruteForce_data()
{
    QTest::addColumn<int>("kind");
    QTest::addColumn<int>("k");
    QTest::newRow("pca layout of blobs, k 10") << 0 << 10;
    QTest::newRow("random layout, k 5") << 1 << 5;
    QTest::newRow("umap layout of a roll, k 7") << 2 << 7;
    QTest::newRow("grid with ties, k 4") << 3 << 4;
    QTest::newRow("largest k") << 4 << 74;
}

void TestLayout::trustworthinessMatchesBruteForce()
{
    QFETCH(int, kind);
    QFETCH(int, k);
    Dataset data;
    std::vector<float> layout;
    std::mt19937_64 rng(10 + kind);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    switch (kind) {
    case 0:
        data = blobs(5, 60, 20, 2.0f, 11);
        layout = moin::computeLayout(data.points.data(), data.n, data.dim, options("pca"));
        break;
    case 1:
    case 4:
        data = blobs(3, 50, 6, 1.0f, 12);
        for (int64_t i = 0; i < 2 * data.n; ++i)
            layout.push_back(normal(rng));
        break;
    case 2:
        data = swissRoll(400, 13);
        layout = moin::computeLayout(data.points.data(), data.n, data.dim, options("umap"));
        break;
    case 3: // integer grid in 3-D, layout = its first two coordinates: many equal distances
        data.dim = 3;
        for (int x = 0; x < 7; ++x)
            for (int y = 0; y < 7; ++y)
                for (int z = 0; z < 3; ++z) {
                    data.points.insert(data.points.end(), {float(x), float(y), float(z)});
                    layout.insert(layout.end(), {float(x), float(y)});
                }
        data.n = 7 * 7 * 3;
        break;
    }
    const double expected = bruteForceTrustworthiness(data.points, layout, data.n, data.dim, k);
    const double actual = moin::trustworthiness(data.points.data(), layout.data(), data.n,
                                                data.dim, k, data.n);
    qInfo("trustworthiness %.12f (brute force %.12f)", actual, expected);
    QVERIFY(std::abs(actual - expected) < 1e-9);
}

void TestLayout::trustworthinessOfPerfectAndRandomLayouts()
{
    std::mt19937_64 rng(14);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    const int64_t n = 1000;
    std::vector<float> points(size_t(2 * n)), shuffled;
    for (float& v : points)
        v = normal(rng);
    QVERIFY(std::abs(moin::trustworthiness(points.data(), points.data(), n, 2, 10, n) - 1.0)
            < 1e-9);
    // A scaled, rotated and shifted copy keeps every neighbourhood.
    std::vector<float> moved(points.size());
    for (int64_t i = 0; i < n; ++i) {
        moved[2 * i] = 3.0f * (0.6f * points[2 * i] - 0.8f * points[2 * i + 1]) + 5.0f;
        moved[2 * i + 1] = 3.0f * (0.8f * points[2 * i] + 0.6f * points[2 * i + 1]) - 2.0f;
    }
    QVERIFY(moin::trustworthiness(points.data(), moved.data(), n, 2, 10, n) > 0.999);
    std::vector<float> random(points.size());
    for (float& v : random)
        v = normal(rng);
    const double randomTrust = moin::trustworthiness(points.data(), random.data(), n, 2, 10, n);
    qInfo("random layout: %.4f", randomTrust);
    QVERIFY(randomTrust < 0.6);
}

void TestLayout::trustworthinessSampleEstimatesExact()
{
    const Dataset data = blobs(6, 200, 16, 1.5f, 15);
    const std::vector<float> layout =
        moin::computeLayout(data.points.data(), data.n, data.dim, options("pca"));
    const double exact = moin::trustworthiness(data.points.data(), layout.data(), data.n,
                                               data.dim, 10, data.n);
    const double sampled = moin::trustworthiness(data.points.data(), layout.data(), data.n,
                                                 data.dim, 10, 300, 3);
    const double again = moin::trustworthiness(data.points.data(), layout.data(), data.n,
                                               data.dim, 10, 300, 3);
    qInfo("exact %.4f, 300 queries %.4f", exact, sampled);
    QCOMPARE(sampled, again); // a seed gives the same sample
    QVERIFY(std::abs(sampled - exact) < 0.02);
    QVERIFY(sampled != exact);
}

void TestLayout::umapMoreTrustworthyThanPcaWherePcaFails_data()
{
    QTest::addColumn<int>("kind");
    QTest::addColumn<double>("margin");
    QTest::newRow("12 blobs on orthogonal axes in 24-D") << 0 << 0.05;
    QTest::newRow("sphere surface in 3-D") << 1 << 0.05;
}

void TestLayout::umapMoreTrustworthyThanPcaWherePcaFails()
{
    QFETCH(int, kind);
    QFETCH(double, margin);
    const Dataset data = kind == 0 ? orthogonalBlobs(12, 150, 24, 8.0f, 16) : sphere(2000, 17);
    const std::vector<float> pca =
        moin::computeLayout(data.points.data(), data.n, data.dim, options("pca"));
    const std::vector<float> umap =
        moin::computeLayout(data.points.data(), data.n, data.dim, options("umap"));
    const double pcaTrust = moin::trustworthiness(data.points.data(), pca.data(), data.n,
                                                  data.dim, 10, data.n);
    const double umapTrust = moin::trustworthiness(data.points.data(), umap.data(), data.n,
                                                   data.dim, 10, data.n);
    qInfo("trustworthiness (k 10): UMAP %.4f, PCA %.4f", umapTrust, pcaTrust);
    QVERIFY(umapTrust > pcaTrust + margin);
}

void TestLayout::trustworthinessBadInput()
{
    const Dataset data = blobs(2, 10, 4, 4.0f, 18);
    std::vector<float> layout(size_t(2 * data.n), 0.0f);
    QVERIFY_THROWS_EXCEPTION(moin::Error, moin::trustworthiness(data.points.data(), layout.data(),
                                                                data.n, data.dim, 10));
    QVERIFY_THROWS_EXCEPTION(moin::Error, moin::trustworthiness(data.points.data(), layout.data(),
                                                                data.n, data.dim, 0));
    QVERIFY_THROWS_EXCEPTION(moin::Error, moin::trustworthiness(data.points.data(), layout.data(),
                                                                2, data.dim, 1));
    QVERIFY_THROWS_EXCEPTION(moin::Error, moin::trustworthiness(data.points.data(), layout.data(),
                                                                data.n, data.dim, 3, 0));
    layout[7] = std::numeric_limits<float>::quiet_NaN();
    QVERIFY_THROWS_EXCEPTION(moin::Error, moin::trustworthiness(data.points.data(), layout.data(),
                                                                data.n, data.dim, 3));
    QVERIFY_THROWS_EXCEPTION(moin::Error, moin::trustworthiness(data.points.data(), nullptr,
                                                                data.n, data.dim, 3));
}

QTEST_GUILESS_MAIN(TestLayout)
#include "tst_layout.moc"
