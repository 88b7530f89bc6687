#pragma once
// Small fixtures shared by several suites.
#include "moin/clustering.h"
#include "moin/conversations.h"
#include "moin/coordinator.h"
#include "moin/corpus.h"
#include "moin/error.h"
#include "moin/model.h"
#include "moin/tokenizer.h"
#include "moin/training.h"
#include "moin/workspace.h"

#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QString>
#include <QStringList>

#include <cmath>
#include <functional>
#include <random>

namespace testsupport {

/// Writes a tiny but complete base model folder (config.json, model.safetensors,
/// tokenizer.model) into `dir`: a 320-piece tokenizer and a 2-layer random Llama.
inline void makeTinyBaseModel(const QString& dir)
{
    QDir().mkpath(dir);
    const QString textPath = dir + "/tokenizer-text.txt";
    {
        QFile text(textPath);
        text.open(QIODevice::WriteOnly);
        for (int i = 0; i < 30; ++i) {
            text.write("In the beginning was the word, and experts route every query.\n"
                       "A compiler translates source code into machine instructions.\n"
                       "Elizabeth walked to Longbourn through the wet fields of Hertfordshire.\n");
        }
    }
    moin::TokenizerTrainOptions options;
    options.inputFiles = {textPath.toStdString()};
    options.modelPrefix = (dir + "/tokenizer").toStdString();
    options.vocabSize = 320;
    const moin::Tokenizer tokenizer = moin::Tokenizer::load(moin::Tokenizer::train(options));
    QFile::remove(textPath);
    QFile::remove(dir + "/tokenizer.vocab");

    moin::LlamaConfig config;
    config.vocabSize = tokenizer.vocabSize();
    config.hiddenSize = 32;
    config.intermediateSize = 64;
    config.numLayers = 2;
    config.numHeads = 4;
    config.numKvHeads = 2;
    config.maxPositions = 64;
    config.tieWordEmbeddings = true;
    moin::LanguageModel model = moin::LanguageModel::random(config, 1);
    model.setTokenizer(tokenizer);
    model.save(dir.toStdString());
}

/// Three vocabularies far apart (compilers, scripture, Austen), for corpora whose clusters are
/// known: topicText(t, i) is `words` words of topic t, different for each i.
inline const char* const kTopics[3][8] = {
    {"compiler", "parser", "register", "assembly", "linker", "bytecode", "kernel", "pointer"},
    {"shepherd", "temple", "prophet", "psalm", "covenant", "pharaoh", "altar", "tribe"},
    {"ballroom", "carriage", "bonnet", "marriage", "estate", "cousin", "parsonage", "suitor"},
};

inline QString topicText(int topic, int i, int words = 40)
{
    std::mt19937 rng(uint32_t(topic * 1000 + i));
    QStringList list;
    for (int w = 0; w < words; ++w)
        list << kTopics[topic][rng() % 8];
    return list.join(' ');
}

/// Writes a JSONL corpus of `perTopic` documents of each of the three topics to `path`.
inline void writeTopicCorpus(const QString& path, int perTopic = 40)
{
    QFile corpus(path);
    if (!corpus.open(QIODevice::WriteOnly))
        throw moin::Error("cannot write the test corpus " + path.toStdString());
    for (int i = 0; i < perTopic; ++i) {
        for (int topic = 0; topic < 3; ++topic)
            corpus.write(QJsonDocument(QJsonObject{{"text", topicText(topic, i)}})
                             .toJson(QJsonDocument::Compact)
                         + "\n");
    }
}

/// A workspace on the tiny base with the three-topic corpus imported and clustered (k = 3,
/// PCA layout): what the training, serving and chat suites train their experts on.
struct TopicWorkspace {
    QString baseModel;
    QString directory;
    int64_t runId = 0;
};

/// The tiny base's context is 64 positions; its Llama uses RoPE (no position weights), so the
/// same weights serve a longer context when config.json says so.
inline void setBaseContext(const QString& baseDir, int positions)
{
    QFile file(baseDir + "/config.json");
    if (!file.open(QIODevice::ReadOnly))
        throw moin::Error("cannot read " + file.fileName().toStdString());
    QJsonObject config = QJsonDocument::fromJson(file.readAll()).object();
    file.close();
    if (!config.contains("max_position_embeddings"))
        throw moin::Error("the tiny base's config.json has no max_position_embeddings");
    config["max_position_embeddings"] = positions;
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate))
        throw moin::Error("cannot write " + file.fileName().toStdString());
    file.write(QJsonDocument(config).toJson());
}

/// `contextPositions` > 0 widens the base's context first (see setBaseContext).
inline TopicWorkspace makeTopicWorkspace(const QString& parent, int contextPositions = 0)
{
    TopicWorkspace result;
    result.baseModel = parent + "/base";
    makeTinyBaseModel(result.baseModel);
    if (contextPositions > 0)
        setBaseContext(result.baseModel, contextPositions);
    moin::WorkspaceOptions options;
    options.baseModel = result.baseModel.toStdString();
    result.directory = parent + "/ws";
    moin::Workspace workspace = moin::Workspace::create(result.directory.toStdString(), options);
    const QString corpus = parent + "/topics.jsonl";
    writeTopicCorpus(corpus);
    moin::ImportOptions import;
    import.chunkTokens = 512;
    moin::importCorpus(workspace, {corpus.toStdString()}, import);
    moin::ClusterRunOptions cluster;
    cluster.kmeans.k = 3;
    cluster.layout.method = "pca";
    result.runId = moin::runClustering(workspace, cluster);
    return result;
}

/// A small expert spec that trains in seconds on the tiny base (8 steps of 2 x 32 tokens).
inline moin::TrainingSpec tinyTrainingSpec(int64_t runId, int cluster)
{
    moin::TrainingSpec spec = moin::TrainingSpec::preset("quick");
    spec.runId = runId;
    spec.cluster = cluster;
    spec.lora.rank = 4;
    spec.lora.alpha = 8;
    spec.lora.targetModules = {"q_proj", "v_proj", "down_proj"};
    spec.learningRate = 1e-2;
    spec.minLearningRate = 1e-3;
    spec.warmupSteps = 2;
    spec.batchSize = 2;
    spec.sequenceLength = 32;
    spec.steps = 8;
    spec.evalEvery = 4;
    spec.checkpointEvery = 4;
    spec.device = "cpu";
    return spec;
}

/// Trains one expert per cluster in `clusters` of `runId` (from `makeSpec`) through real `moin
/// train-worker` processes, two at once; throws moin::Error naming the job that did not finish.
inline void trainTinyExperts(
    const QString& workspaceDirectory, int64_t runId, const std::vector<int>& clusters,
    const std::function<moin::TrainingSpec(int64_t, int)>& makeSpec = tinyTrainingSpec)
{
    moin::Workspace workspace = moin::Workspace::open(workspaceDirectory.toStdString());
    moin::TrainingQueue queue(workspace);
    std::vector<moin::TrainingSpec> specs;
    for (int cluster : clusters)
        specs.push_back(makeSpec(runId, cluster));
    const std::vector<int64_t> jobs = queue.enqueue(specs);
    moin::CoordinatorOptions coordinator;
    coordinator.workerExecutable = MOIN_CLI_PATH;
    coordinator.workers = 2;
    coordinator.threadsPerWorker = 1;
    coordinator.pollSeconds = 0.05;
    coordinator.onlyJobs = jobs;
    moin::runTrainingQueue(workspace, coordinator);
    for (int64_t id : jobs) {
        const moin::TrainingJob job = queue.job(id);
        if (job.state != moin::JobState::Done)
            throw moin::Error("test expert job " + std::to_string(id) + " ended "
                              + moin::toString(job.state) + ": " + job.error);
    }
}

/// Records, through the real conversation store, a question the router sent to `routedTo` at
/// `distance` (routing "auto"; its runner-up the next cluster), answered by `answeredBy`
/// ("base", or empty for the routed expert), in a conversation of its own from `source`
/// ("app", "cli", "api"). `runId` 0 records the active run. Returns the answer's message id.
inline int64_t recordRoutedAnswer(moin::Workspace& workspace, int routedTo, double distance,
                                  const std::string& source = "app",
                                  const std::string& answeredBy = {}, int64_t runId = 0)
{
    moin::ConversationStore store(workspace);
    moin::Conversation conversation;
    conversation.title = "routed";
    conversation.source = source;
    moin::ChatMessage message;
    message.conversationId = store.create(conversation);
    message.role = "user";
    message.content = "what does a linker do?";
    store.addMessage(message);
    message.role = "assistant";
    message.content = "it links";
    message.answeredBy = answeredBy.empty() ? std::to_string(routedTo) : answeredBy;
    message.expertChoice = "auto";
    message.distance = message.answeredBy == "base" ? std::nan("") : distance;
    message.candidatesJson = QStringLiteral("[{\"expert\": %1, \"distance\": %2}, "
                                            "{\"expert\": %3, \"distance\": %4}]")
                                 .arg(routedTo)
                                 .arg(distance, 0, 'g', 17)
                                 .arg(routedTo + 1)
                                 .arg(distance + 0.5, 0, 'g', 17)
                                 .toStdString();
    message.runId = runId;
    return store.addMessage(message);
}

/// The message of the moin::Error that `action` throws, or an empty string if it throws none.
inline QString errorOf(const std::function<void()>& action)
{
    try {
        action();
    } catch (const moin::Error& e) {
        return QString::fromUtf8(e.what());
    }
    return {};
}

} // namespace testsupport
