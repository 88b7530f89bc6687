// Routed inference: the adapter cache, batched generation across experts (a request gives the
// same greedy answer alone, batched with others, or joining a running batch, and the same as the
// single-adapter generation path), routing, cancellation, and the conversation store.
#include "testsupport.h"

#include "moin/clustering.h"
#include "moin/chatturn.h"
#include "moin/conversations.h"
#include "moin/coordinator.h"
#include "moin/corpus.h"
#include "moin/error.h"
#include "moin/model.h"
#include "moin/router.h"
#include "moin/serving.h"
#include "moin/training.h"
#include "moin/workspace.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <random>
#include <set>
#include <thread>

namespace {

using testsupport::topicText;

moin::GenerationOptions greedy(int tokens)
{
    moin::GenerationOptions options;
    options.temperature = 0;
    options.repetitionPenalty = 1.0;
    options.maxNewTokens = tokens;
    options.stopAtEos = false;
    return options;
}

moin::CompletionRequest request(const std::string& prompt, const std::string& expert, int tokens)
{
    moin::CompletionRequest r;
    r.prompt = prompt;
    r.expert = moin::ExpertChoice::parse(expert);
    r.options = greedy(tokens);
    return r;
}

} // namespace

class TestServing : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void expertChoiceParsing();
    void routesAsTheRouter();
    void batchedEqualsAloneAndSingleAdapterPath();
    void requestJoinsARunningBatch();
    void cacheEvictsByBytesAndKeepsPinned();
    void cancelAndErrors();
    void conversationsRecordAndExport();
    void chatPromptKeepsTheLastTurn();

private:
    QTemporaryDir m_tmp;
    QString m_base;
    QString m_dir;
    int64_t m_run = 0;
    std::unique_ptr<moin::ServingEngine> m_engine;
};

void TestServing::initTestCase()
{
    m_base = m_tmp.filePath("base");
    testsupport::makeTinyBaseModel(m_base);
    m_dir = m_tmp.filePath("ws");
    moin::WorkspaceOptions options;
    options.baseModel = m_base.toStdString();
    moin::Workspace workspace = moin::Workspace::create(m_dir.toStdString(), options);
    QFile corpus(m_tmp.filePath("topics.jsonl"));
    QVERIFY(corpus.open(QIODevice::WriteOnly));
    for (int i = 0; i < 40; ++i)
        for (int topic = 0; topic < 3; ++topic)
            corpus.write(QJsonDocument(QJsonObject{{"text", topicText(topic, i)}})
                             .toJson(QJsonDocument::Compact)
                         + "\n");
    corpus.close();
    moin::ImportOptions import;
    import.chunkTokens = 512;
    moin::importCorpus(workspace, {corpus.fileName().toStdString()}, import);
    moin::ClusterRunOptions cluster;
    cluster.kmeans.k = 3;
    cluster.layout.method = "pca";
    m_run = moin::runClustering(workspace, cluster);
    // Three tiny experts, trained by the real workers. A high learning rate makes them differ
    // from the base and from one another, so that a wrong adapter shows in the tokens.
    std::vector<moin::TrainingSpec> specs;
    for (int c = 0; c < 3; ++c) {
        moin::TrainingSpec spec = moin::TrainingSpec::preset("quick");
        spec.runId = m_run;
        spec.cluster = c;
        spec.lora.rank = 4;
        spec.lora.alpha = 16;
        spec.learningRate = 3e-2;
        spec.minLearningRate = 3e-2;
        spec.batchSize = 2;
        spec.sequenceLength = 32;
        spec.steps = 10;
        spec.device = "cpu";
        specs.push_back(spec);
    }
    moin::TrainingQueue(workspace).enqueue(specs);
    moin::CoordinatorOptions coordinator;
    coordinator.workerExecutable = MOIN_CLI_PATH;
    coordinator.workers = 2;
    coordinator.threadsPerWorker = 1;
    coordinator.pollSeconds = 0.05;
    moin::runTrainingQueue(workspace, coordinator);
    QCOMPARE(moin::TrainingQueue(workspace).experts(m_run).size(), size_t(3));

    moin::ServingOptions serving;
    serving.device = "cpu";
    serving.maxBatch = 8;
    m_engine = moin::ServingEngine::open(m_dir.toStdString(), serving);
    QVERIFY(m_engine->hasRouter());
    QCOMPARE(m_engine->experts().size(), size_t(3));
}

void TestServing::expertChoiceParsing()
{
    QCOMPARE(moin::ExpertChoice::parse("auto").kind, moin::ExpertChoice::Kind::Auto);
    QCOMPARE(moin::ExpertChoice::parse("").kind, moin::ExpertChoice::Kind::Auto);
    QCOMPARE(moin::ExpertChoice::parse("base").kind, moin::ExpertChoice::Kind::Base);
    QCOMPARE(moin::ExpertChoice::parse("expert-12").expert, 12);
    QCOMPARE(moin::ExpertChoice::parse("7").expert, 7);
    QVERIFY(testsupport::errorOf([] { moin::ExpertChoice::parse("gpt-4"); })
                .contains("unknown expert"));
    QVERIFY(testsupport::errorOf([] { moin::ExpertChoice::parse("-3"); })
                .contains("unknown expert"));
}

void TestServing::routesAsTheRouter()
{
    moin::Workspace workspace = moin::Workspace::open(m_dir.toStdString());
    const moin::Router router = moin::Router::open(workspace);
    for (int topic = 0; topic < 3; ++topic) {
        // Short enough for the tiny base's 64-token context.
        const std::string text =
            topicText(topic, 100).split(' ').mid(0, 6).join(' ').toStdString();
        const moin::RouteDecision expected = router.route({text}).at(0);
        const moin::CompletionResult result = m_engine->complete(request(text, "auto", 3));
        QCOMPARE(result.route.expert, expected.expert);
        QCOMPARE(result.answeredBy, std::to_string(expected.expert));
        QVERIFY(std::abs(result.route.distance - expected.distance) < 1e-5);
        QCOMPARE(result.route.candidates.size(), size_t(3));
        QVERIFY(!result.keywords.empty());
        // A forced expert and the base keep the routing decision for comparison.
        const moin::CompletionResult base = m_engine->complete(request(text, "base", 3));
        QCOMPARE(base.answeredBy, std::string("base"));
        QCOMPARE(base.route.expert, expected.expert);
    }
}

void TestServing::batchedEqualsAloneAndSingleAdapterPath()
{
    const std::vector<std::pair<std::string, std::string>> work = {
        {"the compiler parser", "0"}, {"the shepherd prays", "1"},   {"a ballroom bonnet", "2"},
        {"kernel pointer", "base"},   {"the temple altar", "2"},     {"marriage estate", "0"},
    };
    // Alone: one request at a time.
    std::vector<moin::CompletionResult> alone;
    for (const auto& [prompt, expert] : work)
        alone.push_back(m_engine->complete(request(prompt, expert, 12)));
    // Together: all submitted at once decode in one batch.
    std::vector<std::future<moin::CompletionResult>> futures;
    for (const auto& [prompt, expert] : work)
        futures.push_back(m_engine->submit(request(prompt, expert, 12)));
    int maxPeers = 0;
    for (size_t i = 0; i < work.size(); ++i) {
        const moin::CompletionResult together = futures[i].get();
        QCOMPARE(together.generation.tokens, alone[i].generation.tokens);
        QCOMPARE(together.answeredBy, alone[i].answeredBy);
        maxPeers = std::max(maxPeers, together.batchPeers);
    }
    QVERIFY2(maxPeers > 1, "the requests did not share a batch");

    // Independent path: the single-adapter LanguageModel::generate (its own KV cache and
    // attention), with each expert's adapter attached.
    moin::Workspace workspace = moin::Workspace::open(m_dir.toStdString());
    moin::LanguageModel model = moin::LanguageModel::load(m_base.toStdString());
    std::map<int, std::string> adapterOf;
    for (const moin::ExpertInfo& e : moin::TrainingQueue(workspace).experts(m_run))
        adapterOf[e.cluster] = e.adapterPath;
    std::set<std::vector<int32_t>> distinct;
    for (size_t i = 0; i < work.size(); ++i) {
        if (work[i].second == "base")
            model.detachAdapter();
        else
            model.loadAdapter(adapterOf[std::stoi(work[i].second)]);
        const moin::GenerationResult reference = model.generate(work[i].first, greedy(12));
        QCOMPARE(alone[i].generation.tokens, reference.tokens);
        QCOMPARE(alone[i].generation.text, reference.text);
    }
    // The experts really differ: the same prompt through each expert and the base.
    for (const std::string expert : {"0", "1", "2", "base"})
        distinct.insert(m_engine->complete(request("the", expert, 12)).generation.tokens);
    QVERIFY2(distinct.size() >= 3, "experts answered alike; the test would not see a mix-up");
}

void TestServing::requestJoinsARunningBatch()
{
    const moin::CompletionResult late = m_engine->complete(request("the psalm", "1", 10));
    // A long request starts; after its third token it holds the engine (on the engine's thread,
    // in its callback) until the short request is queued, so the short one joins mid-decode.
    std::atomic<bool> joinedQueued{false};
    std::atomic<int> longTokens{0};
    moin::CompletionRequest first = request("assembly linker", "0", 50);
    first.onToken = [&](const std::string&, int32_t) {
        if (++longTokens == 3) {
            for (int i = 0; i < 500 && !joinedQueued; ++i)
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return true;
    };
    std::future<moin::CompletionResult> running = m_engine->submit(std::move(first));
    QTRY_VERIFY(longTokens.load() >= 3);
    std::future<moin::CompletionResult> joinedFuture =
        m_engine->submit(request("the psalm", "1", 10));
    joinedQueued = true;
    const moin::CompletionResult joined = joinedFuture.get();
    QCOMPARE(joined.batchPeers, 2); // it decoded next to the long request
    QCOMPARE(joined.generation.tokens, late.generation.tokens);
    const moin::CompletionResult longResult = running.get();
    QCOMPARE(longResult.generation.tokens,
             m_engine->complete(request("assembly linker", "0", 50)).generation.tokens);
}

void TestServing::cacheEvictsByBytesAndKeepsPinned()
{
    // An engine whose cache holds one and a half adapters.
    moin::ServingOptions options;
    options.device = "cpu";
    std::unique_ptr<moin::ServingEngine> probe = moin::ServingEngine::open(m_dir.toStdString(), options);
    probe->preload({0});
    const int64_t oneAdapter = probe->cacheStats().usedBytes;
    QVERIFY(oneAdapter > 0);
    options.adapterCacheBytes = oneAdapter * 3 / 2;
    std::unique_ptr<moin::ServingEngine> engine =
        moin::ServingEngine::open(m_dir.toStdString(), options);
    engine->complete(request("x", "0", 1));
    engine->complete(request("x", "1", 1));
    moin::AdapterCacheStats stats = engine->cacheStats();
    QCOMPARE(stats.loaded, 1);
    QCOMPARE(stats.residents, std::vector<int>{1});
    QCOMPARE(stats.evictions, int64_t(1));
    QVERIFY(stats.usedBytes <= options.adapterCacheBytes);
    engine->complete(request("x", "1", 1));
    QCOMPARE(engine->cacheStats().hits, int64_t(1));
    // Pinned: 2 stays while 0 and 1 come and go, even over the budget.
    engine->pin(2);
    engine->complete(request("x", "0", 1));
    stats = engine->cacheStats();
    QVERIFY(std::find(stats.residents.begin(), stats.residents.end(), 2) != stats.residents.end());
    QCOMPARE(stats.pinned, 1);
    engine->unpin(2);
    stats = engine->cacheStats();
    QVERIFY(stats.usedBytes <= options.adapterCacheBytes);
    QVERIFY(stats.meanColdLoadSeconds > 0);
    // The base weights are never modified by all this: base answers stay the same.
    QCOMPARE(engine->complete(request("the", "base", 8)).generation.tokens,
             m_engine->complete(request("the", "base", 8)).generation.tokens);
}

void TestServing::cancelAndErrors()
{
    moin::CompletionRequest r = request("the compiler", "0", 60);
    r.cancel = std::make_shared<moin::CancelToken>();
    auto token = r.cancel;
    r.onToken = [token, count = 0](const std::string&, int32_t) mutable {
        if (++count == 4)
            token->cancel();
        return true;
    };
    const moin::CompletionResult stopped = m_engine->complete(std::move(r));
    QCOMPARE(stopped.generation.stopReason, std::string("cancelled"));
    QCOMPARE(stopped.generation.tokens.size(), size_t(4));

    QVERIFY(testsupport::errorOf([&] { m_engine->submit(request("x", "9", 1)); })
                .contains("no trained adapter"));
    moin::CompletionRequest bad = request("x", "auto", 1);
    bad.options.topP = 0;
    QVERIFY(testsupport::errorOf([&] { m_engine->submit(bad); }).contains("top-p"));
    // A prompt longer than the context fails alone; the engine goes on.
    std::string longPrompt;
    for (int i = 0; i < 200; ++i)
        longPrompt += "compiler parser ";
    QVERIFY(testsupport::errorOf([&] { m_engine->complete(request(longPrompt, "0", 1)); })
                .contains("context holds"));
    QCOMPARE(m_engine->complete(request("ok", "0", 2)).generation.tokens.size(), size_t(2));
    // A full queue refuses with a message.
    moin::ServingOptions tiny;
    tiny.device = "cpu";
    tiny.maxBatch = 1;
    tiny.maxQueue = 1;
    auto engine = moin::ServingEngine::open(m_dir.toStdString(), tiny);
    std::vector<std::future<moin::CompletionResult>> futures;
    QString refusal;
    for (int i = 0; i < 6 && refusal.isEmpty(); ++i) {
        refusal = testsupport::errorOf(
            [&] { futures.push_back(engine->submit(request("busy", "0", 40))); });
    }
    QVERIFY2(refusal.contains("busy"), qPrintable(refusal));
    for (auto& f : futures)
        f.get();
}

void TestServing::conversationsRecordAndExport()
{
    moin::Workspace workspace = moin::Workspace::open(m_dir.toStdString());
    moin::ConversationStore store(workspace);
    moin::Conversation c;
    c.title = "Compilers";
    c.systemPrompt = "You are terse.";
    c.options.temperature = 0.3;
    const int64_t id = store.create(c);
    moin::ChatMessage user;
    user.conversationId = id;
    user.role = "user";
    user.content = "What does a linker do?";
    store.addMessage(user);
    const moin::CompletionResult answer = m_engine->complete(request(user.content, "auto", 6));
    moin::ChatMessage assistant;
    assistant.conversationId = id;
    assistant.role = "assistant";
    assistant.content = answer.generation.text;
    assistant.answeredBy = answer.answeredBy;
    assistant.expertChoice = "auto";
    assistant.distance = answer.route.distance;
    assistant.candidatesJson = R"([{"expert": 0, "distance": 0.5}, {"expert": 2, "distance": 0.7}])";
    assistant.completionTokens = int(answer.generation.tokens.size());
    assistant.stopReason = answer.generation.stopReason;
    store.addMessage(assistant);
    const auto messages = store.messages(id);
    QCOMPARE(messages.size(), size_t(2));
    QCOMPARE(messages[1].answeredBy, answer.answeredBy);
    QCOMPARE(store.get(id).messageCount, int64_t(2));
    QCOMPARE(store.get(id).options.temperature, 0.3);
    QCOMPARE(store.list().front().id, id);
    const QString markdown = QString::fromStdString(store.exportMarkdown(id));
    QVERIFY(markdown.contains("# Compilers"));
    QVERIFY(markdown.contains("What does a linker do?"));
    QVERIFY(markdown.contains("runner-ups 2 (0.7)"));
    const QJsonObject exported =
        QJsonDocument::fromJson(QByteArray::fromStdString(store.exportJson(id))).object();
    QCOMPARE(exported["messages"].toArray().size(), 2);
    QCOMPARE(exported["messages"].toArray()[1].toObject()["answered_by"].toString(),
             QString::fromStdString(answer.answeredBy));
    QVERIFY(testsupport::errorOf([&] {
                moin::ChatMessage m;
                m.conversationId = id;
                m.role = "robot";
                store.addMessage(m);
            }).contains("role"));
    QVERIFY(testsupport::errorOf([&] {
                moin::ChatMessage m;
                m.conversationId = 99999;
                m.role = "user";
                store.addMessage(m);
            }).contains("no conversation"));
    store.remove(id);
    QVERIFY(store.messages(id).empty());
}

void TestServing::chatPromptKeepsTheLastTurn()
{
    const moin::Tokenizer& tokenizer = m_engine->tokenizer();
    std::vector<std::pair<std::string, std::string>> turns;
    for (int i = 0; i < 10; ++i) {
        turns.push_back({"user", "question number " + std::to_string(i) + " about compilers"});
        turns.push_back({"assistant", "answer " + std::to_string(i)});
    }
    turns.push_back({"user", "the last question"});
    const std::string full = moin::buildChatPrompt("Be brief.", turns, tokenizer, 100000);
    QVERIFY(QString::fromStdString(full).startsWith("Be brief.\n\nUser: question number 0"));
    QVERIFY(QString::fromStdString(full).endsWith("User: the last question\nAssistant:"));
    const std::string cut = moin::buildChatPrompt("Be brief.", turns, tokenizer, 60);
    QVERIFY(int(tokenizer.encode(cut).size()) <= 60);
    QVERIFY(!QString::fromStdString(cut).contains("question number 0 "));
    QVERIFY(QString::fromStdString(cut).endsWith("User: the last question\nAssistant:"));
}

QTEST_GUILESS_MAIN(TestServing)
#include "tst_serving.moc"
