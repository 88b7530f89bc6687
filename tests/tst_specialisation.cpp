// The expert x cluster perplexity matrix (`moin eval --matrix`): every cell against an
// independent per-chunk computation, the margins, sampling beyond --max-clusters, the stored
// cells reused and scored again when an adapter changes, cancel, the advice, and bad input.
#include "testsupport.h"

#include "moin/clustering.h"
#include "moin/database.h"
#include "moin/error.h"
#include "moin/evaluation.h"
#include "moin/model.h"
#include "moin/specialisation.h"
#include "moin/training.h"
#include "moin/workspace.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <filesystem>
#include <map>
#include <set>

namespace {

/// Perplexity of a model on a cluster's held-out chunks, one chunk at a time through the
/// single-sequence API (LanguageModel::perplexity), weighted by tokens: the reference for the
/// batched matrix.
double referencePerplexity(moin::Workspace& workspace, const moin::LanguageModel& model,
                           int64_t runId, int cluster, double fraction)
{
    moin::Statement ids = workspace.database().prepare(
        "SELECT chunk_id FROM chunk_clusters WHERE run_id = ? AND cluster = ? ORDER BY chunk_id");
    ids.bind(1, runId).bind(2, cluster);
    std::vector<int64_t> chunkIds;
    while (ids.step())
        chunkIds.push_back(ids.columnInt64(0));
    double nll = 0;
    int64_t tokens = 0;
    moin::Statement text = workspace.database().prepare("SELECT text FROM chunks WHERE id = ?");
    for (int64_t id : moin::splitCluster(chunkIds, fraction).heldOutChunks) {
        text.reset();
        text.bind(1, id);
        if (!text.step())
            throw moin::Error("chunk vanished");
        const moin::PerplexityResult one = model.perplexity(text.columnText(0));
        nll += one.meanNll * double(one.tokens);
        tokens += one.tokens;
    }
    return std::exp(nll / double(tokens));
}

int64_t storedRows(moin::Workspace& workspace)
{
    return workspace.database().queryInt64("SELECT COUNT(*) FROM specialisation_cells").value();
}

bool close(double a, double b, double tolerance = 1e-4)
{
    return std::abs(a / b - 1) < tolerance;
}

} // namespace

class TestSpecialisation : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void matrixMatchesPerChunkReference();
    void storedCellsAreReusedUntilAnAdapterChanges();
    void cancelKeepsTheCellsComputed();
    void samplingBeyondMaxClusters();
    void adviceNamesTheLikelyCause();
    void neighbourOrderChainsNeighbours();
    void cliPrintsTheMatrix();
    void badInputIsRefusedAndNothingWritten();

private:
    moin::SpecialisationOptions cpu() const
    {
        moin::SpecialisationOptions options;
        options.device = "cpu";
        return options;
    }

    QTemporaryDir m_tmp;
    QString m_base;
    QString m_dir;
    std::optional<moin::Workspace> m_workspace;
    int64_t m_run = 0;
};

void TestSpecialisation::initTestCase()
{
    QVERIFY(m_tmp.isValid());
    const testsupport::TopicWorkspace topics = testsupport::makeTopicWorkspace(m_tmp.path());
    m_base = topics.baseModel;
    m_dir = topics.directory;
    m_run = topics.runId;
    testsupport::trainTinyExperts(m_dir, m_run, {0, 1, 2});
    m_workspace = moin::Workspace::open(m_dir.toStdString());
}

void TestSpecialisation::matrixMatchesPerChunkReference()
{
    int progressCalls = 0, lastTotal = 0;
    const moin::SpecialisationMatrix m = moin::computeSpecialisation(
        *m_workspace, cpu(), [&](int done, int total) {
            ++progressCalls;
            QCOMPARE(done, progressCalls);
            lastTotal = total;
        });
    QCOMPARE(m.runId, m_run);
    QVERIFY(!m.sampled);
    QCOMPARE(m.clusters, (std::vector<int>{0, 1, 2}));
    QCOMPARE(m.experts.size(), size_t(3));
    // 3 base cells + 3 x 3 expert cells, all computed now.
    QCOMPARE(m.computedCells, 12);
    QCOMPARE(m.storedCells, 0);
    QCOMPARE(progressCalls, 12);
    QCOMPARE(lastTotal, 12);
    QVERIFY(m.complete());
    QCOMPARE(storedRows(*m_workspace), int64_t(12));

    moin::TrainingQueue queue(*m_workspace);
    const auto experts = queue.experts(m_run);
    moin::LanguageModel model = moin::LanguageModel::load(m_base.toStdString());
    const double fraction = queue.job(experts[0].jobId).spec.heldOutFraction;
    std::map<int, double> base;
    for (int c : m.clusters) {
        base[c] = referencePerplexity(*m_workspace, model, m_run, c, fraction);
        QVERIFY2(close(m.basePerplexity.at(c), base[c]),
                 qPrintable(QString("base on %1: %2 vs %3")
                                .arg(c)
                                .arg(m.basePerplexity.at(c))
                                .arg(base[c])));
    }
    for (size_t i = 0; i < experts.size(); ++i) {
        const moin::ExpertSpecialisation& row = m.experts[i];
        QCOMPARE(row.expert, experts[i].cluster);
        model.loadAdapter(experts[i].adapterPath);
        std::map<int, double> reduction;
        for (int c : m.clusters) {
            const double reference = referencePerplexity(*m_workspace, model, m_run, c, fraction);
            QVERIFY2(close(row.perplexity.at(c), reference),
                     qPrintable(QString("expert %1 on %2: %3 vs %4")
                                    .arg(row.expert)
                                    .arg(c)
                                    .arg(row.perplexity.at(c))
                                    .arg(reference)));
            reduction[c] = 1 - reference / base[c];
        }
        model.detachAdapter();
        // The diagonal is what the worker measured when the job ended.
        QVERIFY(close(row.perplexity.at(row.expert), experts[i].expertPerplexity));
        double bestOther = -1e9;
        int bestCluster = -1;
        for (const auto& [c, r] : reduction) {
            if (c != row.expert && r > bestOther) {
                bestOther = r;
                bestCluster = c;
            }
        }
        QCOMPARE(row.bestOtherCluster, bestCluster);
        QVERIFY(std::abs(row.ownReduction - reduction[row.expert]) < 1e-4);
        QVERIFY(std::abs(row.margin - (reduction[row.expert] - bestOther)) < 1e-4);
        QVERIFY(std::abs(moin::relativeReduction(base[row.expert], row.perplexity.at(row.expert))
                         - row.ownReduction)
                < 1e-12);
    }
}

void TestSpecialisation::storedCellsAreReusedUntilAnAdapterChanges()
{
    const moin::SpecialisationMatrix first = moin::computeSpecialisation(*m_workspace, cpu());
    int progressCalls = 0;
    const moin::SpecialisationMatrix again =
        moin::computeSpecialisation(*m_workspace, cpu(), [&](int, int) { ++progressCalls; });
    QCOMPARE(again.computedCells, 0);
    QCOMPARE(again.storedCells, 12);
    QCOMPARE(progressCalls, 0);
    for (size_t i = 0; i < first.experts.size(); ++i) {
        QCOMPARE(again.experts[i].perplexity, first.experts[i].perplexity);
        QCOMPARE(again.experts[i].margin, first.experts[i].margin);
    }
    // Reading without computing gives the same, complete matrix.
    moin::SpecialisationOptions readOnly = cpu();
    readOnly.compute = false;
    const moin::SpecialisationMatrix read = moin::computeSpecialisation(*m_workspace, readOnly);
    QVERIFY(read.complete());
    QCOMPARE(read.experts[1].perplexity, first.experts[1].perplexity);

    // Expert 1 "retrained": its adapter now holds expert 0's weights (a new file). Only its
    // three cells are scored again, and they now equal expert 0's.
    moin::TrainingQueue queue(*m_workspace);
    const auto experts = queue.experts(m_run);
    namespace fs = std::filesystem;
    const fs::path from = fs::path(experts[0].adapterPath) / "adapter_model.safetensors";
    const fs::path to = fs::path(experts[1].adapterPath) / "adapter_model.safetensors";
    const fs::path keep = fs::path(m_tmp.path().toStdString()) / "expert1.safetensors";
    fs::copy_file(to, keep, fs::copy_options::overwrite_existing);
    fs::copy_file(from, to, fs::copy_options::overwrite_existing);
    const moin::SpecialisationMatrix stale = moin::computeSpecialisation(*m_workspace, readOnly);
    QCOMPARE(stale.missingCells, 3);
    QVERIFY(!stale.complete());
    const moin::SpecialisationMatrix changed = moin::computeSpecialisation(*m_workspace, cpu());
    QCOMPARE(changed.computedCells, 3);
    QCOMPARE(changed.storedCells, 9);
    for (int c : changed.clusters)
        QVERIFY(close(changed.experts[1].perplexity.at(c), first.experts[0].perplexity.at(c)));
    // Back to its own weights: scored again, the first values return.
    fs::copy_file(keep, to, fs::copy_options::overwrite_existing);
    const moin::SpecialisationMatrix restored = moin::computeSpecialisation(*m_workspace, cpu());
    QCOMPARE(restored.computedCells, 3);
    for (int c : restored.clusters)
        QVERIFY(close(restored.experts[1].perplexity.at(c), first.experts[1].perplexity.at(c)));
    QCOMPARE(storedRows(*m_workspace), int64_t(12));
}

void TestSpecialisation::cancelKeepsTheCellsComputed()
{
    m_workspace->database().exec("DELETE FROM specialisation_cells");
    moin::CancelToken cancel;
    const moin::SpecialisationMatrix cancelled = moin::computeSpecialisation(
        *m_workspace, cpu(),
        [&](int done, int) {
            if (done == 5)
                cancel.cancel();
        },
        &cancel);
    QVERIFY(cancelled.cancelled);
    QVERIFY(!cancelled.complete());
    QCOMPARE(cancelled.computedCells, 5);
    QCOMPARE(cancelled.missingCells, 7);
    QCOMPARE(storedRows(*m_workspace), int64_t(5));
    const moin::SpecialisationMatrix rest = moin::computeSpecialisation(*m_workspace, cpu());
    QCOMPARE(rest.computedCells, 7);
    QCOMPARE(rest.storedCells, 5);
    QVERIFY(rest.complete());
}

void TestSpecialisation::samplingBeyondMaxClusters()
{
    // A second run of six clusters; experts on three of them.
    moin::ClusterRunOptions clustering;
    clustering.kmeans.k = 6;
    clustering.layout.method = "pca";
    clustering.activate = false;
    const int64_t run = moin::runClustering(*m_workspace, clustering);
    QVERIFY(run > 0);
    testsupport::trainTinyExperts(m_dir, run, {0, 2, 4});

    moin::SpecialisationOptions options = cpu();
    options.runId = run;
    options.maxClusters = 4;
    options.nearest = 2;
    options.random = 1;
    options.seed = 7;
    const moin::SpecialisationMatrix m = moin::computeSpecialisation(*m_workspace, options);
    QVERIFY(m.sampled);
    QCOMPARE(m.experts.size(), size_t(3));
    const moin::VectorFile file = moin::readRunCentroids(*m_workspace, run);
    const std::vector<float>& centroids = file.values;
    const int64_t k = file.rows, d = file.cols;
    QCOMPARE(k, int64_t(6));
    std::set<int> union_;
    for (const moin::ExpertSpecialisation& e : m.experts) {
        // Own + 2 nearest + 1 random, the nearest by centroid, computed here.
        QCOMPARE(e.perplexity.size(), size_t(4));
        QVERIFY(e.perplexity.count(e.expert));
        std::vector<std::pair<double, int>> byDistance;
        for (int c = 0; c < int(k); ++c) {
            if (c == e.expert)
                continue;
            double sum = 0;
            for (int64_t t = 0; t < d; ++t) {
                const double diff = centroids[size_t(c * d + t)] - centroids[size_t(e.expert * d + t)];
                sum += diff * diff;
            }
            byDistance.push_back({sum, c});
        }
        std::sort(byDistance.begin(), byDistance.end());
        QCOMPARE(e.nearest, (std::vector<int>{byDistance[0].second, byDistance[1].second}));
        QCOMPARE(e.random.size(), size_t(1));
        QVERIFY(e.random[0] != e.expert && e.random[0] != e.nearest[0]
                && e.random[0] != e.nearest[1]);
        for (const auto& [c, p] : e.perplexity) {
            QVERIFY(p > 1);
            union_.insert(c);
        }
        QVERIFY(std::isfinite(e.margin));
    }
    // The base is scored on every column any expert was.
    QCOMPARE(m.clusters, std::vector<int>(union_.begin(), union_.end()));
    QCOMPARE(m.basePerplexity.size(), union_.size());

    // The same seed draws the same sample (and the cells are reused); the draw depends on it.
    const moin::SpecialisationMatrix again = moin::computeSpecialisation(*m_workspace, options);
    QCOMPARE(again.computedCells, 0);
    std::set<std::vector<int>> draws;
    for (uint64_t seed = 1; seed <= 12; ++seed) {
        options.seed = seed;
        options.compute = false;
        const auto drawn = moin::computeSpecialisation(*m_workspace, options);
        for (size_t i = 0; i < drawn.experts.size(); ++i) {
            QCOMPARE(drawn.experts[i].nearest, m.experts[i].nearest);
            if (seed == 7)
                QCOMPARE(drawn.experts[i].random, m.experts[i].random);
        }
        draws.insert(drawn.experts[0].random);
    }
    QVERIFY(draws.size() > 1);

    // Without sampling (N >= 6), every expert on all six.
    options.maxClusters = 6;
    options.compute = true;
    const moin::SpecialisationMatrix full = moin::computeSpecialisation(*m_workspace, options);
    QVERIFY(!full.sampled);
    QCOMPARE(full.clusters.size(), size_t(6));
    for (const auto& e : full.experts)
        QCOMPARE(e.perplexity.size(), size_t(6));
    QVERIFY(full.storedCells > 0); // the sampled cells are reused
}

void TestSpecialisation::adviceNamesTheLikelyCause()
{
    // Expert 0's row made to help cluster 1 more than its own.
    moin::SpecialisationMatrix m = moin::computeSpecialisation(*m_workspace, cpu());
    QVERIFY(m.complete());
    m.experts[0].margin = -0.05;
    m.experts[0].bestOtherCluster = 1;
    m.experts[1].margin = 0.2;
    m.experts[2].margin = std::nan("");
    const auto advice = moin::adviseSpecialisation(*m_workspace, m);
    QCOMPARE(advice.size(), size_t(1));
    QCOMPARE(advice[0].expert, 0);
    QCOMPARE(advice[0].bestOtherCluster, 1);
    QVERIFY(!advice[0].causes.empty());

    // The tiny spec trains 8 steps of 2 x 32 tokens: less than the cluster's training text.
    moin::TrainingQueue queue(*m_workspace);
    const auto experts = queue.experts(m_run);
    const moin::TrainingSpec spec = queue.job(experts[0].jobId).spec;
    std::vector<int64_t> ids;
    for (const auto& p : moin::listPlacements(*m_workspace, m_run)) {
        if (p.cluster == 0)
            ids.push_back(p.chunkId);
    }
    int64_t trainTokens = 0;
    for (int64_t id : moin::splitCluster(ids, spec.heldOutFraction).trainChunks) {
        trainTokens += m_workspace->database()
                           .queryInt64("SELECT tokens FROM chunks WHERE id = " + std::to_string(id))
                           .value();
    }
    const double epochs = double(spec.totalSteps() * spec.tokensPerStep()) / double(trainTokens);
    QVERIFY(epochs < 1);
    const auto& cause = advice[0].causes[0];
    QCOMPARE(int(cause.kind), int(moin::SpecialisationCause::Kind::TooFewSteps));
    QVERIFY(std::abs(cause.epochs - epochs) < 1e-9);
    const QString text = QString::fromStdString(moin::describeCause(cause));
    QVERIFY2(text.contains("too few steps") && text.contains(QString::number(epochs, 'f', 2)),
             qPrintable(text));
    // The three topics lie apart on the map: no overlap is claimed.
    for (const auto& c : advice[0].causes)
        QVERIFY(c.kind != moin::SpecialisationCause::Kind::Overlap);
}

void TestSpecialisation::neighbourOrderChainsNeighbours()
{
    // Five clusters on a line at 0, 10, 1, 11, 2: the chain starts at an end (11) and walks
    // to each nearest.
    const std::vector<float> centroids = {0, 0, 10, 0, 1, 0, 11, 0, 2, 0};
    QCOMPARE(moin::neighbourOrder({0, 1, 2, 3, 4}, centroids, 2),
             (std::vector<int>{3, 1, 4, 2, 0}));
    // A cluster without a centroid row goes last; without centroids the order is kept.
    QCOMPARE(moin::neighbourOrder({0, 1, 2, 3, 4, 9}, centroids, 2),
             (std::vector<int>{3, 1, 4, 2, 0, 9}));
    QCOMPARE(moin::neighbourOrder({2, 0, 1}, {}, 0), (std::vector<int>{2, 0, 1}));
}

void TestSpecialisation::cliPrintsTheMatrix()
{
    const moin::SpecialisationMatrix m = moin::computeSpecialisation(*m_workspace, cpu());
    QProcess eval;
    eval.start(MOIN_CLI_PATH, {"eval", m_dir, "--matrix", "--json", "--device", "cpu"});
    QVERIFY(eval.waitForFinished(120000));
    QCOMPARE(eval.exitCode(), 0);
    const QByteArray err = eval.readAllStandardError();
    QVERIFY2(err.contains("0 perplexities computed, 12 reused"), err.constData());
    const QJsonObject out = QJsonDocument::fromJson(eval.readAllStandardOutput()).object();
    QCOMPARE(out.value("run").toInteger(), m_run);
    QCOMPARE(out.value("sampled").toBool(true), false);
    QCOMPARE(out.value("clusters").toArray().size(), 3);
    const QJsonObject base = out.value("base_perplexity").toObject();
    const QJsonArray experts = out.value("experts").toArray();
    QCOMPARE(experts.size(), 3);
    for (int i = 0; i < 3; ++i) {
        const QJsonObject e = experts[i].toObject();
        const auto& row = m.experts[size_t(i)];
        QCOMPARE(e.value("expert").toInt(), row.expert);
        QVERIFY(std::abs(e.value("margin").toDouble() - row.margin) < 1e-9);
        const QJsonObject perplexity = e.value("perplexity").toObject();
        QCOMPARE(perplexity.size(), 3);
        for (int c = 0; c < 3; ++c) {
            QVERIFY(close(perplexity.value(QString::number(c)).toDouble(), row.perplexity.at(c),
                          1e-12));
            QVERIFY(close(base.value(QString::number(c)).toDouble(), m.basePerplexity.at(c),
                          1e-12));
        }
    }
    QVERIFY(out.value("negative_margins").isArray());

    // Sampled: says so, with each expert's nearest and random clusters.
    QProcess sampled;
    sampled.start(MOIN_CLI_PATH, {"eval", m_dir, "--matrix", "--json", "--device", "cpu",
                                  "--max-clusters", "2"});
    QVERIFY(sampled.waitForFinished(120000));
    QCOMPARE(sampled.exitCode(), 0);
    const QJsonObject s = QJsonDocument::fromJson(sampled.readAllStandardOutput()).object();
    QCOMPARE(s.value("sampled").toBool(), true);
    QCOMPARE(s.value("experts").toArray()[0].toObject().value("nearest").toArray().size(), 2);

    // The readable table: every expert, its own cell bracketed, the margins.
    QProcess table;
    table.start(MOIN_CLI_PATH, {"eval", m_dir, "--matrix", "--device", "cpu"});
    QVERIFY(table.waitForFinished(120000));
    QCOMPARE(table.exitCode(), 0);
    const QString text = QString::fromUtf8(table.readAllStandardOutput());
    QVERIFY2(text.contains("margin") && text.contains("expert 2") && text.contains("[")
                 && text.contains("base ppl"),
             qPrintable(text));
}

void TestSpecialisation::badInputIsRefusedAndNothingWritten()
{
    const int64_t before = storedRows(*m_workspace);
    moin::SpecialisationOptions options = cpu();
    options.maxClusters = 0;
    QVERIFY(testsupport::errorOf([&] { moin::computeSpecialisation(*m_workspace, options); })
                .contains("at least 1"));

    // A run without a trained expert.
    moin::ClusterRunOptions clustering;
    clustering.kmeans.k = 2;
    clustering.layout.method = "pca";
    clustering.activate = false;
    const int64_t bare = moin::runClustering(*m_workspace, clustering);
    options = cpu();
    options.runId = bare;
    const QString noExpert =
        testsupport::errorOf([&] { moin::computeSpecialisation(*m_workspace, options); });
    QVERIFY2(noExpert.contains("no trained expert") && noExpert.contains("moin train"),
             qPrintable(noExpert));

    // A run whose chunks are gone (removed from the corpus): no held-out chunk to score.
    const QString copy = m_tmp.filePath("copy");
    QVERIFY(QDir().mkpath(copy));
    m_workspace->database().exec("VACUUM INTO '" + (copy + "/workspace.sqlite").toStdString()
                                 + "'");
    {
        moin::Workspace other = moin::Workspace::open(copy.toStdString());
        other.database().exec("DELETE FROM specialisation_cells");
        other.database()
            .prepare("DELETE FROM chunk_clusters WHERE run_id = ?")
            .bind(1, m_run)
            .run();
        options = cpu();
        options.runId = m_run;
        const QString noHeldOut =
            testsupport::errorOf([&] { moin::computeSpecialisation(other, options); });
        QVERIFY2(noHeldOut.contains("no held-out chunks"), qPrintable(noHeldOut));
        QCOMPARE(storedRows(other), int64_t(0));
    }
    QCOMPARE(storedRows(*m_workspace), before);

    // The command line says the same, exit code 1.
    QProcess bad;
    bad.start(MOIN_CLI_PATH, {"eval", m_dir, "--matrix", "--max-clusters", "0"});
    QVERIFY(bad.waitForFinished(60000));
    QCOMPARE(bad.exitCode(), 1);
    QVERIFY(bad.readAllStandardError().contains("at least 1"));
    QCOMPARE(storedRows(*m_workspace), before);
}

QTEST_GUILESS_MAIN(TestSpecialisation)
#include "tst_specialisation.moc"
