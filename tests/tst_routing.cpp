// Routing modes (top1, mix, fallback): the policy's checks, the mix weights against
// softmax(-d^2/T) computed here from the centroids, the fallback distance, the workspace's
// stored defaults, mixed generation and the routed evaluation against single-sequence
// references, and `moin route`, `generate` and `eval` with routing options.
#include "testsupport.h"

#include "moin/clustering.h"
#include "moin/database.h"
#include "moin/error.h"
#include "moin/evaluation.h"
#include "moin/mixture.h"
#include "moin/model.h"
#include "moin/router.h"
#include "moin/training.h"
#include "moin/workspace.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

namespace {

using testsupport::errorOf;

/// log softmax of one row of logits, in double.
std::vector<double> logSoftmax(const float* row, int64_t vocab)
{
    double top = -std::numeric_limits<double>::infinity();
    for (int64_t v = 0; v < vocab; ++v)
        top = std::max(top, double(row[v]));
    double sum = 0;
    for (int64_t v = 0; v < vocab; ++v)
        sum += std::exp(double(row[v]) - top);
    std::vector<double> out(static_cast<size_t>(vocab));
    for (int64_t v = 0; v < vocab; ++v)
        out[size_t(v)] = double(row[v]) - top - std::log(sum);
    return out;
}

struct Member {
    std::string adapter; // empty: base
    double weight = 1;
};

/// Negative log-likelihood and tokens of `tokens` (BOS first) under the mixture: per token
/// -log sum_i w_i p_i, each member's logits from LanguageModel::logits (the unbatched forward)
/// in windows of the context that overlap by one token.
std::pair<double, int64_t> referenceNll(moin::LanguageModel& model,
                                        const std::vector<int32_t>& tokens,
                                        const std::vector<Member>& members)
{
    const size_t context = size_t(model.config().maxPositions);
    const int64_t vocab = model.config().vocabSize;
    double nll = 0;
    int64_t scored = 0;
    for (size_t begin = 0; begin + 1 < tokens.size(); begin += context - 1) {
        const size_t length = std::min(tokens.size() - begin, context);
        const std::vector<int32_t> window(tokens.begin() + long(begin),
                                          tokens.begin() + long(begin + length));
        std::vector<double> probability(length - 1, 0.0);
        for (const Member& m : members) {
            if (m.adapter.empty())
                model.detachAdapter();
            else
                model.loadAdapter(m.adapter);
            const std::vector<float> logits = model.logits(window);
            for (size_t t = 0; t + 1 < length; ++t) {
                const std::vector<double> lp =
                    logSoftmax(logits.data() + t * size_t(vocab), vocab);
                probability[t] += m.weight * std::exp(lp[size_t(window[t + 1])]);
            }
        }
        for (double p : probability)
            nll -= std::log(p);
        scored += int64_t(length) - 1;
    }
    model.detachAdapter();
    return {nll, scored};
}

QJsonObject lastJsonLine(const QByteArray& out)
{
    const QList<QByteArray> lines = out.trimmed().split('\n');
    return QJsonDocument::fromJson(lines.last()).object();
}

} // namespace

class TestRouting : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void policyRefusesBadValues();
    void mixWeightsAreSoftmaxOfSquaredDistances();
    void fallbackAboveTheDistance();
    void workspaceStoresItsDefaults();
    void mixtureOfOneIsTheExpertsOwnAnswer();
    void mixtureMatchesStepwiseReference();
    void routedEvaluationMatchesReference();
    void cliRoutesWithModes();
    void cliEvaluatesAndGeneratesRouted();

private:
    /// The routing reference: every centroid's squared distance to the query, in double.
    std::vector<std::pair<double, int>> squaredDistances(const float* query) const;

    QTemporaryDir m_tmp;
    QString m_base;
    QString m_dir;
    int64_t m_run = 0;
    std::optional<moin::Workspace> m_workspace;
    std::map<int, std::string> m_adapters;
    moin::VectorFile m_centroids;
};

void TestRouting::initTestCase()
{
    QVERIFY(m_tmp.isValid());
    // The tiny base's 64-position context: the longer chunks are scored in windows.
    const testsupport::TopicWorkspace topics = testsupport::makeTopicWorkspace(m_tmp.path());
    m_base = topics.baseModel;
    m_dir = topics.directory;
    m_run = topics.runId;
    // Two of the three clusters get an expert: routes to the third are answered by the base.
    testsupport::trainTinyExperts(m_dir, m_run, {0, 1});
    m_workspace = moin::Workspace::open(m_dir.toStdString());
    for (const moin::ExpertInfo& e : moin::TrainingQueue(*m_workspace).experts(m_run))
        m_adapters[e.cluster] = e.adapterPath;
    QCOMPARE(m_adapters.size(), size_t(2));
    m_centroids = moin::readRunCentroids(*m_workspace, m_run);
    QCOMPARE(m_centroids.rows, int64_t(3));
}

std::vector<std::pair<double, int>> TestRouting::squaredDistances(const float* query) const
{
    std::vector<std::pair<double, int>> out;
    for (int64_t c = 0; c < m_centroids.rows; ++c) {
        double sum = 0;
        for (int64_t t = 0; t < m_centroids.cols; ++t) {
            const double diff =
                double(query[t]) - double(m_centroids.values[size_t(c * m_centroids.cols + t)]);
            sum += diff * diff;
        }
        out.push_back({sum, int(c)});
    }
    std::sort(out.begin(), out.end());
    return out;
}

void TestRouting::policyRefusesBadValues()
{
    moin::RoutingPolicy policy;
    policy.mode = moin::RoutingMode::Mix;
    policy.k = 3;
    policy.validate(3); // fine
    policy.k = 0;
    QVERIFY(errorOf([&] { policy.validate(3); }).contains("k (experts mixed) must be 1 or more"));
    policy.k = 4;
    const QString tooMany = errorOf([&] { policy.validate(3); });
    QVERIFY2(tooMany.contains("routing k is 4") && tooMany.contains("3 experts"),
             qPrintable(tooMany));
    policy.k = 2;
    for (double t : {0.0, -1.0, std::nan(""), std::numeric_limits<double>::infinity()}) {
        policy.temperature = t;
        QVERIFY(errorOf([&] { policy.validate(3); }).contains("temperature must be a positive"));
    }
    policy.temperature = 0.1;
    policy.fallbackDistance = -0.5;
    QVERIFY(errorOf([&] { policy.validate(3); }).contains("fallback distance must be 0 or more"));
    policy.fallbackDistance = 0;
    policy.validate(3); // 0 is a distance: every query falls back
    const QString mode = errorOf([] { moin::parseRoutingMode("soft"); });
    QVERIFY(mode.contains("unknown routing mode 'soft'") && mode.contains("top1 or mix"));
    QVERIFY(moin::parseRoutingMode("mix") == moin::RoutingMode::Mix);
    QCOMPARE(moin::toString(moin::RoutingMode::Top1), std::string("top1"));

    // The router checks k against its run's experts.
    const moin::Router router = moin::Router::open(*m_workspace);
    policy.k = 5;
    QVERIFY(errorOf([&] { router.route({"compiler parser"}, policy); })
                .contains("routing k is 5 but the run has 3 experts"));
}

void TestRouting::mixWeightsAreSoftmaxOfSquaredDistances()
{
    const moin::Router router = moin::Router::open(*m_workspace);
    const std::vector<std::string> texts = {
        "compiler parser register linker", "shepherd temple prophet psalm",
        "ballroom carriage bonnet marriage", "compiler temple bonnet kernel altar suitor"};
    const std::vector<float> vectors = router.embed(texts);
    for (int k : {1, 2, 3}) {
        for (double temperature : {0.05, 0.5, 4.0}) {
            moin::RoutingPolicy policy;
            policy.mode = moin::RoutingMode::Mix;
            policy.k = k;
            policy.temperature = temperature;
            const auto decisions = router.route(texts, policy, 1);
            for (size_t i = 0; i < texts.size(); ++i) {
                const auto reference =
                    squaredDistances(vectors.data() + i * size_t(router.dimensions()));
                double sum = 0;
                for (int j = 0; j < k; ++j)
                    sum += std::exp(-reference[size_t(j)].first / temperature);
                const moin::RouteDecision& d = decisions[i];
                QVERIFY(!d.fallback);
                QCOMPARE(int(d.experts.size()), k);
                QVERIFY(int(d.candidates.size()) >= k);
                double total = 0;
                for (int j = 0; j < k; ++j) {
                    const moin::RoutedExpert& e = d.experts[size_t(j)];
                    const double expected =
                        std::exp(-reference[size_t(j)].first / temperature) / sum;
                    QCOMPARE(e.expert, reference[size_t(j)].second);
                    QVERIFY(std::abs(double(e.distance)
                                     - std::sqrt(reference[size_t(j)].first))
                            < 1e-5);
                    QVERIFY2(std::abs(e.weight - expected) < 1e-5,
                             qPrintable(QString("k %1 T %2 text %3 expert %4: %5 vs %6")
                                            .arg(k)
                                            .arg(temperature)
                                            .arg(i)
                                            .arg(e.expert)
                                            .arg(e.weight)
                                            .arg(expected)));
                    total += e.weight;
                }
                QVERIFY(std::abs(total - 1) < 1e-12);
                QCOMPARE(d.expert, reference[0].second);
            }
        }
    }
    // Top1 ignores k: the nearest, weight 1.
    moin::RoutingPolicy top1;
    top1.k = 3;
    const auto decisions = router.route(texts, top1);
    for (const auto& d : decisions) {
        QCOMPARE(d.experts.size(), size_t(1));
        QCOMPARE(d.experts[0].expert, d.expert);
        QCOMPARE(d.experts[0].weight, 1.0);
    }
}

void TestRouting::fallbackAboveTheDistance()
{
    // By hand: distances 1, 2, 3; T = 2.
    moin::RouteDecision d;
    d.candidates = {{4, 1.f}, {7, 2.f}, {1, 3.f}};
    moin::RoutingPolicy policy;
    policy.mode = moin::RoutingMode::Mix;
    policy.k = 3;
    policy.temperature = 2;
    moin::applyRoutingPolicy(d, policy);
    const double z = 1 + std::exp(-3.0 / 2) + std::exp(-8.0 / 2);
    QCOMPARE(d.experts.size(), size_t(3));
    QVERIFY(std::abs(d.experts[0].weight - 1 / z) < 1e-12);
    QVERIFY(std::abs(d.experts[2].weight - std::exp(-4.0) / z) < 1e-12);
    // Between the second and third: the third leaves the mixture.
    policy.fallbackDistance = 2.5;
    moin::applyRoutingPolicy(d, policy);
    QCOMPARE(d.experts.size(), size_t(2));
    QVERIFY(!d.fallback);
    QVERIFY(std::abs(d.experts[1].weight - std::exp(-1.5) / (1 + std::exp(-1.5))) < 1e-12);
    // Exactly the nearest's distance still answers; just below it the base does.
    policy.fallbackDistance = 1.0;
    moin::applyRoutingPolicy(d, policy);
    QCOMPARE(d.experts.size(), size_t(1));
    QCOMPARE(d.experts[0].weight, 1.0);
    policy.fallbackDistance = 0.999;
    moin::applyRoutingPolicy(d, policy);
    QVERIFY(d.fallback);
    QVERIFY(d.experts.empty());
    QCOMPARE(d.expert, 0); // untouched: the nearest stays whatever routing filled in

    // Through the router: a fallback distance just below each query's nearest distance.
    const moin::Router router = moin::Router::open(*m_workspace);
    const auto nearest = router.route({"compiler parser register"}).at(0);
    moin::RoutingPolicy top1;
    top1.fallbackDistance = double(nearest.distance) * 0.99;
    const auto fallen = router.route({"compiler parser register"}, top1).at(0);
    QVERIFY(fallen.fallback);
    QCOMPARE(fallen.expert, nearest.expert);
    top1.fallbackDistance = double(nearest.distance) * 1.01;
    QVERIFY(!router.route({"compiler parser register"}, top1).at(0).fallback);
    // The base alone answers a fallback.
    const auto members = moin::mixtureOf(fallen, m_adapters);
    QCOMPARE(members.size(), size_t(1));
    QVERIFY(members[0].adapterDirectory.empty());
}

void TestRouting::workspaceStoresItsDefaults()
{
    QTemporaryDir tmp;
    const std::string dir = (tmp.path() + "/ws").toStdString();
    moin::WorkspaceOptions options;
    options.baseModel = m_base.toStdString();
    {
        moin::Workspace ws = moin::Workspace::create(dir, options);
        const moin::RoutingPolicy defaults = moin::workspaceRoutingPolicy(ws);
        QVERIFY(defaults.mode == moin::RoutingMode::Top1);
        QVERIFY(std::isinf(defaults.fallbackDistance));
        moin::RoutingPolicy policy;
        policy.mode = moin::RoutingMode::Mix;
        policy.k = 3;
        policy.temperature = 0.25;
        policy.fallbackDistance = 1.5;
        moin::setWorkspaceRoutingPolicy(ws, policy);
        policy.temperature = -1;
        QVERIFY(errorOf([&] { moin::setWorkspaceRoutingPolicy(ws, policy); })
                    .contains("temperature"));
    }
    {
        moin::Workspace ws = moin::Workspace::open(dir);
        const moin::RoutingPolicy stored = moin::workspaceRoutingPolicy(ws);
        QVERIFY(stored.mode == moin::RoutingMode::Mix);
        QCOMPARE(stored.k, 3);
        QCOMPARE(stored.temperature, 0.25); // the bad one was refused, the good one kept
        QCOMPARE(stored.fallbackDistance, 1.5);
        ws.setMeta("routing.k", "three");
        QVERIFY(errorOf([&] { moin::workspaceRoutingPolicy(ws); })
                    .contains("routing.k is 'three'; expected a number"));
        ws.setMeta("routing.k", "2");
        ws.setMeta("routing.mode", "soft");
        QVERIFY(errorOf([&] { moin::workspaceRoutingPolicy(ws); })
                    .contains("routing.mode: unknown routing mode 'soft'"));
    }
}

void TestRouting::mixtureOfOneIsTheExpertsOwnAnswer()
{
    moin::LanguageModel model = moin::LanguageModel::load(m_base.toStdString());
    moin::GenerationOptions options;
    options.maxNewTokens = 12;
    options.stopAtEos = false;
    options.seed = 7; // sampled: the sampler sees the same logits in both
    const std::vector<int32_t> prompt = {model.config().bosTokenId, 10, 20, 30};
    model.loadAdapter(m_adapters.at(0));
    const moin::GenerationResult attached = model.generateTokens(prompt, options);
    model.detachAdapter();
    const moin::GenerationResult mixed =
        moin::generateMixture(model, {{m_adapters.at(0), 1.0}}, prompt, options);
    QCOMPARE(mixed.tokens, attached.tokens);
    // Zero or negative weights and no members are refused.
    QVERIFY(errorOf([&] { moin::generateMixture(model, {}, prompt, options); })
                .contains("at least one member"));
    QVERIFY(errorOf([&] {
                moin::generateMixture(model, {{m_adapters.at(0), 0.0}}, prompt, options);
            }).contains("expected a positive number"));
    // A route to an expert without an adapter: its share is the base's (as serving does).
    moin::RouteDecision d;
    d.experts = {{2, 0.5f, 0.25}, {0, 0.6f, 0.5}, {3, 0.7f, 0.25}};
    const auto members = moin::mixtureOf(d, m_adapters);
    QCOMPARE(members.size(), size_t(2));
    QCOMPARE(members[0].adapterDirectory, m_adapters.at(0));
    QCOMPARE(members[0].weight, 0.5);
    QVERIFY(members[1].adapterDirectory.empty());
    QCOMPARE(members[1].weight, 0.5);
}

void TestRouting::mixtureMatchesStepwiseReference()
{
    moin::LanguageModel model = moin::LanguageModel::load(m_base.toStdString());
    const std::vector<Member> members = {
        {m_adapters.at(0), 0.6}, {"", 0.1}, {m_adapters.at(1), 0.3}};
    std::vector<moin::MixtureMember> mixture;
    for (const Member& m : members)
        mixture.push_back({m.adapter, m.weight * 2}); // renormalised by generateMixture
    moin::GenerationOptions options;
    options.maxNewTokens = 10;
    options.temperature = 0; // greedy: the argmax of the mixture
    options.repetitionPenalty = 1;
    options.stopAtEos = false;
    std::vector<int32_t> tokens = {model.config().bosTokenId, 11, 42, 7};
    const moin::GenerationResult result = moin::generateMixture(model, mixture, tokens, options);
    QCOMPARE(result.tokens.size(), size_t(10));
    // Reference: the whole sequence again at every step, each member on its own.
    const int64_t vocab = model.config().vocabSize;
    for (size_t step = 0; step < result.tokens.size(); ++step) {
        std::vector<double> p(size_t(vocab), 0.0);
        for (const Member& m : members) {
            if (m.adapter.empty())
                model.detachAdapter();
            else
                model.loadAdapter(m.adapter);
            const std::vector<float> logits = model.logits(tokens);
            const std::vector<double> lp =
                logSoftmax(logits.data() + (tokens.size() - 1) * size_t(vocab), vocab);
            for (int64_t v = 0; v < vocab; ++v)
                p[size_t(v)] += m.weight * std::exp(lp[size_t(v)]);
        }
        std::vector<size_t> order(p.size());
        std::iota(order.begin(), order.end(), 0);
        std::partial_sort(order.begin(), order.begin() + 2, order.end(),
                          [&](size_t a, size_t b) { return p[a] > p[b]; });
        // A near tie may go either way in float32; then follow the generated token.
        if (p[order[0]] - p[order[1]] > 1e-5 * p[order[0]])
            QCOMPARE(result.tokens[step], int32_t(order[0]));
        else
            QVERIFY(result.tokens[step] == int32_t(order[0])
                    || result.tokens[step] == int32_t(order[1]));
        tokens.push_back(result.tokens[step]);
    }
    model.detachAdapter();
}

void TestRouting::routedEvaluationMatchesReference()
{
    moin::TrainingQueue queue(*m_workspace);
    const auto experts = queue.experts(m_run);
    moin::LanguageModel model = moin::LanguageModel::load(m_base.toStdString());
    const moin::Router router = moin::Router::open(*m_workspace, m_run, &model);
    // The held-out chunks of the trained experts' clusters, with their own cluster.
    std::vector<std::string> texts;
    std::vector<int> own;
    moin::Statement text = m_workspace->database().prepare("SELECT text FROM chunks WHERE id = ?");
    for (const moin::ExpertInfo& e : experts) {
        const double fraction = queue.job(e.jobId).spec.heldOutFraction;
        for (int64_t id : moin::heldOutChunks(*m_workspace, m_run, e.cluster, fraction)) {
            text.reset();
            text.bind(1, id);
            QVERIFY(text.step());
            texts.push_back(text.columnText(0));
            own.push_back(e.cluster);
        }
    }
    QVERIFY(texts.size() >= 4);
    bool windowed = false;

    struct Case {
        const char* name;
        moin::RoutingMode mode;
        int k;
        double temperature;
        bool oracle;
    };
    for (const Case& c : {Case{"top1", moin::RoutingMode::Top1, 1, 0.1, false},
                          Case{"mix", moin::RoutingMode::Mix, 2, 0.5, false},
                          Case{"mix", moin::RoutingMode::Mix, 3, 2.0, false},
                          Case{"oracle", moin::RoutingMode::Top1, 1, 0.1, true}}) {
        moin::RoutedEvaluationOptions options;
        options.policy.mode = c.mode;
        options.policy.k = c.k;
        options.policy.temperature = c.temperature;
        options.oracle = c.oracle;
        options.device = "cpu";
        options.precision = "fp32";
        const moin::RoutedEvaluation r = moin::evaluateRouting(*m_workspace, options);
        QCOMPARE(QString::fromStdString(r.routing), QString(c.name));
        QCOMPARE(r.chunks, int64_t(texts.size()));

        const auto decisions = router.route(texts, options.policy);
        double baseNll = 0, routedNll = 0;
        int64_t baseTokens = 0, routedTokens = 0, untrained = 0, toOwn = 0;
        for (size_t i = 0; i < texts.size(); ++i) {
            std::vector<int32_t> tokens = model.tokenizer().encode(texts[i]);
            tokens.insert(tokens.begin(), model.config().bosTokenId);
            windowed = windowed || int64_t(tokens.size()) > model.config().maxPositions;
            std::vector<Member> members;
            if (c.oracle) {
                members = {{m_adapters.at(own[i]), 1.0}};
            } else {
                bool missing = false;
                for (const moin::RoutedExpert& e : decisions[i].experts) {
                    const auto found = m_adapters.find(e.expert);
                    missing = missing || found == m_adapters.end();
                    members.push_back({found == m_adapters.end() ? "" : found->second, e.weight});
                }
                untrained += missing ? 1 : 0;
                toOwn += decisions[i].expert == own[i] ? 1 : 0;
            }
            const auto [bn, bt] = referenceNll(model, tokens, {{"", 1.0}});
            const auto [rn, rt] = referenceNll(model, tokens, members);
            baseNll += bn;
            baseTokens += bt;
            routedNll += rn;
            routedTokens += rt;
        }
        QCOMPARE(r.tokens, routedTokens);
        if (!c.oracle) {
            QCOMPARE(r.untrainedRoutes, untrained);
            QCOMPARE(r.routedToOwnCluster, toOwn);
        }
        const double base = std::exp(baseNll / double(baseTokens));
        const double routed = std::exp(routedNll / double(routedTokens));
        QVERIFY2(std::abs(r.basePerplexity / base - 1) < 1e-4,
                 qPrintable(QString("%1 base: %2 vs %3")
                                .arg(c.name)
                                .arg(r.basePerplexity)
                                .arg(base)));
        QVERIFY2(std::abs(r.routedPerplexity / routed - 1) < 1e-4,
                 qPrintable(QString("%1 k %2 routed: %3 vs %4")
                                .arg(c.name)
                                .arg(c.k)
                                .arg(r.routedPerplexity)
                                .arg(routed)));
    }
    // The tiny base's 64 positions are shorter than some chunks: the windows were exercised.
    QVERIFY(windowed);

    moin::RoutedEvaluationOptions bad;
    bad.policy.mode = moin::RoutingMode::Mix;
    bad.policy.k = 4;
    bad.device = "cpu";
    QVERIFY(errorOf([&] { moin::evaluateRouting(*m_workspace, bad); })
                .contains("routing k is 4 but the run has 3 experts"));
}

void TestRouting::cliRoutesWithModes()
{
    QProcess route;
    route.start(MOIN_CLI_PATH, {"route", m_dir, "--json", "--mode", "mix", "--top-k", "2",
                                "--temperature", "0.5", "shepherd temple compiler"});
    QVERIFY(route.waitForFinished(60000));
    QCOMPARE(route.exitCode(), 0);
    QJsonObject line = lastJsonLine(route.readAllStandardOutput());
    QCOMPARE(line["mode"].toString(), QString("mix"));
    QCOMPARE(line["fallback"].toBool(true), false);
    QVERIFY(line.contains("candidates") && line.contains("distance") && line.contains("run"));
    const QJsonArray used = line["experts"].toArray();
    QCOMPARE(used.size(), 2);
    QCOMPARE(used[0].toObject()["expert"].toInt(), line["expert"].toInt());
    const double d0 = used[0].toObject()["distance"].toDouble();
    const double d1 = used[1].toObject()["distance"].toDouble();
    const double w0 = used[0].toObject()["weight"].toDouble();
    const double w1 = used[1].toObject()["weight"].toDouble();
    QVERIFY(std::abs(w0 + w1 - 1) < 1e-9);
    QVERIFY(std::abs(w1 / w0 - std::exp(-(d1 * d1 - d0 * d0) / 0.5)) < 1e-4);

    QProcess fallback;
    fallback.start(MOIN_CLI_PATH,
                   {"route", m_dir, "--json", "--fallback-distance", "0", "compiler parser"});
    QVERIFY(fallback.waitForFinished(60000));
    QCOMPARE(fallback.exitCode(), 0);
    line = lastJsonLine(fallback.readAllStandardOutput());
    QCOMPARE(line["fallback"].toBool(), true);
    QCOMPARE(line["experts"].toArray().size(), 0);

    // Stored defaults apply when the command names none; a bad one is refused, nothing stored.
    QProcess save;
    save.start(MOIN_CLI_PATH, {"route", m_dir, "--save-default", "--mode", "mix", "--top-k", "3",
                               "--temperature", "0.25"});
    QVERIFY(save.waitForFinished(60000));
    QVERIFY2(save.exitCode() == 0, save.readAllStandardError().constData());
    QProcess refused;
    refused.start(MOIN_CLI_PATH, {"route", m_dir, "--save-default", "--top-k", "7"});
    QVERIFY(refused.waitForFinished(60000));
    QCOMPARE(refused.exitCode(), 1);
    QVERIFY(refused.readAllStandardError().contains("routing k is 7 but the run has 3 experts"));
    QProcess byDefault;
    byDefault.start(MOIN_CLI_PATH, {"route", m_dir, "--json", "compiler parser"});
    QVERIFY(byDefault.waitForFinished(60000));
    line = lastJsonLine(byDefault.readAllStandardOutput());
    QCOMPARE(line["mode"].toString(), QString("mix"));
    QCOMPARE(line["experts"].toArray().size(), 3);
    {
        moin::Workspace ws = moin::Workspace::open(m_dir.toStdString());
        const moin::RoutingPolicy stored = moin::workspaceRoutingPolicy(ws);
        QCOMPARE(stored.k, 3);
        QCOMPARE(stored.temperature, 0.25);
        moin::setWorkspaceRoutingPolicy(ws, moin::RoutingPolicy{}); // back to the built-in
    }

    // Bad values: exit 1 and the field named.
    const QList<QStringList> bad = {
        {"--mode", "mix", "--top-k", "0"},
        {"--mode", "mix", "--top-k", "9"},
        {"--mode", "mix", "--temperature", "0"},
        {"--mode", "soft"},
        {"--fallback-distance", "-1"},
        {"--fallback-distance", "near"},
    };
    const QStringList expected = {"k (experts mixed)", "3 experts", "temperature",
                                  "unknown routing mode", "fallback distance",
                                  "--fallback-distance"};
    for (int i = 0; i < bad.size(); ++i) {
        QProcess p;
        p.start(MOIN_CLI_PATH, QStringList{"route", m_dir, "--json"} + bad[i] + QStringList{"x"});
        QVERIFY(p.waitForFinished(60000));
        const QString err = QString::fromUtf8(p.readAllStandardError());
        QVERIFY2(p.exitCode() == 1 && err.contains(expected[i]), qPrintable(err));
    }
}

void TestRouting::cliEvaluatesAndGeneratesRouted()
{
    QProcess eval;
    eval.start(MOIN_CLI_PATH, {"eval", m_dir, "--json", "--routing", "mix", "--top-k", "2",
                               "--temperature", "0.5", "--device", "cpu", "--precision", "fp32"});
    QVERIFY(eval.waitForFinished(120000));
    QVERIFY2(eval.exitCode() == 0, eval.readAllStandardError().constData());
    const QList<QByteArray> lines = eval.readAllStandardOutput().trimmed().split('\n');
    QCOMPARE(lines.size(), 3); // two experts' rows, then the routed line
    QVERIFY(QJsonDocument::fromJson(lines[0]).object().contains("expert_perplexity"));
    const QJsonObject routed = QJsonDocument::fromJson(lines[2]).object();
    moin::RoutedEvaluationOptions options;
    options.policy.mode = moin::RoutingMode::Mix;
    options.policy.k = 2;
    options.policy.temperature = 0.5;
    options.device = "cpu";
    options.precision = "fp32";
    const moin::RoutedEvaluation core = moin::evaluateRouting(*m_workspace, options);
    QCOMPARE(routed["routing"].toString(), QString("mix"));
    QCOMPARE(routed["tokens"].toInteger(), core.tokens);
    QVERIFY(std::abs(routed["routed_perplexity"].toDouble() / core.routedPerplexity - 1) < 1e-9);
    QVERIFY(std::abs(routed["base_perplexity"].toDouble() / core.basePerplexity - 1) < 1e-9);

    QProcess generate;
    generate.start(MOIN_CLI_PATH,
                   {"generate", m_dir, "--routing", "mix", "--mix-k", "2", "--mix-temperature",
                    "0.5", "--temperature", "0", "--max-tokens", "6", "--device", "cpu",
                    "shepherd temple"});
    QVERIFY(generate.waitForFinished(60000));
    const QString err = QString::fromUtf8(generate.readAllStandardError());
    QVERIFY2(generate.exitCode() == 0, qPrintable(err));
    QVERIFY(generate.readAllStandardOutput().startsWith("shepherd temple"));
    QVERIFY2(err.contains("mix: expert") && err.contains("weight") && err.contains("2 rows"),
             qPrintable(err));

    QProcess both;
    both.start(MOIN_CLI_PATH,
               {"generate", m_dir, "--routing", "mix", "--expert", "0", "shepherd temple"});
    QVERIFY(both.waitForFinished(60000));
    QCOMPARE(both.exitCode(), 1);
    QVERIFY(both.readAllStandardError().contains("either --expert"));
}

QTEST_GUILESS_MAIN(TestRouting)
#include "tst_routing.moc"
