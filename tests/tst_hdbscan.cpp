// HDBSCAN on constructed data whose answer is known (blobs of different densities, blobs joined
// by a sparse chain, blobs in uniform noise), checked against a brute-force reference written
// here: double-precision distance matrix, Kruskal over all pairs, and the condensed tree built
// top down by cutting the spanning tree's heaviest edge, recursively on point sets.
#include "moin/error.h"
#include "moin/hdbscan.h"
#include "moin/layout.h"
#include "testsupport.h"

#include <QTest>
#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <numeric>
#include <random>
#include <set>

namespace {

struct Data {
    std::vector<float> points; // (n, dim)
    std::vector<int> truth; // (n) generating group, -1 for background noise
    int dim = 2;
    int64_t size() const { return int64_t(truth.size()); }
};

void addBlob(Data& data, const std::vector<float>& centre, float sigma, int count, int label,
    std::mt19937& rng)
{
    std::normal_distribution<float> normal(0.f, sigma);
    for (int i = 0; i < count; ++i) {
        for (int c = 0; c < data.dim; ++c)
            data.points.push_back(centre[size_t(c)] + normal(rng));
        data.truth.push_back(label);
    }
}

// ---- the reference ----------------------------------------------------------------------------

struct Reference {
    std::vector<int> labels;
    int clusters = 0;
};

struct Edge {
    double w;
    int a, b;
};

// The mutual-reachability distances of every pair, by brute force in double.
std::vector<double> referenceReachability(const Data& data, int minSamples)
{
    const int n = int(data.size()), dim = data.dim;
    std::vector<double> dist(size_t(n) * n);
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j) {
            double s = 0;
            for (int c = 0; c < dim; ++c) {
                const double t = double(data.points[size_t(i * dim + c)])
                    - double(data.points[size_t(j * dim + c)]);
                s += t * t;
            }
            dist[size_t(i) * n + j] = std::sqrt(s);
        }
    // Core distance: the minSamples-th smallest distance, the point itself (0) counted.
    std::vector<double> core(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
        std::vector<double> row(dist.begin() + int64_t(i) * n, dist.begin() + int64_t(i + 1) * n);
        std::sort(row.begin(), row.end());
        core[size_t(i)] = row[size_t(minSamples - 1)];
    }
    std::vector<double> reach(size_t(n) * n);
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j)
            reach[size_t(i) * n + j] = i == j
                ? 0.0
                : std::max({ core[size_t(i)], core[size_t(j)], dist[size_t(i) * n + j] });
    return reach;
}

// Kruskal over every pair.
std::vector<Edge> referenceTree(const Data& data, int minSamples)
{
    const int n = int(data.size());
    const std::vector<double> reach = referenceReachability(data, minSamples);
    std::vector<Edge> all;
    for (int i = 0; i < n; ++i)
        for (int j = i + 1; j < n; ++j)
            all.push_back({ reach[size_t(i) * n + j], i, j });
    std::sort(all.begin(), all.end(), [](const Edge& x, const Edge& y) { return x.w < y.w; });
    std::vector<int> root(static_cast<size_t>(n));
    std::iota(root.begin(), root.end(), 0);
    std::function<int(int)> find
        = [&](int x) { return root[size_t(x)] == x ? x : find(root[size_t(x)]); };
    std::vector<Edge> tree;
    for (const Edge& e : all) {
        const int ra = find(e.a), rb = find(e.b);
        if (ra != rb) {
            root[size_t(ra)] = rb;
            tree.push_back(e);
        }
    }
    return tree;
}

Reference referenceHdbscan(const Data& data, int minClusterSize, int minSamples)
{
    const int n = int(data.size());
    const std::vector<Edge> tree = referenceTree(data, minSamples);

    // Clusters: birth lambda, stability, children, and the points present at birth.
    struct Cluster {
        double birth = 0, stability = 0;
        std::vector<int> children;
        std::vector<int> points;
    };
    std::vector<Cluster> clusters;
    // Cuts the heaviest edge of the cluster's tree again and again.
    std::function<void(int, std::vector<int>, std::vector<Edge>)> grow
        = [&](int id, std::vector<int> points, std::vector<Edge> edges) {
              while (!edges.empty()) {
                  auto heaviest = std::max_element(edges.begin(), edges.end(),
                      [](const Edge& x, const Edge& y) { return x.w < y.w; });
                  const double lambda = 1.0 / heaviest->w;
                  const Edge cut = *heaviest;
                  edges.erase(heaviest);
                  // The side of cut.a, by a flood over the remaining edges.
                  std::set<int> side = { cut.a };
                  for (bool grew = true; grew;) {
                      grew = false;
                      for (const Edge& e : edges) {
                          if (side.count(e.a) != side.count(e.b)) {
                              side.insert(e.a);
                              side.insert(e.b);
                              grew = true;
                          }
                      }
                  }
                  std::vector<int> a, b;
                  for (int p : points)
                      (side.count(p) ? a : b).push_back(p);
                  auto within = [&](const std::vector<int>& part) {
                      const std::set<int> in(part.begin(), part.end());
                      std::vector<Edge> out;
                      for (const Edge& e : edges)
                          if (in.count(e.a))
                              out.push_back(e);
                      return out;
                  };
                  Cluster& self = clusters[size_t(id)];
                  const bool bigA = int(a.size()) >= minClusterSize;
                  const bool bigB = int(b.size()) >= minClusterSize;
                  if (bigA && bigB) {
                      self.stability += (lambda - self.birth) * double(points.size());
                      for (const auto* part : { &a, &b }) {
                          const int child = int(clusters.size());
                          clusters[size_t(id)].children.push_back(child);
                          clusters.push_back({ lambda, 0, {}, *part });
                          grow(child, *part, within(*part));
                      }
                      return;
                  }
                  if (!bigA)
                      self.stability += (lambda - self.birth) * double(a.size());
                  if (!bigB)
                      self.stability += (lambda - self.birth) * double(b.size());
                  if (!bigA && !bigB)
                      return;
                  points = bigA ? a : b;
                  edges = within(points);
              }
          };
    std::vector<int> everyone(static_cast<size_t>(n));
    std::iota(everyone.begin(), everyone.end(), 0);
    clusters.push_back({ 0, 0, {}, everyone });
    grow(0, everyone, tree);

    // Excess of mass, recursively; the root is never chosen.
    std::function<std::pair<double, std::vector<int>>(int)> choose = [&](int id) {
        double below = 0;
        std::vector<int> chosen;
        for (int child : clusters[size_t(id)].children) {
            auto [s, list] = choose(child);
            below += s;
            chosen.insert(chosen.end(), list.begin(), list.end());
        }
        if (id != 0
            && (clusters[size_t(id)].children.empty() || below <= clusters[size_t(id)].stability))
            return std::make_pair(clusters[size_t(id)].stability, std::vector<int> { id });
        return std::make_pair(below, chosen);
    };
    std::vector<int> chosen = choose(0).second;
    std::sort(chosen.begin(), chosen.end());
    Reference result;
    result.labels.assign(size_t(n), -1);
    result.clusters = int(chosen.size());
    for (size_t l = 0; l < chosen.size(); ++l)
        for (int p : clusters[size_t(chosen[l])].points)
            result.labels[size_t(p)] = int(l);
    return result;
}

// ---- checks -----------------------------------------------------------------------------------

// Points whose label differs from the reference's, clusters matched by their largest overlap
// (noise is noise). Not always 0: a point whose spanning-tree edges tie (both equal to its core
// distance) may fall to either side, by the order in which the tied edges are cut, in
// HDBSCAN itself as in any implementation.
int64_t disagreements(const std::vector<int32_t>& found, const std::vector<int>& expected)
{
    std::map<int, std::map<int, int64_t>> overlap;
    for (size_t i = 0; i < found.size(); ++i)
        ++overlap[found[i]][expected[i]];
    int64_t wrong = 0;
    for (const auto& [cluster, counts] : overlap) {
        int match = -1;
        int64_t best = -1;
        for (const auto& [label, count] : counts)
            if (cluster >= 0 && label >= 0 && count > best) {
                best = count;
                match = label;
            }
        for (const auto& [label, count] : counts)
            wrong += label == (cluster < 0 ? -1 : match) ? 0 : count;
    }
    return wrong;
}

void compareWithReference(const moin::HdbscanResult& result, const Data& data,
    int minClusterSize, int minSamples)
{
    const Reference reference = referenceHdbscan(data, minClusterSize, minSamples);
    QCOMPARE(result.clusters, reference.clusters);
    const int64_t wrong = disagreements(result.labels, reference.labels);
    QVERIFY2(wrong <= data.size() / 100,
        qPrintable(QString("%1 of %2 points labelled otherwise").arg(wrong).arg(data.size())));
}

// For every generating group: the share of its points in its most common cluster, and that
// cluster; each group must have its own.
void checkGroupsFound(
    const moin::HdbscanResult& result, const Data& data, int groups, double minShare)
{
    std::set<int> used;
    for (int g = 0; g < groups; ++g) {
        std::map<int, int> counts;
        int total = 0;
        for (int64_t i = 0; i < data.size(); ++i) {
            if (data.truth[size_t(i)] != g)
                continue;
            ++total;
            if (result.labels[size_t(i)] >= 0)
                ++counts[result.labels[size_t(i)]];
        }
        int best = -1, bestCount = 0;
        for (const auto& [cluster, count] : counts)
            if (count > bestCount) {
                best = cluster;
                bestCount = count;
            }
        QVERIFY2(double(bestCount) >= minShare * total,
            qPrintable(
                QString("group %1: %2 of %3 in one cluster").arg(g).arg(bestCount).arg(total)));
        QVERIFY2(used.insert(best).second,
            qPrintable(QString("group %1 shares cluster %2").arg(g).arg(best)));
    }
}

Data differentDensities()
{
    Data data;
    std::mt19937 rng(11);
    addBlob(data, { 0, 0 }, 0.3f, 80, 0, rng);
    addBlob(data, { 10, 0 }, 1.0f, 120, 1, rng);
    addBlob(data, { 0, 14 }, 2.0f, 150, 2, rng);
    return data;
}

Data chainedBlobs()
{
    Data data;
    std::mt19937 rng(5);
    addBlob(data, { 0, 0 }, 0.5f, 100, 0, rng);
    addBlob(data, { 9, 0 }, 0.5f, 100, 1, rng);
    // A sparse chain from one blob to the other: single linkage would join them through it.
    std::normal_distribution<float> jitter(0.f, 0.05f);
    for (int i = 0; i < 20; ++i) {
        data.points.push_back(1.5f + 6.0f * float(i) / 19.0f + jitter(rng));
        data.points.push_back(jitter(rng));
        data.truth.push_back(-1);
    }
    return data;
}

Data blobsInNoise()
{
    Data data;
    std::mt19937 rng(17);
    addBlob(data, { -5, -5 }, 0.4f, 100, 0, rng);
    addBlob(data, { 5, -4 }, 0.4f, 100, 1, rng);
    addBlob(data, { 0, 6 }, 0.4f, 100, 2, rng);
    std::uniform_real_distribution<float> uniform(-10.f, 10.f);
    for (int i = 0; i < 400; ++i) {
        data.points.push_back(uniform(rng));
        data.points.push_back(uniform(rng));
        data.truth.push_back(-1);
    }
    return data;
}

moin::HdbscanResult run(const Data& data, int minClusterSize, int minSamples, int threads = 0)
{
    moin::HdbscanOptions options;
    options.minClusterSize = minClusterSize;
    options.minSamples = minSamples;
    options.threads = threads;
    return moin::hdbscan(data.points.data(), data.size(), data.dim, options);
}

} // namespace

class TestHdbscan : public QObject {
    Q_OBJECT
private slots:
    void blobsOfDifferentDensities();
    void chainedBlobsStayApart();
    void uniformNoiseIsNoise();
    void manyPointsApproximateNeighbours();
    void umapReductionThenHdbscan();
    void spanningTreeMatchesKruskal();
    void spanningTreeHierarchy();
    void threadsDoNotChangeLabels();
    void refusesBadInput();
    void cancelReturnsNothing();
};

void TestHdbscan::blobsOfDifferentDensities()
{
    const Data data = differentDensities();
    const moin::HdbscanResult result = run(data, 15, 5);
    QCOMPARE(result.clusters, 3);
    QCOMPARE(int(result.stability.size()), 3);
    checkGroupsFound(result, data, 3, 0.85);
    QVERIFY2(result.noise <= data.size() * 15 / 100, qPrintable(QString::number(result.noise)));
    QCOMPARE(result.noise,
        int64_t(std::count(result.labels.begin(), result.labels.end(), moin::kNoiseLabel)));
    compareWithReference(result, data, 15, 5);
}

void TestHdbscan::chainedBlobsStayApart()
{
    const Data data = chainedBlobs();
    const moin::HdbscanResult result = run(data, 20, 10);
    compareWithReference(result, data, 20, 10);
    QCOMPARE(result.clusters, 2);
    checkGroupsFound(result, data, 2, 0.9);
    // The chain is cut by noise in its middle; every chain point is noise or belongs to the
    // blob at its nearer end (blob 0's points come first, then blob 1's).
    const int32_t left = result.labels[0], right = result.labels[100];
    int chainNoise = 0;
    for (int64_t i = 200; i < data.size(); ++i) {
        const int32_t label = result.labels[size_t(i)];
        const bool nearLeft = data.points[size_t(2 * i)] < 4.5f;
        chainNoise += label < 0;
        QVERIFY2(label < 0 || label == (nearLeft ? left : right),
            qPrintable(QString("chain point %1 at x = %2 in cluster %3")
                           .arg(i)
                           .arg(data.points[size_t(2 * i)])
                           .arg(label)));
    }
    QVERIFY(chainNoise >= 1);
}

void TestHdbscan::uniformNoiseIsNoise()
{
    const Data data = blobsInNoise();
    const moin::HdbscanResult result = run(data, 50, 10);
    compareWithReference(result, data, 50, 10);
    QCOMPARE(result.clusters, 3);
    checkGroupsFound(result, data, 3, 0.85);
    // Background points away from every blob (beyond 3 sigma) are mostly noise. Not all: a
    // cluster keeps the points that leave it after it is born, and background points near a
    // blob leave it only a little later (hdbscan's labels do the same; its probabilities,
    // not computed here, would be low for them).
    const float centres[3][2] = { { -5, -5 }, { 5, -4 }, { 0, 6 } };
    int away = 0, awayNoise = 0;
    for (int64_t i = 300; i < data.size(); ++i) {
        bool far = true;
        for (const auto& c : centres)
            far &= std::hypot(
                       data.points[size_t(2 * i)] - c[0], data.points[size_t(2 * i + 1)] - c[1])
                > 1.2f;
        away += far;
        awayNoise += far && result.labels[size_t(i)] < 0;
    }
    QVERIFY2(awayNoise >= away * 3 / 4,
        qPrintable(QString("%1 of %2 background points noise").arg(awayNoise).arg(away)));
}

void TestHdbscan::manyPointsApproximateNeighbours()
{
    // Above 8,192 points the core distances come from NN-descent.
    Data data;
    data.dim = 8;
    std::mt19937 rng(23);
    for (int g = 0; g < 4; ++g) {
        std::vector<float> centre(8, 0.f);
        centre[size_t(g)] = 10.f;
        addBlob(data, centre, 0.5f + 0.25f * float(g), 2500, g, rng);
    }
    const moin::HdbscanResult result = run(data, 50, 10);
    QCOMPARE(result.clusters, 4);
    checkGroupsFound(result, data, 4, 0.9);
    QVERIFY2(result.noise < data.size() / 10, qPrintable(QString::number(result.noise)));
    // No cluster mixes groups.
    std::map<int, std::set<int>> groupsOf;
    for (int64_t i = 0; i < data.size(); ++i)
        if (result.labels[size_t(i)] >= 0)
            groupsOf[result.labels[size_t(i)]].insert(data.truth[size_t(i)]);
    for (const auto& [cluster, groups] : groupsOf)
        QCOMPARE(int(groups.size()), 1);
}

void TestHdbscan::umapReductionThenHdbscan()
{
    // The MoIN-500 recipe on 48-dimensional blobs: UMAP to 8 dimensions (the layout's SGD in
    // more than 2), then HDBSCAN finds the blobs.
    Data data;
    data.dim = 48;
    std::mt19937 rng(29);
    std::normal_distribution<float> normal(0.f, 1.f);
    for (int g = 0; g < 4; ++g) {
        std::vector<float> centre(48);
        for (float& c : centre)
            c = 2.0f * normal(rng);
        addBlob(data, centre, 0.5f, 150, g, rng);
    }
    moin::LayoutOptions reduction;
    reduction.dimensions = 8;
    reduction.minDistance = 0.0;
    reduction.epochs = 100;
    reduction.threads = 1;
    const std::vector<float> reduced
        = moin::computeLayout(data.points.data(), data.size(), data.dim, reduction);
    QCOMPARE(int64_t(reduced.size()), data.size() * 8);
    for (const float v : reduced)
        QVERIFY(std::isfinite(v));
    // The reduction spreads over all 8 dimensions, not only the first two.
    for (int c = 0; c < 8; ++c) {
        double lo = reduced[size_t(c)], hi = lo;
        for (int64_t i = 0; i < data.size(); ++i) {
            lo = std::min(lo, double(reduced[size_t(i * 8 + c)]));
            hi = std::max(hi, double(reduced[size_t(i * 8 + c)]));
        }
        QVERIFY2(hi - lo > 0.5, qPrintable(QString("dimension %1 spans %2").arg(c).arg(hi - lo)));
    }
    moin::HdbscanOptions options;
    options.minClusterSize = 30;
    const moin::HdbscanResult result = moin::hdbscan(reduced.data(), data.size(), 8, options);
    QCOMPARE(result.clusters, 4);
    Data reducedData = data;
    reducedData.dim = 8;
    reducedData.points = reduced;
    checkGroupsFound(result, reducedData, 4, 0.95);
    // PCA stays 2-D.
    reduction.method = "pca";
    QVERIFY(testsupport::errorOf([&] {
        moin::computeLayout(data.points.data(), data.size(), data.dim, reduction);
    }).contains("2-D only"));
}

void TestHdbscan::spanningTreeMatchesKruskal()
{
    // Ties may change which edges, never the total weight of a minimum spanning tree.
    for (const Data& data : { differentDensities(), chainedBlobs(), blobsInNoise() }) {
        for (const int minSamples : { 1, 5, 12 }) {
            moin::HdbscanOptions options;
            options.minSamples = minSamples;
            const std::vector<moin::SpanningEdge> tree
                = moin::mutualReachabilityTree(data.points.data(), data.size(), data.dim, options);
            QCOMPARE(int64_t(tree.size()), data.size() - 1);
            const std::vector<double> reach = referenceReachability(data, minSamples);
            double total = 0;
            std::vector<int> root(size_t(data.size()));
            std::iota(root.begin(), root.end(), 0);
            std::function<int(int)> find
                = [&](int x) { return root[size_t(x)] == x ? x : find(root[size_t(x)]); };
            for (const moin::SpanningEdge& e : tree) {
                // Each edge weighs its pair's mutual reachability, and joins two parts.
                const double expected = reach[size_t(e.a) * size_t(data.size()) + size_t(e.b)];
                QVERIFY(std::abs(e.distance - expected) <= 1e-5 * std::max(1.0, expected));
                QVERIFY(find(e.a) != find(e.b));
                root[size_t(find(e.a))] = find(e.b);
                total += e.distance;
            }
            double referenceTotal = 0;
            for (const Edge& e : referenceTree(data, minSamples))
                referenceTotal += e.w;
            QVERIFY2(std::abs(total - referenceTotal) <= 1e-5 * referenceTotal,
                qPrintable(QString("%1 vs %2").arg(total, 0, 'g', 10).arg(referenceTotal, 0, 'g', 10)));
        }
    }
}

void TestHdbscan::spanningTreeHierarchy()
{
    // A hand-made tree: two groups of 4 points joined at distance 10, inner edges 1 and 0.5;
    // point 8 hangs at distance 20. With minClusterSize 3: the two groups are the clusters,
    // point 8 falls out of the root and is noise.
    std::vector<moin::SpanningEdge> tree = { { 0, 1, 1 }, { 1, 2, 0.5f }, { 2, 3, 1 }, { 4, 5, 1 },
        { 5, 6, 0.5f }, { 6, 7, 1 }, { 3, 4, 10 }, { 7, 8, 20 } };
    const moin::HdbscanResult result = moin::hdbscanFromSpanningTree(tree, 9, 3);
    QCOMPARE(result.clusters, 2);
    QCOMPARE(result.noise, int64_t(1));
    QCOMPARE(result.labels[8], moin::kNoiseLabel);
    for (int i = 1; i < 4; ++i)
        QCOMPARE(result.labels[size_t(i)], result.labels[0]);
    for (int i = 5; i < 8; ++i)
        QCOMPARE(result.labels[size_t(i)], result.labels[4]);
    QVERIFY(result.labels[0] != result.labels[4]);
    // Each group is born at lambda 1/10. At distance 1 an end point leaves, and the three left
    // split into parts under 3 at the same distance: all four leave at lambda 1, stability
    // (1 - 0.1) * 4 = 3.6.
    QCOMPARE(int(result.stability.size()), 2);
    QVERIFY(std::abs(result.stability[0] - 3.6) < 1e-6);
    QVERIFY(std::abs(result.stability[1] - 3.6) < 1e-6);
    // With minClusterSize 5 no split leaves two big parts: no cluster, everything noise.
    const moin::HdbscanResult none = moin::hdbscanFromSpanningTree(tree, 9, 5);
    QCOMPARE(none.clusters, 0);
    QCOMPARE(none.noise, int64_t(9));
}

void TestHdbscan::threadsDoNotChangeLabels()
{
    const Data data = blobsInNoise();
    QCOMPARE(run(data, 50, 10, 1).labels, run(data, 50, 10, 2).labels);
}

void TestHdbscan::refusesBadInput()
{
    moin::HdbscanOptions options;
    QVERIFY(
        testsupport::errorOf([&] { moin::hdbscan(nullptr, 0, 2, options); }).contains("no points"));
    const Data data = differentDensities();
    options.minClusterSize = 1;
    QVERIFY(testsupport::errorOf([&] {
        moin::hdbscan(data.points.data(), data.size(), 2, options);
    }).contains("at least 2; got 1"));
    options.minClusterSize = 400;
    const QString tooBig
        = testsupport::errorOf([&] { moin::hdbscan(data.points.data(), data.size(), 2, options); });
    QVERIFY2(tooBig.contains("400") && tooBig.contains("350 points"), qPrintable(tooBig));
    options.minClusterSize = 10;
    options.minSamples = -3;
    QVERIFY(testsupport::errorOf([&] {
        moin::hdbscan(data.points.data(), data.size(), 2, options);
    }).contains("-3"));
    options.minSamples = 0;
    std::vector<float> broken = data.points;
    broken[7] = std::nanf("");
    QVERIFY(testsupport::errorOf([&] {
        moin::hdbscan(broken.data(), data.size(), 2, options);
    }).contains("NaN"));
    // One blob of 100 points cannot split into two parts of 60: no cluster, and the error
    // names the value.
    Data one;
    std::mt19937 rng(3);
    addBlob(one, { 0, 0 }, 1.0f, 100, 0, rng);
    options.minClusterSize = 60;
    const QString none
        = testsupport::errorOf([&] { moin::hdbscan(one.points.data(), one.size(), 2, options); });
    QVERIFY2(
        none.contains("no cluster") && none.contains("minimum cluster size 60"), qPrintable(none));
}

void TestHdbscan::cancelReturnsNothing()
{
    const Data data = blobsInNoise();
    moin::CancelToken cancel;
    cancel.cancel();
    moin::HdbscanOptions options;
    options.minClusterSize = 20;
    const moin::HdbscanResult result
        = moin::hdbscan(data.points.data(), data.size(), 2, options, {}, &cancel);
    QVERIFY(result.labels.empty());
}

QTEST_GUILESS_MAIN(TestHdbscan)
#include "tst_hdbscan.moc"
