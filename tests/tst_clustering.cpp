// Embedding, k-means, keywords, clustering runs and routing, checked against independent
// references (exact SVD of a hand-built tf-idf matrix, brute-force nearest centroids).
// LibTorch first: Qt's `slots` macro would break its headers.
#include <torch/torch.h>

#include "testsupport.h"

#include "moin/clustering.h"
#include "moin/corpus.h"
#include "moin/embedding.h"
#include "moin/error.h"
#include "moin/router.h"
#include "moin/workspace.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

#include <omp.h>

#include <fstream>
#include <random>
#include <set>

namespace {

// n points in `clusters` well-separated Gaussian blobs of dimension d; labels returned.
std::vector<float> blobs(int clusters, int perCluster, int d, std::vector<int>* labels,
                         double spread = 0.05, uint32_t seed = 3)
{
    std::mt19937 rng(seed);
    std::normal_distribution<float> noise(0.f, float(spread));
    std::vector<float> centres(size_t(clusters * d));
    for (float& c : centres)
        c = noise(rng) / float(spread); // unit-scale centres
    std::vector<float> points;
    for (int c = 0; c < clusters; ++c) {
        for (int i = 0; i < perCluster; ++i) {
            for (int t = 0; t < d; ++t)
                points.push_back(centres[size_t(c * d + t)] + noise(rng));
            labels->push_back(c);
        }
    }
    return points;
}

// Clusters are the labels up to renaming: each found cluster holds exactly one label.
bool samePartition(const std::vector<int32_t>& found, const std::vector<int>& labels)
{
    std::map<int32_t, std::set<int>> labelsOf;
    std::map<int, std::set<int32_t>> clustersOf;
    for (size_t i = 0; i < found.size(); ++i) {
        labelsOf[found[i]].insert(labels[i]);
        clustersOf[labels[i]].insert(found[i]);
    }
    for (const auto& [c, set] : labelsOf)
        if (set.size() != 1)
            return false;
    for (const auto& [l, set] : clustersOf)
        if (set.size() != 1)
            return false;
    return true;
}

const char* const kTopics[3][8] = {
    {"compiler", "parser", "register", "assembly", "linker", "bytecode", "kernel", "pointer"},
    {"shepherd", "temple", "prophet", "psalm", "covenant", "pharaoh", "altar", "tribe"},
    {"ballroom", "carriage", "bonnet", "marriage", "estate", "cousin", "parsonage", "suitor"},
};

QString topicText(int topic, int i)
{
    std::mt19937 rng(uint32_t(topic * 1000 + i));
    QStringList words;
    for (int w = 0; w < 40; ++w)
        words << kTopics[topic][rng() % 8];
    return words.join(' ') + QString(" number%1").arg(i);
}

} // namespace

class TestClustering : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void kmeansRecoversBlobs();
    void balancedBoundsSizes();
    void kmeansRefusesBadInput();
    void duplicatePointsLeaveEmptyClusters();
    void kmeansPlusPlusIsDeterministic();
    void kmeansPlusPlusSeparatesBlobs();
    void centroidSearchMatchesBruteForce();
    void vectorFileRefusesDamage();
    void keywordsFollowTheFormula();
    void tfidfMatchesExactSvd();
    void tfidfSaveLoadEmbedsIdentically();
    void runStoresAndRoutesEveryChunkHome();
    void secondRunReusesEmbeddings();
    void modelEmbedderRun();
    void cancelledRunStoresNothing();
    void routerRefusesDamagedCentroids();
    void hdbscanRunKeepsNoiseForTheMap();
    void hdbscanRunRefusesBadOptions();

private:
    QTemporaryDir m_tmp;
    QString m_base;
    std::optional<moin::Workspace> m_workspace;
};

void TestClustering::initTestCase()
{
    torch::set_num_threads(2);
    m_base = m_tmp.filePath("base");
    testsupport::makeTinyBaseModel(m_base);
    moin::WorkspaceOptions options;
    options.baseModel = m_base.toStdString();
    m_workspace = moin::Workspace::create(m_tmp.filePath("ws").toStdString(), options);
    QFile corpus(m_tmp.filePath("topics.jsonl"));
    QVERIFY(corpus.open(QIODevice::WriteOnly));
    for (int i = 0; i < 40; ++i) {
        for (int topic = 0; topic < 3; ++topic)
            corpus.write(QJsonDocument(QJsonObject{{"text", topicText(topic, i)}})
                             .toJson(QJsonDocument::Compact)
                         + "\n");
    }
    corpus.close();
    moin::ImportOptions import;
    import.chunkTokens = 512; // one chunk per document
    const auto report = moin::importCorpus(*m_workspace, {corpus.fileName().toStdString()}, import);
    QCOMPARE(report.chunksAdded, int64_t(120));
}

void TestClustering::kmeansRecoversBlobs()
{
    std::vector<int> labels;
    const std::vector<float> x = blobs(6, 50, 16, &labels);
    moin::KMeansOptions options;
    options.k = 6;
    const moin::KMeansResult result = moin::kmeans(x.data(), 300, 16, options);
    QVERIFY(samePartition(result.assignment, labels));
    // Independent check: each point's cluster is its nearest centroid, and the reported
    // distance and objective are what brute force gives.
    double total = 0;
    for (int i = 0; i < 300; ++i) {
        double best = 1e30;
        int arg = -1;
        for (int c = 0; c < 6; ++c) {
            double sum = 0;
            for (int t = 0; t < 16; ++t) {
                const double diff = x[size_t(i * 16 + t)] - result.centroids[size_t(c * 16 + t)];
                sum += diff * diff;
            }
            if (sum < best) {
                best = sum;
                arg = c;
            }
        }
        QCOMPARE(result.assignment[size_t(i)], arg);
        QVERIFY(std::abs(result.distances[size_t(i)] - best) < 1e-4);
        total += best;
    }
    QVERIFY(std::abs(result.objective - total / 300) < 1e-5);
    QCOMPARE(std::accumulate(result.sizes.begin(), result.sizes.end(), int64_t(0)), int64_t(300));
}

void TestClustering::balancedBoundsSizes()
{
    // One blob of 400 points and four of 50: plain k-means gives the big blob its own
    // cluster(s); the balanced mode must keep every cluster at most 1.2 x 600 / 5 = 144.
    std::vector<int> labels;
    std::vector<float> x = blobs(1, 400, 8, &labels, 0.3, 5);
    const std::vector<float> small = blobs(4, 50, 8, &labels, 0.05, 9);
    x.insert(x.end(), small.begin(), small.end());
    moin::KMeansOptions options;
    options.k = 5;
    options.balanced = true;
    options.maxClusterSizeFactor = 1.2;
    const moin::KMeansResult result = moin::kmeans(x.data(), 600, 8, options);
    for (int64_t size : result.sizes)
        QVERIFY2(size <= 144, qPrintable(QString::number(size)));
    QCOMPARE(std::accumulate(result.sizes.begin(), result.sizes.end(), int64_t(0)), int64_t(600));
    options.balanced = false;
    const moin::KMeansResult plain = moin::kmeans(x.data(), 600, 8, options);
    QVERIFY(*std::max_element(plain.sizes.begin(), plain.sizes.end()) > 144);
}

void TestClustering::kmeansRefusesBadInput()
{
    std::vector<float> x(20, 0.5f);
    moin::KMeansOptions options;
    options.k = 11;
    QVERIFY_THROWS_EXCEPTION(moin::Error, moin::kmeans(x.data(), 10, 2, options)); // n < k
    options.k = 1;
    QVERIFY_THROWS_EXCEPTION(moin::Error, moin::kmeans(x.data(), 10, 2, options));
    options.k = 2;
    x[7] = std::nanf("");
    try {
        moin::kmeans(x.data(), 10, 2, options);
        QFAIL("NaN must be refused");
    } catch (const moin::Error& e) {
        QVERIFY(QString(e.what()).contains("NaN"));
    }
}

void TestClustering::duplicatePointsLeaveEmptyClusters()
{
    // Three distinct points repeated: k = 5 cannot fill every cluster, and must not crash.
    std::vector<float> x;
    for (int i = 0; i < 30; ++i) {
        x.push_back(float(i % 3));
        x.push_back(0.f);
    }
    moin::KMeansOptions options;
    options.k = 5;
    const moin::KMeansResult result = moin::kmeans(x.data(), 30, 2, options);
    QCOMPARE(result.assignment.size(), size_t(30));
    QCOMPARE(std::accumulate(result.sizes.begin(), result.sizes.end(), int64_t(0)), int64_t(30));
    QVERIFY(result.objective < 1e-6);
}

void TestClustering::kmeansPlusPlusIsDeterministic()
{
    std::vector<int> labels;
    const std::vector<float> x = blobs(20, 200, 12, &labels, 0.2, 11); // 4,000 x 12
    const int threadsBefore = omp_get_max_threads();
    omp_set_num_threads(1);
    const std::vector<float> one = moin::kmeansPlusPlus(x.data(), 4000, 12, 20, 4000, 42);
    omp_set_num_threads(2);
    const std::vector<float> two = moin::kmeansPlusPlus(x.data(), 4000, 12, 20, 4000, 42);
    // On a sample of the points, too.
    const std::vector<float> sampledOne = moin::kmeansPlusPlus(x.data(), 4000, 12, 20, 1000, 42);
    omp_set_num_threads(1);
    const std::vector<float> sampledTwo = moin::kmeansPlusPlus(x.data(), 4000, 12, 20, 1000, 42);
    omp_set_num_threads(threadsBefore);
    QCOMPARE(one.size(), size_t(20 * 12));
    QVERIFY(one == two);
    QVERIFY(sampledOne == sampledTwo);
    QVERIFY(moin::kmeansPlusPlus(x.data(), 4000, 12, 20, 4000, 43) != one);
    // Every seed is one of the points.
    for (int c = 0; c < 20; ++c) {
        bool found = false;
        for (int i = 0; i < 4000 && !found; ++i)
            found = std::equal(x.begin() + i * 12, x.begin() + (i + 1) * 12, one.begin() + c * 12);
        QVERIFY(found);
    }
    // The whole k-means too, through FAISS's iterations and the final assignment.
    moin::KMeansOptions options;
    options.k = 20;
    omp_set_num_threads(1);
    const moin::KMeansResult a = moin::kmeans(x.data(), 4000, 12, options);
    omp_set_num_threads(2);
    const moin::KMeansResult b = moin::kmeans(x.data(), 4000, 12, options);
    omp_set_num_threads(threadsBefore);
    QVERIFY(a.assignment == b.assignment);
}

void TestClustering::kmeansPlusPlusSeparatesBlobs()
{
    // Eight blobs far apart (centres 10 apart, spread 0.01), one holding 2,000 points and seven
    // holding 10: k random points almost all land in the big blob, which k-means then splits
    // while small blobs share a centroid. k-means++ draws by squared distance and puts one seed
    // in every blob.
    constexpr int d = 6;
    std::vector<float> x;
    std::vector<int> labels;
    std::mt19937 rng(5);
    std::normal_distribution<float> noise(0.f, 0.01f);
    for (int blob = 0; blob < 8; ++blob) {
        for (int i = 0; i < (blob == 0 ? 2000 : 10); ++i) {
            for (int t = 0; t < d; ++t)
                x.push_back((t == blob % d ? 10.f * float(1 + blob / d) : 0.f) + noise(rng));
            labels.push_back(blob);
        }
    }
    const int64_t n = int64_t(labels.size());
    const std::vector<float> seeds = moin::kmeansPlusPlus(x.data(), n, d, 8, n, 7);
    std::set<int> seeded;
    for (int c = 0; c < 8; ++c) {
        for (int64_t i = 0; i < n; ++i) {
            if (std::equal(x.begin() + i * d, x.begin() + (i + 1) * d, seeds.begin() + c * d))
                seeded.insert(labels[size_t(i)]);
        }
    }
    QCOMPARE(seeded.size(), size_t(8)); // one seed in every blob

    moin::KMeansOptions options;
    options.k = 8;
    const moin::KMeansResult withPlusPlus = moin::kmeans(x.data(), n, d, options);
    QVERIFY(samePartition(withPlusPlus.assignment, labels));
    options.kmeansPlusPlus = false;
    const moin::KMeansResult random = moin::kmeans(x.data(), n, d, options);
    QVERIFY(!samePartition(random.assignment, labels));
    QVERIFY(random.objective > 10 * withPlusPlus.objective);
}

void TestClustering::centroidSearchMatchesBruteForce()
{
    // 300 centroids of 24 dimensions, two of them duplicates (a tie: the lower index first);
    // 300 queries, so that the batched path crosses a block of 256 queries, and single ones.
    constexpr int k = 300, d = 24, n = 300, m = 5;
    std::mt19937 rng(17);
    std::normal_distribution<float> normal;
    std::vector<float> centroids(size_t(k * d)), queries(size_t(n * d));
    for (float& v : centroids)
        v = normal(rng);
    for (float& v : queries)
        v = normal(rng);
    std::copy(centroids.begin() + 10 * d, centroids.begin() + 11 * d, centroids.begin() + 250 * d);
    std::copy(centroids.begin() + 10 * d, centroids.begin() + 11 * d, queries.begin() + 7 * d);
    const moin::CentroidSearch search(centroids, k, d);
    std::vector<int32_t> labels(static_cast<size_t>(n * m)), single(static_cast<size_t>(m));
    std::vector<float> distances(static_cast<size_t>(n * m));
    std::vector<float> singleDistances(static_cast<size_t>(m));
    search.search(queries.data(), n, m, labels.data(), distances.data());
    for (int i = 0; i < n; ++i) {
        std::vector<std::pair<double, int>> reference;
        for (int c = 0; c < k; ++c) {
            double sum = 0;
            for (int t = 0; t < d; ++t) {
                const double diff = double(queries[size_t(i * d + t)]) - centroids[size_t(c * d + t)];
                sum += diff * diff;
            }
            reference.emplace_back(sum, c);
        }
        std::sort(reference.begin(), reference.end());
        search.search(queries.data() + i * d, 1, m, single.data(), singleDistances.data());
        for (int j = 0; j < m; ++j) {
            QCOMPARE(labels[size_t(i * m + j)], reference[size_t(j)].second);
            QCOMPARE(single[size_t(j)], reference[size_t(j)].second);
            const double expected = reference[size_t(j)].first;
            QVERIFY(std::abs(distances[size_t(i * m + j)] - expected) <= 1e-6 * (1 + expected));
            QCOMPARE(singleDistances[size_t(j)], distances[size_t(i * m + j)]);
        }
    }
    // Query 7 sits on centroid 10 and its duplicate 250: distance 0, the lower index first.
    QCOMPARE(labels[7 * m], 10);
    QCOMPARE(labels[7 * m + 1], 250);
    QCOMPARE(distances[7 * m], 0.f);
    QVERIFY_THROWS_EXCEPTION(moin::Error, search.search(queries.data(), 1, k + 1, single.data(),
                                                        singleDistances.data()));
}

void TestClustering::vectorFileRefusesDamage()
{
    const std::string path = m_tmp.filePath("vectors.f32").toStdString();
    const std::vector<float> values = {1.f, 2.f, 3.f, 4.f, 5.f, 6.f};
    moin::writeVectorFile(path, values.data(), 2, 3);
    const moin::VectorFile read = moin::readVectorFile(path);
    QCOMPARE(read.rows, int64_t(2));
    QCOMPARE(read.cols, int64_t(3));
    QVERIFY(read.values == values);
    std::string bytes;
    {
        std::ifstream in(path, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    QCOMPARE(bytes.size(), size_t(24 + 6 * 4));
    auto refused = [&](const std::string& content, const QString& expected) {
        {
            std::ofstream out(path, std::ios::binary | std::ios::trunc);
            out << content;
        }
        try {
            moin::readVectorFile(path);
        } catch (const moin::Error& e) {
            const QString message = e.what();
            return message.contains(QString::fromStdString(path)) && message.contains(expected)
                   && message.contains("cluster again");
        }
        return false;
    };
    QVERIFY(refused(bytes.substr(0, bytes.size() - 4), "truncated"));
    QVERIFY(refused(bytes.substr(0, 20), "truncated"));
    QVERIFY(refused(bytes + "xx", "does not match its header"));
    QVERIFY(refused("GGUF\x03\x00\x00\x00" + bytes.substr(8), "found \"GGUF\\x03"));
    QVERIFY(refused("", "not a MoIN vector file"));
    std::string zeroRows = bytes;
    std::fill(zeroRows.begin() + 8, zeroRows.begin() + 16, '\0');
    QVERIFY(refused(zeroRows, "not a valid shape"));
    std::string huge = bytes;
    std::fill(huge.begin() + 8, huge.begin() + 16, '\xff');
    QVERIFY(refused(huge, "not a valid shape"));
    std::remove(path.c_str());
    try {
        moin::readVectorFile(path);
        QFAIL("a missing file must be refused");
    } catch (const moin::Error& e) {
        QVERIFY(QString(e.what()).contains("cannot read the vector file"));
    }
}

void TestClustering::keywordsFollowTheFormula()
{
    const std::vector<std::string> texts = {"apple apple pear", "apple kiwi", "stone rock rock",
                                            "rock stone stone"};
    const std::vector<int32_t> assignment = {0, 0, 1, 1};
    const auto keywords = moin::clusterKeywords(texts, assignment, 2, 3);
    // Cluster 0 words: apple x3, pear, kiwi (5); cluster 1: stone x3, rock x3 (6). Mean 5.5.
    // apple: tf 3/5 * log(1 + 5.5/3); pear and kiwi occur once: not keywords.
    QCOMPARE(keywords[0].size(), size_t(1));
    QCOMPARE(keywords[0][0].first, std::string("apple"));
    QVERIFY(std::abs(keywords[0][0].second - 0.6 * std::log(1 + 5.5 / 3)) < 1e-12);
    QCOMPARE(keywords[1].size(), size_t(2));
    QVERIFY(std::abs(keywords[1][0].second - 0.5 * std::log(1 + 5.5 / 3)) < 1e-12);
    // Tokens: lower case, no stop words, no bare numbers, curly quotes are not words.
    QCOMPARE(moin::keywordTokens("The Über-Compiler’s 1611 “bytes” and C3PO"),
             (std::vector<std::string>{"über", "compiler", "bytes", "c3po"}));
}

void TestClustering::tfidfMatchesExactSvd()
{
    std::vector<std::string> texts;
    for (int i = 0; i < 30; ++i)
        texts.push_back(topicText(i % 3, i).toStdString());
    moin::EmbedderOptions options;
    options.dimensions = 3; // three topics: a clear gap after the third singular value
    options.minDocumentFrequency = 1;
    options.maxDocumentFraction = 1.0;
    options.powerIterations = 6;
    const auto embedder = moin::Embedder::fit(texts, options);
    QCOMPARE(embedder->dimensions(), 3);
    std::vector<float> ours(30 * 3);
    embedder->embed(texts, ours.data());

    // Independent reference: the tf-idf matrix by hand (sublinear tf, smooth idf, L2 rows),
    // its exact SVD, the projection on the top 4 right singular vectors, L2-normalised.
    std::map<std::string, int> column;
    std::vector<std::map<int, int>> counts(30);
    for (int i = 0; i < 30; ++i) {
        for (const std::string& w : moin::keywordTokens(texts[size_t(i)])) {
            const int j = column.emplace(w, int(column.size())).first->second;
            ++counts[size_t(i)][j];
        }
    }
    const int V = int(column.size());
    std::vector<int> df(size_t(V), 0);
    for (const auto& row : counts)
        for (const auto& [j, c] : row)
            ++df[size_t(j)];
    torch::Tensor X = torch::zeros({30, V}, torch::kFloat64);
    for (int i = 0; i < 30; ++i) {
        for (const auto& [j, c] : counts[size_t(i)])
            X[i][j] = (1 + std::log(double(c))) * (std::log(31.0 / (1 + df[size_t(j)])) + 1);
    }
    X = X / X.norm(2, 1, true);
    const auto [U, S, Vh] = torch::linalg::svd(X, false, c10::nullopt);
    torch::Tensor reference = torch::matmul(X, Vh.narrow(0, 0, 3).t());
    reference = reference / reference.norm(2, 1, true);
    const torch::Tensor mine = torch::from_blob(ours.data(), {30, 3}).to(torch::kFloat64);
    // Singular vectors are defined up to sign and, for equal singular values, rotation: compare
    // what is invariant, the cosine similarity of every pair of chunks.
    const double diff =
        (torch::matmul(mine, mine.t()) - torch::matmul(reference, reference.t())).abs().max()
            .item<double>();
    QVERIFY2(diff < 1e-3, qPrintable(QString("max Gram difference %1").arg(diff)));
}

void TestClustering::tfidfSaveLoadEmbedsIdentically()
{
    std::vector<std::string> texts;
    for (int i = 0; i < 30; ++i)
        texts.push_back(topicText(i % 3, i).toStdString());
    const auto embedder = moin::Embedder::fit(texts, {});
    embedder->save(m_tmp.filePath("embedder").toStdString());
    const auto loaded = moin::Embedder::load(m_tmp.filePath("embedder").toStdString());
    std::vector<float> a(30 * size_t(embedder->dimensions())), b(a.size());
    embedder->embed(texts, a.data());
    loaded->embed(texts, b.data());
    QVERIFY(a == b);
    double norm = 0;
    for (int t = 0; t < embedder->dimensions(); ++t)
        norm += double(a[size_t(t)]) * a[size_t(t)];
    QVERIFY(std::abs(norm - 1) < 1e-5);
}

void TestClustering::runStoresAndRoutesEveryChunkHome()
{
    moin::ClusterRunOptions options;
    options.kmeans.k = 3;
    options.layout.epochs = 50;
    std::vector<std::string> phases;
    const int64_t runId = moin::runClustering(*m_workspace, options,
                                              [&](const std::string& phase, double) {
                                                  if (phases.empty() || phases.back() != phase)
                                                      phases.push_back(phase);
                                              });
    QVERIFY(runId > 0);
    QCOMPARE(moin::activeClusterRun(*m_workspace), runId);
    QVERIFY(std::find(phases.begin(), phases.end(), "k-means") != phases.end());
    const auto clusters = moin::listClusters(*m_workspace, runId);
    QCOMPARE(clusters.size(), size_t(3));
    // Each topic is one cluster, named by its own words.
    std::set<std::string> firstKeywords;
    for (const auto& c : clusters) {
        QCOMPARE(c.size, int64_t(40));
        QVERIFY(!c.keywords.empty());
        QCOMPARE(c.sampleChunks.size(), size_t(5));
        firstKeywords.insert(c.keywords.front());
    }
    QCOMPARE(firstKeywords.size(), size_t(3));
    const auto placements = moin::listPlacements(*m_workspace, runId);
    QCOMPARE(placements.size(), size_t(120));

    // Routing uses exactly the training embedding: every chunk goes to its own cluster.
    const moin::Router router = moin::Router::open(*m_workspace);
    QCOMPARE(router.runId(), runId);
    const auto chunks = moin::findChunks(*m_workspace, "", 1000);
    std::vector<std::string> texts;
    for (const auto& chunk : chunks)
        texts.push_back(chunk.text);
    const auto decisions = router.route(texts, 3);
    for (size_t i = 0; i < chunks.size(); ++i) {
        QCOMPARE(chunks[i].id, placements[i].chunkId);
        QCOMPARE(decisions[i].expert, placements[i].cluster);
        QVERIFY(std::abs(decisions[i].distance - placements[i].distance) < 1e-4);
        QCOMPARE(decisions[i].candidates.size(), size_t(3));
        QVERIFY(decisions[i].candidates[0].distance <= decisions[i].candidates[1].distance);
        QVERIFY(decisions[i].candidates[1].distance <= decisions[i].candidates[2].distance);
    }
    // A new query about compilers goes where the compiler chunks went.
    const auto query = router.route({"the linker and the parser of a compiler"}, 1);
    QCOMPARE(query[0].expert, placements[0].cluster); // chunk 1 is topic 0 (compilers)
}

void TestClustering::secondRunReusesEmbeddings()
{
    moin::ClusterRunOptions options;
    options.kmeans.k = 4;
    options.layout.method = "pca";
    bool reused = false;
    const int64_t runId = moin::runClustering(*m_workspace, options,
                                              [&](const std::string& phase, double) {
                                                  reused |= phase.rfind("reusing", 0) == 0;
                                              });
    QVERIFY(runId > 0);
    QVERIFY(reused);
    QCOMPARE(moin::listClusters(*m_workspace, runId).size(), size_t(4));
    QCOMPARE(moin::listClusterRuns(*m_workspace).size(), size_t(2));
}

void TestClustering::modelEmbedderRun()
{
    moin::ClusterRunOptions options;
    options.kmeans.k = 3;
    options.embedder.kind = "model";
    options.layout.method = "pca";
    options.activate = false;
    const int64_t before = moin::activeClusterRun(*m_workspace);
    const int64_t runId = moin::runClustering(*m_workspace, options);
    QVERIFY(runId > 0);
    QCOMPARE(moin::activeClusterRun(*m_workspace), before); // not activated
    const moin::Router router = moin::Router::open(*m_workspace, runId);
    QCOMPARE(router.dimensions(), 32); // the tiny base's hidden size
    const auto placements = moin::listPlacements(*m_workspace, runId);
    const auto chunks = moin::findChunks(*m_workspace, "", 5);
    for (size_t i = 0; i < chunks.size(); ++i)
        QCOMPARE(router.route({chunks[i].text}, 1)[0].expert, placements[i].cluster);
}

void TestClustering::cancelledRunStoresNothing()
{
    const size_t runsBefore = moin::listClusterRuns(*m_workspace).size();
    moin::CancelToken cancel;
    moin::ClusterRunOptions options;
    options.kmeans.k = 3;
    options.embedder.dimensions = 16; // a new embedder: no reuse, so there is work to cancel
    const int64_t runId = moin::runClustering(
        *m_workspace, options,
        [&](const std::string& phase, double) {
            if (phase == "fitting the embedder")
                cancel.cancel();
        },
        &cancel);
    QCOMPARE(runId, int64_t(0));
    QCOMPARE(moin::listClusterRuns(*m_workspace).size(), runsBefore);
    QCOMPARE(m_workspace->database().queryInt64("SELECT COUNT(*) FROM cluster_runs").value(),
             int64_t(runsBefore));
    const QDir indexes(QString::fromStdString(m_workspace->indexesDirectory()));
    QCOMPARE(indexes.entryList(QDir::Dirs | QDir::NoDotAndDotDot).size(), int(runsBefore));
}

void TestClustering::routerRefusesDamagedCentroids()
{
    const int64_t runId = moin::activeClusterRun(*m_workspace);
    QVERIFY(runId > 0);
    const std::string path = moin::clusterRunDirectory(*m_workspace, runId) + "/centroids.f32";
    std::string bytes;
    {
        std::ifstream in(path, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    QVERIFY(bytes.size() > 24);
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out << bytes.substr(0, bytes.size() - 1);
    }
    QString message;
    try {
        moin::Router::open(*m_workspace, runId);
    } catch (const moin::Error& e) {
        message = e.what();
    }
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out << bytes;
    }
    QVERIFY2(message.contains("centroids.f32") && message.contains("truncated"),
             qPrintable(message));
    QCOMPARE(moin::Router::open(*m_workspace, runId).runId(), runId);
}

void TestClustering::hdbscanRunKeepsNoiseForTheMap()
{
    // Eight chunks that mix the three topics' words: between the topics, too few to be a
    // cluster of their own.
    QFile mixed(m_tmp.filePath("mixed.jsonl"));
    QVERIFY(mixed.open(QIODevice::WriteOnly));
    for (int i = 0; i < 8; ++i) {
        std::mt19937 rng(uint32_t(500 + i));
        QStringList words;
        for (int w = 0; w < 40; ++w)
            words << kTopics[rng() % 3][rng() % 8];
        const QJsonObject line{{"text", words.join(' ') + QString(" mixed%1").arg(i)}};
        mixed.write(QJsonDocument(line).toJson(QJsonDocument::Compact) + "\n");
    }
    mixed.close();
    moin::ImportOptions import;
    import.chunkTokens = 512;
    QCOMPARE(moin::importCorpus(*m_workspace, {mixed.fileName().toStdString()}, import)
                 .chunksAdded,
             int64_t(8));

    struct Run {
        int64_t id = 0;
        std::vector<std::string> phases;
        moin::ClusterRunInfo info;
        QJsonObject metrics;
        std::vector<moin::ChunkPlacement> placements;
    };
    auto cluster = [&](const moin::ClusterRunOptions& options) {
        Run run;
        run.id = moin::runClustering(*m_workspace, options,
                                     [&](const std::string& phase, double) {
                                         if (run.phases.empty() || run.phases.back() != phase)
                                             run.phases.push_back(phase);
                                     });
        for (const auto& info : moin::listClusterRuns(*m_workspace))
            if (info.id == run.id)
                run.info = info;
        run.metrics =
            QJsonDocument::fromJson(QByteArray::fromStdString(run.info.metrics)).object();
        run.placements = moin::listPlacements(*m_workspace, run.id);
        return run;
    };
    auto saw = [](const Run& run, const std::string& phase) {
        return std::find(run.phases.begin(), run.phases.end(), phase) != run.phases.end();
    };
    // The 120 topic chunks (the first ones; documents alternate topics) are the three topics.
    auto topicsFound = [](const Run& run) {
        std::vector<int32_t> found;
        std::vector<int> topics;
        for (size_t i = 0; i < 120; ++i) {
            found.push_back(run.placements[i].cluster);
            topics.push_back(
                int((run.placements[i].chunkId - run.placements.front().chunkId) % 3));
        }
        return samePartition(found, topics);
    };

    // 1. The paper's recipe: the 256-dimensional tf-idf embeddings reduced by UMAP to 8.
    moin::ClusterRunOptions options;
    options.method = "hdbscan";
    options.hdbscan.minClusterSize = 10;
    options.layout.threads = 1; // the same reduction every time
    options.layout.epochs = 100;
    options.activate = false;
    const Run reduced = cluster(options);
    QVERIFY(reduced.id > 0);
    QVERIFY(saw(reduced, "reducing dimensions") && saw(reduced, "HDBSCAN"));
    QVERIFY(!saw(reduced, "k-means"));
    QCOMPARE(reduced.info.k, 3); // the three topics, found from the data
    QCOMPARE(reduced.metrics["reduced_dimensions"].toInt(), 8);
    QCOMPARE(reduced.placements.size(), size_t(128));
    QVERIFY(topicsFound(reduced));
    const QJsonObject parameters =
        QJsonDocument::fromJson(QByteArray::fromStdString(reduced.info.parameters)).object();
    QCOMPARE(parameters["method"].toString(), QString("hdbscan"));
    QCOMPARE(parameters["min_samples"].toInt(), 10); // minClusterSize when not set

    // 2. Embeddings of 8 dimensions are clustered as they are; there the mixed chunks lie
    // between the topics and HDBSCAN calls some of them noise.
    options.embedder.dimensions = 8;
    const Run run = cluster(options);
    QVERIFY(run.id > 0);
    QVERIFY(!saw(run, "reducing dimensions"));
    QCOMPARE(run.info.k, 3);
    QCOMPARE(run.metrics["noise_assignment"].toString(), QString("nearest cluster"));
    const auto noise = std::count_if(run.placements.begin(), run.placements.end(),
                                     [](const moin::ChunkPlacement& p) { return p.noise; });
    QCOMPARE(int64_t(noise), int64_t(run.metrics["noise"].toInt()));
    QVERIFY2(noise > 0 && noise < 30, qPrintable(QString::number(noise)));
    QVERIFY(topicsFound(run));

    // Noise joined the nearest mean of the clustered chunks; the stored centroids are the
    // means of the final assignment (brute force, in double).
    const std::string dir = moin::clusterRunDirectory(*m_workspace, run.id);
    const moin::VectorFile embeddings = moin::readVectorFile(dir + "/embeddings.f32");
    const moin::VectorFile centroids = moin::readVectorFile(dir + "/centroids.f32");
    const int64_t d = embeddings.cols;
    QCOMPARE(d, int64_t(8));
    QCOMPARE(centroids.rows, int64_t(3));
    const auto& placements = run.placements;
    auto meansOf = [&](bool withNoise) {
        std::vector<double> sums(size_t(3 * d), 0.0);
        std::vector<int> counts(3, 0);
        for (size_t i = 0; i < placements.size(); ++i) {
            if (placements[i].noise && !withNoise)
                continue;
            const int c = placements[i].cluster;
            ++counts[size_t(c)];
            for (int64_t t = 0; t < d; ++t)
                sums[size_t(c * d + t)] += embeddings.values[size_t(int64_t(i) * d + t)];
        }
        for (int c = 0; c < 3; ++c)
            for (int64_t t = 0; t < d; ++t)
                sums[size_t(c * d + t)] /= counts[size_t(c)];
        return sums;
    };
    const std::vector<double> finalMeans = meansOf(true), clusteredMeans = meansOf(false);
    for (size_t j = 0; j < finalMeans.size(); ++j)
        QVERIFY(std::abs(finalMeans[j] - centroids.values[j]) < 1e-5);
    for (size_t i = 0; i < placements.size(); ++i) {
        if (!placements[i].noise)
            continue;
        std::vector<double> distance(3, 0.0);
        for (int c = 0; c < 3; ++c)
            for (int64_t t = 0; t < d; ++t) {
                const double diff = embeddings.values[size_t(int64_t(i) * d + t)]
                                    - clusteredMeans[size_t(c * d + t)];
                distance[size_t(c)] += diff * diff;
            }
        QCOMPARE(int(std::min_element(distance.begin(), distance.end()) - distance.begin()),
                 placements[i].cluster);
    }
    // The router sends every topic chunk to its stored cluster. (A chunk at a cluster's edge
    // may be nearer another cluster's centroid: HDBSCAN's clusters are not Voronoi cells.)
    const moin::Router router = moin::Router::open(*m_workspace, run.id);
    const auto chunks = moin::findChunks(*m_workspace, "", 1000);
    std::vector<std::string> texts;
    for (size_t i = 0; i < 120; ++i)
        texts.push_back(chunks[i].text);
    const auto decisions = router.route(texts, 1);
    for (size_t i = 0; i < texts.size(); ++i)
        QCOMPARE(decisions[i].expert, placements[i].cluster);
}

void TestClustering::hdbscanRunRefusesBadOptions()
{
    const size_t runsBefore = moin::listClusterRuns(*m_workspace).size();
    moin::ClusterRunOptions options;
    options.method = "hdbscan";
    options.layout.epochs = 20;
    // 120 chunks cannot split into two clusters of 100: nothing stored, the value named.
    options.hdbscan.minClusterSize = 100;
    const QString none = testsupport::errorOf([&] { moin::runClustering(*m_workspace, options); });
    QVERIFY2(none.contains("no cluster") && none.contains("100"), qPrintable(none));
    QCOMPARE(moin::listClusterRuns(*m_workspace).size(), runsBefore);
    const QDir indexes(QString::fromStdString(m_workspace->indexesDirectory()));
    QCOMPARE(indexes.entryList(QDir::Dirs | QDir::NoDotAndDotDot).size(), int(runsBefore));
    options.hdbscan.minClusterSize = 10;
    options.reduceDimensions = 40;
    QVERIFY(testsupport::errorOf([&] { moin::runClustering(*m_workspace, options); })
                .contains("got 40"));
    options.method = "dbscan";
    QVERIFY(testsupport::errorOf([&] { moin::runClustering(*m_workspace, options); })
                .contains("\"dbscan\""));
    QCOMPARE(moin::listClusterRuns(*m_workspace).size(), runsBefore);
}

QTEST_GUILESS_MAIN(TestClustering)
#include "tst_clustering.moc"
